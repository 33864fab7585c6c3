"""Who is told what, on which channels and when (notify_svc.rules), and how a delivery
attempt records its outcome (notify_svc.delivery.attempt, with fake channels)."""

from __future__ import annotations

import smtplib
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from notify_svc import models, rules
from notify_svc.delivery import RetryPolicy, Senders, attempt
from services.calendar import BusinessCalendar
from services.smtp import Mail
from services.telegram import (
    SentMessage,
    TelegramRefused,
    TelegramRetryAfter,
    TelegramUnavailable,
)

CAL = BusinessCalendar("Europe/Moscow")
MSK = "+03:00"


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment + MSK)


# --- recipients ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        ("task.assigned", {"assignee_id": "a"}, [("a", "assignment", "assignee")]),
        ("task.reminder", {"assignee_id": "a"}, [("a", "reminder", "assignee")]),
        (
            "task.escalated",
            {"assignee_id": "a", "escalated_to": ["b", "c"]},
            [
                ("b", "escalation", "escalated_to"),
                ("c", "escalation", "escalated_to"),
                ("a", "escalation", "assignee"),
            ],
        ),
        (
            "task.overdue",
            {"assignee_id": "a", "escalated_to": ["b"]},
            [("a", "overdue", "assignee")],
        ),
        ("instance.returned", {"returned_to": ["i"]}, [("i", "return", "returned_to")]),
        ("instance.rejected", {"initiator_id": "i"}, [("i", "rejection", "initiator")]),
        ("instance.completed", {"initiator_id": "i"}, [("i", "completion", "initiator")]),
        ("payment.paid", {"initiator_id": "i"}, [("i", "paid", "initiator")]),
        (
            "payment_request.documents_requested",
            {"initiator_id": "i", "actor_id": "f"},
            [("i", "documents", "initiator")],
        ),
        ("letter.registered", {"responsible_id": "r"}, [("r", "letter", "responsible")]),
    ],
)
def test_each_event_reaches_the_people_it_concerns(
    event_type: str, data: dict[str, Any], expected: list[tuple[str, str, str]]
) -> None:
    found = rules.recipients(event_type, data)
    assert [(r.user_id, r.kind, r.reason) for r in found] == expected


def test_missing_or_malformed_people_are_skipped_and_nobody_is_told_twice() -> None:
    assert rules.recipients("task.assigned", {}) == []
    assert rules.recipients("task.assigned", {"assignee_id": None}) == []
    assert rules.recipients("instance.returned", {"returned_to": [None, "", True, {}]}) == []
    twice = rules.recipients("task.escalated", {"assignee_id": "a", "escalated_to": ["a", "a"]})
    assert [(r.user_id, r.reason) for r in twice] == [("a", "escalated_to")]
    assert rules.recipients("task.decided", {"assignee_id": "a"}) == []


def test_participants_and_the_card_come_from_any_event_shape() -> None:
    data = {
        "process": "contract",
        "card_id": "c1",
        "assignee_id": "a",
        "on_behalf_of": "b",
        "escalated_to": ["c"],
        "actor_id": "d",
        "unknown": "x",
    }
    assert rules.participants(data) == {"a", "b", "c", "d"}
    assert rules.card_of("task.assigned", data) == ("contract", "c1")
    assert rules.card_of("payment.paid", {"request_id": "p1"}) == ("payment_request", "p1")
    letter = {"letter_id": "l1", "direction": "outgoing"}
    assert rules.card_of("letter.registered", letter) == ("outgoing_letter", "l1")
    assert rules.card_of("task.assigned", {"card_id": "c1"}) is None  # no process named


def test_every_subscription_is_a_known_source_and_event() -> None:
    assert ("contracts", "task.assigned") in rules.SUBSCRIPTIONS
    assert ("mail", "letter.registered") in rules.SUBSCRIPTIONS
    assert ("payments", "payment_request.documents_requested") in rules.SUBSCRIPTIONS
    assert len(set(rules.SUBSCRIPTIONS)) == len(rules.SUBSCRIPTIONS) == 24


# --- preferences ---------------------------------------------------------------------


def test_preferences_default_to_every_push_channel_and_keep_only_known_values() -> None:
    prefs = rules.effective_preferences(None)
    assert prefs["assignment"] == ["email", "telegram"]
    stored = {"reminder": ["telegram", "pigeon"], "nonsense": ["email"], "paid": "email"}
    prefs = rules.effective_preferences(stored)
    assert prefs["reminder"] == ["telegram"]
    assert prefs["paid"] == ["email", "telegram"]
    assert "nonsense" not in prefs


def test_an_update_replaces_only_the_kinds_it_names() -> None:
    stored = {"reminder": ["telegram"], "paid": []}
    merged = rules.merge_preferences(stored, {"paid": ["telegram", "email"], "letter": []})
    assert merged == {"reminder": ["telegram"], "paid": ["email", "telegram"], "letter": []}


def test_a_channel_is_used_only_when_chosen_and_reachable() -> None:
    prefs = rules.effective_preferences({"completion": ["email"]})
    assert rules.push_channels("assignment", prefs, "a@x.ru", "42") == ["email", "telegram"]
    assert rules.push_channels("assignment", prefs, None, "42") == ["telegram"]
    assert rules.push_channels("assignment", prefs, "a@x.ru", None) == ["email"]
    assert rules.push_channels("assignment", prefs, "a@x.ru", "42", False) == ["email"]
    assert rules.push_channels("completion", prefs, "a@x.ru", "42") == ["email"]


# --- when ------------------------------------------------------------------------------


def test_reminder_like_kinds_wait_for_working_time_others_go_at_once() -> None:
    now = at("2026-11-28T03:00:00")  # Saturday night
    monday = at("2026-11-30T09:00:00")
    for kind in ("reminder", "escalation", "overdue"):
        assert rules.first_push_at(kind, now, now, CAL) == monday
    assert rules.first_push_at("assignment", now, now, CAL) == now
    tuesday_noon = at("2026-11-24T12:00:00")
    assert rules.first_push_at("reminder", tuesday_noon, tuesday_noon, CAL) == tuesday_noon


def test_occurred_at_needs_an_offset() -> None:
    assert rules.parse_occurred_at("2026-11-23T10:00:00+03:00") == at("2026-11-23T10:00:00")
    assert rules.parse_occurred_at("2026-11-23T10:00:00") is None
    assert rules.parse_occurred_at("yesterday") is None
    assert rules.parse_occurred_at(None) is None


# --- one delivery attempt --------------------------------------------------------------


class FakeTelegram:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, str]] = []

    def send_message(self, chat_id: str, text: str) -> SentMessage:
        if self.error is not None:
            raise self.error
        self.sent.append((chat_id, text))
        return SentMessage(len(self.sent), chat_id)


def delivery(channel: str = "telegram", **fields: Any) -> models.Delivery:
    row = models.Delivery(
        id=uuid.uuid4(),
        channel=channel,
        address="42" if channel == "telegram" else "a@x.ru",
        subject="Тема",
        text="Текст",
        working_hours_only=False,
        state="pending",
        attempts=0,
        next_attempt_at=at("2026-11-24T10:00:00"),
    )
    for key, value in fields.items():
        setattr(row, key, value)
    return row


POLICY = RetryPolicy(base=timedelta(seconds=30), maximum=timedelta(hours=1), max_attempts=3)
NOW = at("2026-11-24T10:00:00")


def telegram_only(fake: FakeTelegram) -> Senders:
    return Senders(email=None, telegram=fake)  # type: ignore[arg-type]


def test_a_sent_delivery_records_when_and_what() -> None:
    fake = FakeTelegram()
    row = delivery()
    assert attempt(row, NOW, telegram_only(fake), CAL, POLICY) == "sent"
    assert (row.state, row.sent_at, row.attempts, row.external_id) == ("sent", NOW, 1, "1")
    assert fake.sent == [("42", "Текст")]


def test_flood_control_waits_exactly_as_long_as_telegram_says() -> None:
    row = delivery()
    fake = FakeTelegram(TelegramRetryAfter("429", 37))
    assert attempt(row, NOW, telegram_only(fake), CAL, POLICY) == "paused"
    assert row.state == "pending" and row.next_attempt_at == NOW + timedelta(seconds=37)


def test_an_outage_backs_off_and_is_given_up_after_the_last_attempt() -> None:
    row = delivery()
    fake = FakeTelegram(TelegramUnavailable("down"))
    assert attempt(row, NOW, telegram_only(fake), CAL, POLICY) == "retry"
    assert row.next_attempt_at == NOW + timedelta(seconds=30)
    assert attempt(row, NOW, telegram_only(fake), CAL, POLICY) == "retry"
    assert row.next_attempt_at == NOW + timedelta(seconds=60)
    assert attempt(row, NOW, telegram_only(fake), CAL, POLICY) == "failed"
    assert row.state == "failed" and "down" in (row.last_error or "")


def test_a_refusal_for_good_is_not_retried() -> None:
    row = delivery()
    fake = FakeTelegram(TelegramRefused("Forbidden: bot was blocked by the user", 403))
    assert attempt(row, NOW, telegram_only(fake), CAL, POLICY) == "failed"
    assert row.attempts == 1 and "blocked" in (row.last_error or "")


def test_smtp_5xx_is_final_and_4xx_is_retried() -> None:
    def refuse(code: int) -> Any:
        def send(mail: Mail) -> str:
            raise smtplib.SMTPDataError(code, b"no")

        return send

    final, later = delivery("email"), delivery("email")
    assert attempt(final, NOW, Senders(refuse(550), None), CAL, POLICY) == "failed"
    assert attempt(later, NOW, Senders(refuse(451), None), CAL, POLICY) == "retry"


def test_a_reminder_due_at_night_moves_to_the_morning_without_a_try() -> None:
    fake = FakeTelegram()
    row = delivery(working_hours_only=True)
    night = at("2026-11-24T22:00:00")
    assert attempt(row, night, telegram_only(fake), CAL, POLICY) == "deferred"
    assert row.next_attempt_at == at("2026-11-25T09:00:00")
    assert row.attempts == 0 and fake.sent == []
