"""What the fault tests share: driving contract approval over HTTP like impatient
people (retrying with an ``Idempotency-Key``), killing and restarting service
processes, and reading the event stream straight off the broker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import kombu

from counterparty_svc.testing import legal_entity
from org_svc.seed import DEMO_PASSWORD
from services.devstack import ROOT, Stack, free_port

#: The sequential approvals of the default contract route, in order; after the
#: director the contract waits for signing (a task, not an approval).
APPROVERS = ("sales.head", "pto", "lawyer", "lawyer2", "finman", "accountant", "director")
STEPS = 6
#: Answers after which the same request, with the same key, is simply sent again
#: (a 500 is a bug of ours, not a transient condition).
TRANSIENT = {502, 503, 504}


def wait_for(check: Callable[[], Any], seconds: float, what: str, pause: float = 0.2) -> Any:
    """``eventually`` that fails with a message instead of returning a falsy value."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f}s: {what}")
        time.sleep(pause)


def settled(request: Callable[[], httpx.Response], seconds: float = 30) -> httpx.Response:
    """The answer of a set-up request, sent again while it fails transiently.

    The database server may be shared with other test runs and briefly refuse
    connections ("too many clients"), which reaches us as a 502.
    """
    deadline = time.monotonic() + seconds
    while True:
        answer = request()
        if answer.status_code not in TRANSIENT or time.monotonic() > deadline:
            answer.raise_for_status()
            return answer
        time.sleep(0.5)


@dataclass
class Outcome:
    """What the clients saw: acknowledged decisions and everything else."""

    contracts: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    #: Decided by an attempt whose answer was lost (409 "did not finish" on the retry).
    applied_unacknowledged: list[str] = field(default_factory=list)
    retried: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Approvals:
    """An open-ended load: client threads each create a contract, submit it and take
    it through the six approvals, then start the next, until told to stop.

    Every write carries an ``Idempotency-Key`` and is sent again, unchanged, after
    a 5xx or a broken connection: what a well-behaved client of the API does.
    """

    def __init__(self, gateway_url: str, deadline_seconds: float = 50.0) -> None:
        self.gateway_url = gateway_url
        self.deadline = time.monotonic() + deadline_seconds
        self.tokens: dict[str, dict[str, str]] = {}
        self.username_of: dict[str, str] = {}
        self.outcome = Outcome()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        with httpx.Client(base_url=gateway_url, timeout=30) as client:
            for username in ("manager", *APPROVERS):
                answer = settled(
                    lambda u=username: client.post(
                        "/api/v1/auth/token", json={"username": u, "password": DEMO_PASSWORD}
                    )
                )
                headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
                self.tokens[username] = headers
                me = settled(lambda h=headers: client.get("/api/v1/me", headers=h))
                self.username_of[me.json()["id"]] = username
            answer = settled(
                lambda: client.post(
                    "/api/v1/counterparties", headers=self.tokens["lawyer"], json=legal_entity()
                )
            )
            self.counterparty_id = answer.json()["id"]

    def start(self, clients: int) -> None:
        for _ in range(clients):
            thread = threading.Thread(target=self._client, daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        """Let each client finish the request it is on, then end; wait for them."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(max(1.0, self.deadline - time.monotonic() + 15))

    def acknowledged(self) -> int:
        with self.outcome.lock:
            return len(self.outcome.acknowledged)

    def _fail(self, message: str) -> None:
        with self.outcome.lock:
            self.outcome.failures.append(message)

    def _note_retry(self, why: str) -> None:
        with self.outcome.lock:
            self.outcome.retried[why] += 1

    def _client(self) -> None:
        with httpx.Client(base_url=self.gateway_url, timeout=15) as client:
            while not self.stopping.is_set() and time.monotonic() < self.deadline:
                process = self.new_contract(client)
                if process is None:
                    return
                for _ in range(STEPS):
                    if self.stopping.is_set():
                        return
                    task = next(
                        (t for t in process["open_tasks"] if t["assignee_id"] in self.username_of),
                        None,
                    )
                    if task is None:
                        self._fail(f"no task of ours in {process}")
                        return
                    process = self._decide(client, task)
                    if process is None:
                        return

    def _send(
        self, client: httpx.Client, url: str, headers: dict[str, str], body: dict[str, Any]
    ) -> httpx.Response | None:
        """POST until the answer is not a transient failure (None at the deadline)."""
        while time.monotonic() < self.deadline:
            try:
                answer = client.post(url, headers=headers, json=body)
            except httpx.TransportError as exc:
                self._note_retry(type(exc).__name__)
            else:
                if answer.status_code not in TRANSIENT:
                    return answer
                self._note_retry(str(answer.status_code))
            time.sleep(0.2)
        self._fail(f"POST {url}: no answer before the deadline")
        return None

    def new_contract(self, client: httpx.Client) -> dict[str, Any] | None:
        """A contract created and submitted as the manager: its process, first task open."""
        manager = self.tokens["manager"]
        draft = self._send(
            client,
            "/api/v1/contracts",
            {**manager, "Idempotency-Key": f"fault-create-{uuid.uuid4()}"},
            {
                "contract_type": "supply",
                "subject": "Fault test supply",
                "counterparty_id": self.counterparty_id,
                "amount": "1000.00",
                "currency": "RUB",
            },
        )
        if draft is None or draft.status_code != 201:
            self._fail(f"create: {draft and draft.status_code} {draft and draft.text[:300]}")
            return None
        contract_id = draft.json()["id"]
        with self.outcome.lock:
            self.outcome.contracts.append(contract_id)
        card = self._send(
            client,
            f"/api/v1/contracts/{contract_id}/submit",
            {**manager, "Idempotency-Key": f"fault-submit-{contract_id}"},
            {},
        )
        if card is not None and card.status_code == 409:  # submitted, answer lost
            card = client.get(f"/api/v1/contracts/{contract_id}", headers=manager)
        if card is None or card.status_code != 200 or card.json()["status"] != "in_approval":
            self._fail(f"submit: {card and card.status_code} {card and card.text[:300]}")
            return None
        return card.json()["process"]  # type: ignore[no-any-return]

    def _decide(self, client: httpx.Client, task: dict[str, Any]) -> dict[str, Any] | None:
        """Decide one task until the gateway acknowledges it (or it proves applied).

        Every attempt carries the same key, so a retry after a lost answer gets
        the stored answer instead of a second decision.
        """
        token = self.tokens[self.username_of[task["assignee_id"]]]
        headers = {**token, "Idempotency-Key": f"fault-{task['id']}"}
        url = f"/api/v1/tasks/{task['id']}/decision"
        while (answer := self._send(client, url, headers, {"action": "approve"})) is not None:
            if answer.status_code == 200:
                with self.outcome.lock:
                    self.outcome.acknowledged.append(task["id"])
                return answer.json()["process"]  # type: ignore[no-any-return]
            if answer.status_code != 409:
                break
            # Nobody else acts on our tasks: an earlier attempt of ours committed and
            # its answer was lost, or it is still running.
            self._note_retry("409")
            state = client.get(f"/api/v1/tasks/{task['id']}", headers=token)
            if state.status_code == 200 and state.json()["state"] != "open":
                with self.outcome.lock:
                    self.outcome.applied_unacknowledged.append(task["id"])
                card = client.get(
                    f"/api/v1/contracts/{task['card_id']}", headers=self.tokens["manager"]
                )
                return card.json()["process"] if card.status_code == 200 else None
            time.sleep(0.2)
        if answer is not None:
            self._fail(f"{task['id']}: {answer.status_code} {answer.text[:300]}")
        return None


def start_service(stack: Stack, service: str, name: str | None = None) -> subprocess.Popen[bytes]:
    """Start one service process of ``stack`` (again, or as an extra replica ``name``).

    It goes into ``stack.processes`` so that ``stack.stop()`` ends it too.
    """
    name = name or service
    env = stack.env()
    stack.metrics_ports[name] = free_port()
    env["DOCFLOW_METRICS_PORT"] = str(stack.metrics_ports[name])
    log = open(stack.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.runner", "run", service],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()
    stack.processes[name] = process
    return process


def revive(stack: Stack) -> list[str]:
    """Start again every service process that exited: what an orchestrator's restart
    policy does. Returns the names restarted.

    A nameko service that is handling calls when the broker goes away can die:
    a worker that finishes during the outage fails to ack its message
    (``ConnectionResetError``) and nameko 2.14 kills the whole container, so
    ``services.runner`` exits. Its unacked messages are redelivered once it is
    back, which idempotency keys and versioned saves make harmless.
    """
    revived = []
    for name, process in list(stack.processes.items()):
        service = name.split("-")[0]
        if process.poll() is not None and service in stack.services:
            start_service(stack, service, name)
            revived.append(name)
    return revived


def kill_hard(stack: Stack, name: str) -> None:
    """``kill -9`` a process of the stack: no shutdown, no acks, no commits in flight."""
    process = stack.processes[name]
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def declare_tap(amqp_uri: str, source: str) -> str:
    """A durable queue bound to every event of ``source``: our own view of what was sent."""
    name = f"fault-tap-{source}-{uuid.uuid4().hex[:8]}"
    with kombu.Connection(amqp_uri) as conn:
        # The same declaration nameko makes, or the broker refuses it.
        exchange = kombu.Exchange(f"{source}.events", type="topic", durable=True)
        kombu.Queue(name, exchange=exchange, routing_key="#", durable=True)(conn).declare()
    return name


def drain(amqp_uri: str, queue: str) -> list[str]:
    """Every event id waiting in ``queue``, duplicates included, in arrival order."""
    ids: list[str] = []
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.default_channel
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            ids.append(str(json.loads(message.body)["event_id"]))
    return ids
