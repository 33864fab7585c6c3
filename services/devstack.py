"""The whole suite as local processes: the dev runner and the test fixtures both use it.

``python -m services.devstack`` (``make run``) makes sure RabbitMQ and
PostgreSQL answer (starting local ones that are down), creates and migrates
each service's database, seeds the demo company, starts every service and
the gateway, waits until ``/readyz`` says ready, and prints where the API
docs are. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from services import infra, standins
from services.config import METRICS_PORTS, SERVICES, database_name
from services.db import drop_database
from services.migrations import upgrade

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432"
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"

#: Services whose database gets demo data (``<svc>.seed.seed_demo``).
SEEDED = ("org_svc",)


def die_with_parent() -> None:
    """In the child before exec: on Linux, get SIGTERM when the process that started us
    dies, so a killed test run or dev runner leaves no services behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Stack:
    amqp_uri: str = DEFAULT_AMQP_URI
    pg_url: str = DEFAULT_PG_URL
    db_prefix: str = "docflow"
    gateway_port: int = 8000
    #: None: the default metrics ports; True: free ports (tests beside a dev run).
    free_metrics_ports: bool = False
    log_dir: Path = ROOT / "var" / "log"
    environment: str = "dev"
    extra_env: dict[str, str] = field(default_factory=dict)
    services: tuple[str, ...] = SERVICES
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def database_url(self, service: str) -> str:
        return f"{self.pg_url}/{database_name(self.db_prefix, service)}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DOCFLOW_ENVIRONMENT": self.environment,
                "DOCFLOW_AMQP_URI": self.amqp_uri,
                "DOCFLOW_PG_URL": self.pg_url,
                "DOCFLOW_DB_PREFIX": self.db_prefix,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("DOCFLOW_DATABASE_URL", None)
        env.update(self.extra_env)
        return env

    def start_stand_ins(self) -> None:
        """Stubs of the external systems that are not configured (services/standins.py)."""
        for stand_in in standins.wanted(self.env()):
            port = free_port()
            command = [part.replace("{port}", str(port)) for part in stand_in.command]
            self._start(f"standin-{stand_in.name}", command, self.env())
            if not infra.wait_port("127.0.0.1", port, 30):
                raise RuntimeError(f"stand-in {stand_in.name} did not open port {port}")
            for key, value in stand_in.env.items():
                self.extra_env[key] = value.replace("{port}", str(port))

    def ensure_servers(self) -> None:
        infra.ensure_postgres(self.pg_url)
        infra.ensure_rabbitmq(self.amqp_uri)

    def migrate(self) -> None:
        for service in self.services:
            upgrade(service, self.database_url(service))

    def seed(self) -> None:
        for service in SEEDED:
            if service in self.services:
                self._spawn_and_wait([sys.executable, "-m", "services.runner", "seed", service])

    def _spawn_and_wait(self, command: list[str]) -> None:
        result = subprocess.run(command, env=self.env(), cwd=ROOT, capture_output=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr.decode()[-3000:]}")

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        self.processes[name] = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def start(self) -> None:
        for service in self.services:
            env = self.env()
            port = free_port() if self.free_metrics_ports else METRICS_PORTS[service]
            env["DOCFLOW_METRICS_PORT"] = str(port)
            self.metrics_ports[service] = port
            self._start(service, [sys.executable, "-m", "services.runner", "run", service], env)
        self._start(
            "gateway",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "gateway.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.gateway_port),
                "--no-access-log",
            ],
            self.env(),
        )

    def readiness(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(self.gateway_url + "/readyz", timeout=5) as answer:
                body: dict[str, object] = json.loads(answer.read())
                return body
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
            return body
        except OSError:
            return None

    def wait_ready(self, seconds: float = 90.0) -> dict[str, object]:
        deadline = time.monotonic() + seconds
        last: dict[str, object] | None = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; "
                        f"see {self.log_dir / (name + '.log')}"
                    )
            last = self.readiness()
            if last and last.get("status") == "ready":
                return last
            time.sleep(0.5)
        raise RuntimeError(f"the suite was not ready after {seconds:.0f}s: {last}")

    def stop(self, grace: float = 10.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # nameko with open connections may linger past SIGTERM.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def up(self) -> dict[str, object]:
        self.ensure_servers()
        self.migrate()
        self.seed()
        try:
            self.start_stand_ins()
            self.start()
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.devstack", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("DOCFLOW_PORT", 8000)))
    args = parser.parse_args(argv)
    stack = Stack(
        amqp_uri=os.environ.get("DOCFLOW_AMQP_URI", DEFAULT_AMQP_URI),
        pg_url=os.environ.get("DOCFLOW_PG_URL", DEFAULT_PG_URL),
        db_prefix=os.environ.get("DOCFLOW_DB_PREFIX", "docflow"),
        gateway_port=args.port,
    )
    print("Docflow: checking RabbitMQ and PostgreSQL, migrating, seeding…", flush=True)
    stack.up()
    print(
        f"Docflow is up.\n"
        f"  API docs:  {stack.gateway_url}/docs\n"
        f"  Ready:     {stack.gateway_url}/readyz\n"
        f"  Sign in:   POST {stack.gateway_url}/api/v1/auth/token "
        '{"username": "lawyer", "password": "docflow-demo"}\n'
        f"  Logs:      {stack.log_dir}\n"
        "Ctrl-C stops everything.",
        flush=True,
    )
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping", flush=True)
                    stopping = True
            time.sleep(1)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()


@contextmanager
def isolated_stack(label: str, **options: Any) -> Iterator[Stack]:
    """The whole suite on a vhost and databases of its own, removed afterwards (benchmarks)."""
    infra.ensure_postgres(DEFAULT_PG_URL)
    infra.ensure_rabbitmq(DEFAULT_AMQP_URI)
    run = uuid.uuid4().hex[:8]
    vhost = f"docflow-{label}-{run}"
    stack = Stack(
        amqp_uri=infra.create_vhost(DEFAULT_AMQP_URI, vhost),
        db_prefix=f"df{label[:1]}_{run}",
        gateway_port=free_port(),
        free_metrics_ports=True,
        **options,
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.stop()
        for service in stack.services:
            drop_database(stack.database_url(service))
        infra.delete_vhost(DEFAULT_AMQP_URI, vhost)
