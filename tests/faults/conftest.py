"""Fixtures of the fault tests: the whole suite on a RabbitMQ node of our own.

The broker-restart test stops and starts RabbitMQ; the machine's shared broker
serves other people's runs, so this package runs its suite on a private node
(``tests/faults/broker.py``) and its own databases (``dff_<run>_<service>``).
One suite serves every test here: starting it costs more than the tests.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.config import SERVICES
from services.db import drop_database, make_engine
from services.devstack import Stack, free_port
from services.testing.plugin import Servers
from tests.faults.broker import PrivateBroker


def pytest_configure(config: pytest.Config) -> None:
    # pyproject's marker list belongs to the whole project; this package adds its own.
    config.addinivalue_line(
        "markers", "faults: restarts the broker and kills services under load (private broker)"
    )


@pytest.fixture(scope="package")
def private_broker() -> Iterator[PrivateBroker]:
    with PrivateBroker() as broker:
        yield broker


@pytest.fixture(scope="package")
def fault_stack(
    servers: Servers, private_broker: PrivateBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Every service and the gateway on the private broker and databases of this run."""
    stack = Stack(
        amqp_uri=private_broker.amqp_uri,
        pg_url=servers.pg_url,
        db_prefix=f"dff_{uuid.uuid4().hex[:8]}",
        gateway_port=free_port(),
        free_metrics_ports=True,
        log_dir=tmp_path_factory.mktemp("fault-logs"),
        environment="test",
        extra_env={
            "DOCFLOW_ALLOW_SIMULATED_TIME": "true",
            "DOCFLOW_OUTBOX_POLL_SECONDS": "0.2",
            "DOCFLOW_JWT_SECRET": secrets.token_hex(32),
            # The tests are about decisions, not the statutory-document check.
            "DOCFLOW_CONTRACTS_DOCUMENTS_POLICY": "flag",
        },
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.stop()
        for service in SERVICES:
            drop_database(stack.database_url(service))


@pytest.fixture(scope="package")
def fault_db(fault_stack: Stack) -> Iterator[Callable[[str], Any]]:
    """An engine on a service database of the fault suite."""
    engines: dict[str, Any] = {}

    def engine_for(service: str) -> Any:
        if service not in engines:
            engines[service] = make_engine(fault_stack.database_url(service))
        return engines[service]

    yield engine_for
    for engine in engines.values():
        engine.dispose()
