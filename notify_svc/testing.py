"""Test helpers for notify_svc: domain events as the producers send them, and the controls
of the Telegram stand-in the suite started (never part of the Bot API)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from services.devstack import Stack

_rng = random.Random()

PROCESS_PATHS = {
    "contract": "contracts",
    "payment_request": "payment-requests",
    "incoming_letter": "letters",
    "outgoing_letter": "letters",
}


def new_chat_id() -> str:
    return str(_rng.randint(10**8, 10**10))


def card(process: str = "contract", title: str | None = None) -> dict[str, Any]:
    """The fields every workflow event carries about its card."""
    card_id = str(uuid.uuid4())
    return {
        "process": process,
        "card_id": card_id,
        "instance_id": f"i-{uuid.uuid4().hex[:12]}",
        "route_id": f"{process}-standard",
        "round": 1,
        "title": title or f"Договор Д-2026-{_rng.randint(1000, 9999)} с ООО «Ромашка»",
        "link": f"/{PROCESS_PATHS.get(process, process)}/{card_id}",
    }


def envelope(
    event_type: str,
    data: dict[str, Any],
    source: str = "contracts",
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An outbox envelope exactly as services.outbox publishes it."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "source": source,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "schema_version": 1,
        "correlation_id": uuid.uuid4().hex,
        "data": data,
    }


class EventPublisher:
    """Publishes envelopes onto the real broker, as the producing service's relay would."""

    def __init__(self, amqp_uri: str) -> None:
        from nameko.standalone.events import event_dispatcher

        self._dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})

    def __call__(self, message: dict[str, Any]) -> dict[str, Any]:
        self._dispatch(message["source"], message["event_type"], message)
        return message


class TelegramStub:
    """The test controls of the Telegram stand-in the suite started."""

    def __init__(self, suite: Stack) -> None:
        self.base = suite.extra_env["DOCFLOW_TELEGRAM_API_URL"].rstrip("/")

    def messages(self, chat_id: str | None = None) -> list[dict[str, Any]]:
        params = {"chat_id": chat_id} if chat_id else {}
        answer = httpx.get(f"{self.base}/_stub/messages", params=params)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()["messages"]
        return found

    def person_writes(self, chat_id: str, text: str) -> dict[str, Any]:
        """Someone sends the bot ``text`` from ``chat_id`` (the bot reads it by getUpdates)."""
        answer = httpx.post(f"{self.base}/_stub/updates", json={"chat_id": chat_id, "text": text})
        answer.raise_for_status()
        update: dict[str, Any] = answer.json()["result"]
        return update

    def mode(self, **mode: Any) -> dict[str, Any]:
        answer = httpx.post(f"{self.base}/_stub/mode", json=mode)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result
