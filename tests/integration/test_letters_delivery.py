"""Sending an outgoing letter while the SMTP server is down: the failure is recorded,
the letter is retried, and once the server is back it arrives exactly once.

The suite's SMTP stand-in is stopped for the test and started again on the same
port and spool (a second suite with a missing SMTP server would double the
database connections of the run).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from counterparty_svc.testing import legal_entity
from mail_svc.testing import outgoing, upload
from services import infra, smtp
from services.auth import Identity
from services.devstack import ROOT, Stack
from services.smtp import read_spool
from services.testing.plugin import Rpc, eventually

pytestmark = pytest.mark.integration
STAND_IN = "standin-smtp"


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start_stand_in(suite: Stack) -> None:
    """The suite's SMTP stand-in, as services.smtp.stand_in describes it, on its old port."""
    described = smtp.stand_in({})
    assert described is not None
    port = suite.extra_env["DOCFLOW_SMTP_PORT"]
    command = [part.replace("{port}", port) for part in described.command]
    suite.processes[STAND_IN] = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert infra.wait_port("127.0.0.1", int(port), 30)


@pytest.fixture
def smtp_down(suite: Stack) -> Iterator[None]:
    process = suite.processes[STAND_IN]
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(10)
    assert eventually(lambda: port_closed(int(suite.extra_env["DOCFLOW_SMTP_PORT"])))
    try:
        yield
    finally:
        if suite.processes[STAND_IN].poll() is not None:
            start_stand_in(suite)


def decide(rpc: Rpc, person: Identity, letter_id: str, action: str, **data: Any) -> None:
    task = next(t for t in rpc(person, "mail", "my_tasks") if t["card_id"] == letter_id)
    rpc(
        person,
        "mail",
        "decide_task",
        task_id=task["id"].removeprefix("mail:"),
        data={"action": action, **data},
    )


def test_a_letter_is_retried_until_the_smtp_server_takes_it_and_is_sent_once(
    suite: Stack,
    smtp_down: None,
    rpc: Rpc,
    people: dict[str, Identity],
    gateway: httpx.Client,
    token_for: Callable[[str], dict[str, str]],
) -> None:
    address = f"sec-{uuid.uuid4().hex[:6]}@cp.example"
    cp = rpc(
        people["lawyer"],
        "counterparty",
        "create_counterparty",
        data=legal_entity(contacts=[{"email": address}]),
    )
    file = upload(gateway, token_for("manager"), "letter.pdf")
    entity = rpc(people["manager"], "org", "list_legal_entities")[0]["id"]
    card = rpc(
        people["manager"], "mail", "create_outgoing", data=outgoing(entity, cp["id"], file["id"])
    )
    decide(rpc, people["director"], card["id"], "approve")
    decide(rpc, people["lawyer"], card["id"], "complete")
    decide(rpc, people["director"], card["id"], "approve")
    decide(rpc, people["manager"], card["id"], "complete", outputs={"delivery": "email"})

    def dispatch() -> dict[str, Any]:
        found: dict[str, Any] = rpc(people["manager"], "mail", "get_letter", letter_id=card["id"])[
            "dispatch"
        ]
        return found

    failed = eventually(lambda: (d := dispatch())["last_error"] and d, seconds=20)
    assert failed["state"] in ("pending", "sending") and failed["attempts"] >= 1
    assert failed["sent_at"] is None
    spool = suite.extra_env["DOCFLOW_SMTP_STUB_SPOOL"]
    assert not [m for m in read_spool(spool) if m["To"] == address]

    start_stand_in(suite)
    # Simulated time past the back-off: the retry is due.
    later = datetime.now(UTC) + timedelta(hours=2)
    rpc(people["admin"], "mail", "run_timers", now=later.isoformat())
    sent = eventually(lambda: (d := dispatch())["state"] == "sent" and d, seconds=30)
    assert sent["last_error"] is None and sent["message_id"]
    messages = [m for m in read_spool(spool) if m["To"] == address]
    assert len(messages) == 1 and messages[0]["Message-ID"] == sent["message_id"]
    # Later sweeps never send it again.
    rpc(people["admin"], "mail", "run_timers", now=(later + timedelta(days=1)).isoformat())
    assert len([m for m in read_spool(spool) if m["To"] == address]) == 1
