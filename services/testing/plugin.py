"""pytest fixtures shared by every Docflow suite.

Policy: we mock only what lies outside our system. RabbitMQ and PostgreSQL
are real: where a Docker engine answers, pytest-docker brings them up from
``docker-compose.yml``; otherwise the local servers are used and started
when they are down. A server that cannot be had fails the run loudly; no
test skips for it. Each run gets its own RabbitMQ vhost and its own
databases (``dft_<run>_<service>``), dropped at the end, so leftover
processes of other runs never join our queues.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services import infra
from services.auth import Identity
from services.config import SERVICES
from services.db import drop_database, ensure_database, make_engine
from services.devstack import DEFAULT_AMQP_URI, DEFAULT_PG_URL, Stack, free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Servers:
    amqp_uri: str
    pg_url: str


def docker_engine_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    """With a Docker engine, compose starts only the infrastructure; our own services run
    as processes of the test run (the same code the images hold)."""
    return ["up -d rabbitmq postgres minio"]


@pytest.fixture(scope="session")
def servers(request: pytest.FixtureRequest) -> Servers:
    """RabbitMQ and PostgreSQL that answer, however this machine provides them."""
    amqp_uri = os.environ.get("DOCFLOW_TEST_AMQP_URI", DEFAULT_AMQP_URI)
    pg_url = os.environ.get("DOCFLOW_TEST_PG_URL", DEFAULT_PG_URL)
    explicit = "DOCFLOW_TEST_AMQP_URI" in os.environ or "DOCFLOW_TEST_PG_URL" in os.environ
    if not explicit and docker_engine_available():
        # Asked for lazily: pytest-docker errors when no engine runs.
        docker_services = request.getfixturevalue("docker_services")
        docker_services.wait_until_responsive(
            timeout=120,
            pause=1,
            check=lambda: infra.port_open("127.0.0.1", 5672) and infra.port_open("127.0.0.1", 5432),
        )
    else:
        infra.ensure_postgres(pg_url)
        infra.ensure_rabbitmq(amqp_uri)
    return Servers(amqp_uri=amqp_uri, pg_url=pg_url)


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def amqp_uri(servers: Servers, run_id: str) -> Iterator[str]:
    vhost = f"docflow-test-{run_id}"
    uri = infra.create_vhost(servers.amqp_uri, vhost)
    yield uri
    infra.delete_vhost(servers.amqp_uri, vhost)


@pytest.fixture(scope="session")
def db_prefix(servers: Servers, run_id: str) -> Iterator[str]:
    prefix = f"dft_{run_id}"
    yield prefix
    for service in SERVICES:
        drop_database(f"{servers.pg_url}/{prefix}_{service.removesuffix('_svc')}")


@pytest.fixture(scope="session")
def scratch_engine(servers: Servers, db_prefix: str) -> Iterator[Any]:
    """A database of this run for the shared library's own tables (timers, outbox)."""
    url = f"{servers.pg_url}/{db_prefix}_scratch"
    ensure_database(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture(scope="session")
def suite(
    servers: Servers, amqp_uri: str, db_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Every service and the gateway, as processes on this run's vhost and databases."""
    stack = Stack(
        amqp_uri=amqp_uri,
        pg_url=servers.pg_url,
        db_prefix=db_prefix,
        gateway_port=free_port(),
        free_metrics_ports=True,
        log_dir=tmp_path_factory.mktemp("suite-logs"),
        environment="test",
        extra_env={
            "DOCFLOW_ALLOW_SIMULATED_TIME": "true",
            "DOCFLOW_OUTBOX_POLL_SECONDS": "0.2",
            "DOCFLOW_JWT_SECRET": secrets.token_hex(32),
        },
    )
    stack.up()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def service_db(suite: Stack) -> Iterator[Callable[[str], Any]]:
    """An engine on a service's own database (for checks that nothing was half-written)."""
    engines: dict[str, Any] = {}

    def engine_for(service: str) -> Any:
        if service not in engines:
            engines[service] = make_engine(suite.database_url(service))
        return engines[service]

    yield engine_for
    for engine in engines.values():
        engine.dispose()


def count_rows(engine: Any, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


class Rpc:
    """nameko RPC from the test process, as a given person (or with no identity at all)."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self._proxies: dict[str, Any] = {}

    def __call__(self, identity: Identity | None, service: str, method: str, **kwargs: Any) -> Any:
        key = identity.user_id if identity else ""
        if key not in self._proxies:
            from nameko.standalone.rpc import ClusterRpcProxy

            context = identity.to_context() if identity else {}
            proxy = ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, context_data=context, timeout=30)
            self._proxies[key] = (proxy, proxy.start())
        _, started = self._proxies[key]
        return getattr(getattr(started, service), method)(**kwargs)

    def close(self) -> None:
        for proxy, _ in self._proxies.values():
            proxy.stop()
        self._proxies.clear()


@pytest.fixture(scope="session")
def rpc(suite: Stack) -> Iterator[Rpc]:
    client = Rpc(suite.amqp_uri)
    yield client
    client.close()


@pytest.fixture(scope="session")
def people(rpc: Rpc) -> dict[str, Identity]:
    """Every seeded demo person by username, as the identity the gateway would send."""
    from org_svc.seed import DEMO_PASSWORD, PEOPLE

    found: dict[str, Identity] = {}
    for username, *_ in PEOPLE:
        data = rpc(None, "org", "authenticate", username=username, password=DEMO_PASSWORD)
        found[username] = Identity(
            user_id=data["user_id"],
            username=data["username"],
            roles=frozenset(data["roles"]),
            department_id=data["department_id"],
        )
    return found


@pytest.fixture(scope="session")
def gateway(suite: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=suite.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def token_for(gateway: httpx.Client) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a seeded person, signed in through the gateway."""
    from org_svc.seed import DEMO_PASSWORD

    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            answer = gateway.post(
                "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            cache[username] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return cache[username]

    return headers


def eventually(check: Callable[[], Any], seconds: float = 10.0, pause: float = 0.1) -> Any:
    """Retry ``check`` until it returns something truthy; for effects that follow a reply
    (nameko records metrics and access logs just after it has answered)."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(pause)
