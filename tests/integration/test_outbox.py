"""Events leave through the outbox: with the change, after a crash, never from a failed call."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.auth import Identity
from services.devstack import Stack
from services.outbox import first_delivery
from services.testing.plugin import Rpc, count_rows, eventually

pytestmark = pytest.mark.integration


class EventTap:
    """A queue of our own bound to a service's event exchange."""

    def __init__(self, amqp_uri: str, source: str, routing_key: str = "#") -> None:
        self.connection = Connection(amqp_uri)
        exchange = Exchange(f"{source}.events", type="topic", durable=True)
        self.queue = Queue(
            f"test-tap-{uuid.uuid4().hex[:8]}",
            exchange,
            routing_key=routing_key,
            exclusive=True,
            auto_delete=True,
        )
        self.received: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.consumer = self.connection.Consumer(
            [self.queue], callbacks=[self._on_message], accept=["json"]
        )
        self.consumer.consume()

    def _on_message(self, body: Any, message: Any) -> None:
        payload = json.loads(body) if isinstance(body, str | bytes) else body
        self.received.append((payload, dict(message.headers)))
        message.ack()

    def wait_for(self, predicate: Any, seconds: float = 15.0) -> tuple[dict[str, Any], Any]:
        import time

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for item in self.received:
                if predicate(item[0]):
                    return item
            with contextlib.suppress(TimeoutError):
                self.connection.drain_events(timeout=0.5)
        raise AssertionError(f"no matching event in {seconds}s; got {self.received}")

    def close(self) -> None:
        self.consumer.cancel()
        self.connection.release()


@pytest.fixture
def org_events(suite: Stack) -> Iterator[EventTap]:
    tap = EventTap(suite.amqp_uri, "org")
    yield tap
    tap.close()


def new_user(department_id: str, roles: list[str] | None = None) -> dict[str, Any]:
    name = f"t.{uuid.uuid4().hex[:8]}"
    return {
        "username": name,
        "full_name": "Тест Тестов",
        "department_id": department_id,
        "roles": roles or [],
    }


def test_a_change_and_its_event_land_together(
    rpc: Rpc, people: dict[str, Identity], org_events: EventTap
) -> None:
    admin = people["admin"]
    created = rpc(admin, "org", "create_user", data=new_user(admin.department_id or ""))
    envelope, _ = org_events.wait_for(lambda e: e["data"].get("id") == created["id"])
    assert envelope["event_type"] == "user.created"
    assert envelope["source"] == "org"
    assert envelope["schema_version"] == 1
    assert envelope["data"]["username"] == created["username"]


def test_an_event_committed_but_never_published_is_sent_by_the_relay(
    service_db: Any, org_events: EventTap
) -> None:
    # As if the service crashed right after its commit: the row is there, unpublished.
    event_id = uuid.uuid4()
    envelope = {
        "event_id": str(event_id),
        "event_type": "test.crash_recovered",
        "source": "org",
        "occurred_at": "2026-11-23T10:00:00+00:00",
        "schema_version": 1,
        "data": {"n": 1},
    }
    with service_db("org_svc").begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (event_id, event_type, payload) "
                "VALUES (:id, 'test.crash_recovered', CAST(:p AS jsonb))"
            ),
            {"id": event_id, "p": json.dumps(envelope)},
        )
    received, _headers = org_events.wait_for(lambda e: e["event_id"] == str(event_id))
    assert received["data"] == {"n": 1}

    def marked_published() -> bool:
        with service_db("org_svc").connect() as conn:
            return bool(
                conn.execute(
                    text("SELECT published_at IS NOT NULL FROM outbox WHERE event_id = :id"),
                    {"id": event_id},
                ).scalar_one()
            )

    # The relay marks the row just after the broker confirmed it.
    assert eventually(marked_published)


def test_a_refused_call_writes_nothing_and_sends_nothing(
    rpc: Rpc, people: dict[str, Identity], service_db: Any
) -> None:
    admin = people["admin"]
    users_before = count_rows(service_db("org_svc"), "users")
    outbox_before = count_rows(service_db("org_svc"), "outbox")
    with pytest.raises(Exception, match="unknown roles"):
        rpc(
            admin,
            "org",
            "create_user",
            data=new_user(admin.department_id or "", roles=["astronaut"]),
        )
    assert count_rows(service_db("org_svc"), "users") == users_before
    assert count_rows(service_db("org_svc"), "outbox") == outbox_before


def test_a_handler_sees_each_event_once_and_a_rollback_forgets_the_mark(service_db: Any) -> None:
    envelope = {"event_id": str(uuid.uuid4())}
    with Session(service_db("notify_svc")) as session:
        assert first_delivery(session, envelope, "notify.on_test")
        session.rollback()  # the handler failed: the mark must go with its effects
        assert first_delivery(session, envelope, "notify.on_test")
        session.commit()
        assert not first_delivery(session, envelope, "notify.on_test")
        assert first_delivery(session, envelope, "notify.on_other_handler")
        session.commit()
