"""notify_svc over the real broker, PostgreSQL, the SMTP stand-in and the Telegram stand-in.

Domain events are published onto the broker exactly as the producers' outbox relays
publish them (contracts, payments and mail are built elsewhere); the outcome is read
from the inbox RPC, the delivery rows, the SMTP spool and the Telegram stub.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import text

from notify_svc.testing import EventPublisher, TelegramStub, card, envelope, new_chat_id
from services.auth import Identity
from services.devstack import Stack
from services.smtp import read_spool
from services.testing.plugin import Rpc, eventually

pytestmark = pytest.mark.integration

People = dict[str, Identity]


@pytest.fixture(scope="module")
def publish(suite: Stack) -> EventPublisher:
    return EventPublisher(suite.amqp_uri)


@pytest.fixture
def telegram(suite: Stack) -> Iterator[TelegramStub]:
    stub = TelegramStub(suite)
    yield stub
    stub.mode(down=False, fail_next=0)


def inbox(rpc: Rpc, person: Identity, **options: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = rpc(person, "notify", "list_notifications", **options)["items"]
    return items


def about(rpc: Rpc, person: Identity, card_id: str) -> list[dict[str, Any]]:
    return [n for n in inbox(rpc, person, limit=500) if n["card_id"] == card_id]


def deliveries(service_db: Any, event_id: str) -> list[dict[str, Any]]:
    with service_db("notify_svc").connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM deliveries WHERE event_id = :e ORDER BY channel, user_id"),
            {"e": event_id},
        ).mappings()
        return [dict(r) for r in rows]


def mails_to(suite: Stack, address: str, subject_part: str) -> list[EmailMessage]:
    spool = suite.extra_env["DOCFLOW_SMTP_STUB_SPOOL"]
    return [
        m for m in read_spool(spool) if m["To"] == address and subject_part in str(m["Subject"])
    ]


def link_telegram(rpc: Rpc, person: Identity) -> str:
    chat_id = new_chat_id()
    rpc(person, "notify", "set_channels", data={"telegram_chat_id": chat_id})
    return chat_id


def run_timers(rpc: Rpc, people: People, now: datetime) -> dict[str, Any]:
    answer: dict[str, Any] = rpc(people["admin"], "notify", "run_timers", now=now.isoformat())
    return answer


def duplicates_seen(suite: Stack) -> float:
    port = suite.metrics_ports["notify_svc"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith("docflow_duplicate_events_total") and "notify.notify_people" in line:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_an_assignment_reaches_the_inbox_the_mailbox_and_telegram(
    suite: Stack,
    rpc: Rpc,
    people: People,
    publish: EventPublisher,
    telegram: TelegramStub,
    service_db: Any,
) -> None:
    lawyer = people["lawyer"]
    chat_id = link_telegram(rpc, lawyer)
    about_card = card()
    data = {
        **about_card,
        "task_id": "t-1",
        "step_id": "legal_review",
        "kind": "approval",
        "assignee_id": lawyer.user_id,
        "on_behalf_of": None,
        "due_at": "2026-11-25T15:00:00+00:00",
        "resubmitted": False,
        "some_future_field": {"ignored": True},
    }
    event = publish(envelope("task.assigned", data))

    found = eventually(lambda: about(rpc, lawyer, about_card["card_id"]))
    assert len(found) == 1
    note = found[0]
    assert note["kind"] == "assignment" and note["read_at"] is None
    assert note["title"] == f"На согласование: {about_card['title']}"
    assert "Срок: 25.11.2026 18:00." in note["body"]
    assert note["link"] == about_card["link"]

    mails = eventually(lambda: mails_to(suite, "lawyer@docflow.example", about_card["title"]))
    assert len(mails) == 1
    body = mails[0].get_content()
    assert "Вам поступил документ на согласование" in body
    assert about_card["link"] in body

    sent = eventually(lambda: telegram.messages(chat_id))
    assert len(sent) == 1
    assert sent[0]["text"].startswith(f"На согласование: {about_card['title']}")
    rows = eventually(lambda: all_sent(service_db, event["event_id"]))
    assert {(r["channel"], r["attempts"]) for r in rows} == {("email", 1), ("telegram", 1)}


def all_sent(service_db: Any, event_id: str) -> list[dict[str, Any]]:
    rows = deliveries(service_db, event_id)
    return rows if rows and all(r["state"] == "sent" for r in rows) else []


def test_the_same_event_delivered_twice_gives_one_message_per_channel(
    suite: Stack,
    rpc: Rpc,
    people: People,
    publish: EventPublisher,
    telegram: TelegramStub,
    service_db: Any,
) -> None:
    lawyer2 = people["lawyer2"]
    chat_id = link_telegram(rpc, lawyer2)
    about_card = card()
    data = {**about_card, "task_id": "t-2", "step_id": "s", "assignee_id": lawyer2.user_id}
    before = duplicates_seen(suite)
    event = publish(envelope("task.assigned", {**data, "kind": "task"}))
    publish(event)  # the relay re-sends after a crash between publish and marking

    eventually(lambda: duplicates_seen(suite) > before)
    eventually(lambda: all_sent(service_db, event["event_id"]))
    assert len(about(rpc, lawyer2, about_card["card_id"])) == 1
    assert len(telegram.messages(chat_id)) == 1
    assert len(mails_to(suite, "lawyer2@docflow.example", about_card["title"])) == 1
    # A sent delivery is never sent again, however late the sweep runs.
    run_timers(rpc, people, datetime.now(UTC) + timedelta(days=3))
    assert len(telegram.messages(chat_id)) == 1


def test_a_telegram_outage_is_retried_and_recovers(
    rpc: Rpc,
    people: People,
    publish: EventPublisher,
    telegram: TelegramStub,
    service_db: Any,
) -> None:
    person = people["manager"]
    chat_id = link_telegram(rpc, person)
    telegram.mode(down=True)
    about_card = card()
    event = publish(
        envelope(
            "instance.returned",
            {
                **about_card,
                "returned_to": [person.user_id],
                "comment": "Нет подписи на последней странице",
                "reason_code": "missing_signature",
                "actor_id": people["lawyer"].user_id,
            },
        )
    )

    def failed_once() -> list[dict[str, Any]]:
        rows = [r for r in deliveries(service_db, event["event_id"]) if r["channel"] == "telegram"]
        return rows if rows and rows[0]["attempts"] >= 1 and rows[0]["last_error"] else []

    row = eventually(failed_once, seconds=20)[0]
    assert row["state"] == "pending" and row["sent_at"] is None
    assert "Telegram did not answer" in row["last_error"]
    assert telegram.messages(chat_id) == []

    telegram.mode(down=False)
    run_timers(rpc, people, datetime.now(UTC) + timedelta(hours=2))
    rows = eventually(lambda: all_sent(service_db, event["event_id"]))
    assert [r["channel"] for r in rows] == ["email", "telegram"]
    sent = telegram.messages(chat_id)
    assert len(sent) == 1
    assert "Возвращено на доработку" in sent[0]["text"]
    assert "Нет подписи на последней странице" in sent[0]["text"]
    assert "Вернул(а): Ирина Петрова." in sent[0]["text"]


def test_telegram_flood_control_is_waited_out(
    rpc: Rpc,
    people: People,
    publish: EventPublisher,
    telegram: TelegramStub,
    service_db: Any,
) -> None:
    person = people["manager2"]
    chat_id = link_telegram(rpc, person)
    telegram.mode(fail_next=1, fail_status=429, retry_after=600)
    about_card = card("payment_request", "Заявка на оплату З-2026-0042")
    paid = envelope(
        "payment.paid",
        {
            "request_id": about_card["card_id"],
            "initiator_id": person.user_id,
            "amount": "1234567.50",
            "currency": "RUB",
            "title": about_card["title"],
            "link": about_card["link"],
        },
        source="payments",
    )
    started = datetime.now(UTC)
    publish(paid)

    def told_to_wait() -> list[dict[str, Any]]:
        rows = [r for r in deliveries(service_db, paid["event_id"]) if r["channel"] == "telegram"]
        return rows if rows and rows[0]["last_error"] else []

    row = eventually(told_to_wait)[0]
    assert "429" in row["last_error"] and row["state"] == "pending"
    assert row["next_attempt_at"] >= started + timedelta(seconds=600)
    run_timers(rpc, people, datetime.now(UTC) + timedelta(seconds=30))
    assert telegram.messages(chat_id) == []  # not before retry_after has passed

    run_timers(rpc, people, datetime.now(UTC) + timedelta(minutes=11))
    eventually(lambda: all_sent(service_db, paid["event_id"]))
    sent = telegram.messages(chat_id)
    assert len(sent) == 1
    assert "Сумма: 1\u00a0234\u00a0567,50 RUB." in sent[0]["text"]


def test_a_reminder_at_night_waits_for_the_next_working_moment(
    rpc: Rpc,
    people: People,
    publish: EventPublisher,
    telegram: TelegramStub,
    service_db: Any,
) -> None:
    person = people["accountant"]
    chat_id = link_telegram(rpc, person)
    about_card = card()
    saturday_night = datetime.fromisoformat("2030-11-30T03:00:00+03:00")
    event = publish(
        envelope(
            "task.reminder",
            {**about_card, "task_id": "t-3", "step_id": "s", "assignee_id": person.user_id},
            occurred_at=saturday_night,
        )
    )
    # The inbox has it at once; the push channels wait for Monday morning.
    assert eventually(lambda: about(rpc, person, about_card["card_id"]))[0]["kind"] == "reminder"
    rows = eventually(lambda: deliveries(service_db, event["event_id"]))
    monday = datetime.fromisoformat("2030-12-02T09:00:00+03:00")
    assert {(r["channel"], r["next_attempt_at"]) for r in rows} == {
        ("email", monday),
        ("telegram", monday),
    }
    run_timers(rpc, people, datetime.fromisoformat("2030-12-01T15:00:00+03:00"))
    assert all(r["state"] == "pending" for r in deliveries(service_db, event["event_id"]))
    assert telegram.messages(chat_id) == []

    fired = run_timers(rpc, people, datetime.fromisoformat("2030-12-02T09:05:00+03:00"))
    assert fired["fired"] >= 2
    assert all_sent(service_db, event["event_id"])
    assert telegram.messages(chat_id)[0]["text"].startswith("Напоминание: ")


def test_an_escalation_tells_the_targets_and_the_assignee(
    rpc: Rpc, people: People, publish: EventPublisher
) -> None:
    assignee, ops = people["finman"], people["ops"]
    about_card = card("payment_request", "Заявка на оплату З-2026-0007")
    publish(
        envelope(
            "task.escalated",
            {
                **about_card,
                "task_id": "t-4",
                "step_id": "finance",
                "assignee_id": assignee.user_id,
                "role": "operations_manager",
                "escalated_to": [ops.user_id],
            },
            source="payments",
        )
    )
    to_ops = eventually(lambda: about(rpc, ops, about_card["card_id"]))[0]
    to_assignee = eventually(lambda: about(rpc, assignee, about_card["card_id"]))[0]
    assert to_ops["title"] == f"Эскалация: {about_card['title']}"
    assert "Исполнитель: Дмитрий Новиков." in to_ops["body"]
    assert to_assignee["title"].startswith("Задача передана руководителю")


def test_a_registered_letter_tells_its_responsible(
    rpc: Rpc, people: People, publish: EventPublisher
) -> None:
    office = people["office"]
    letter_id = "7c1e8c55-2f7e-4b8e-9d7a-0a1b2c3d4e5f"
    publish(
        envelope(
            "letter.registered",
            {
                "letter_id": letter_id,
                "direction": "incoming",
                "number": "ВХ-2026-0015",
                "responsible_id": office.user_id,
                "title": "Письмо ФНС о камеральной проверке",
                "link": f"/letters/{letter_id}",
            },
            source="mail",
        )
    )
    note = eventually(lambda: about(rpc, office, letter_id))[0]
    assert note["kind"] == "letter" and note["process"] == "incoming_letter"
    assert note["title"] == (
        "Зарегистрировано письмо № ВХ-2026-0015: Письмо ФНС о камеральной проверке"
    )


def test_an_event_naming_nobody_is_skipped_and_the_next_one_is_handled(
    rpc: Rpc, people: People, publish: EventPublisher, service_db: Any
) -> None:
    broken = publish(envelope("instance.completed", {**card(), "initiator_id": None}))
    good_card = card()
    publish(envelope("instance.completed", {**good_card, "initiator_id": people["ceo"].user_id}))
    note = eventually(lambda: about(rpc, people["ceo"], good_card["card_id"]))[0]
    assert note["title"].startswith("Согласование завершено")
    with service_db("notify_svc").connect() as conn:
        handled = conn.execute(
            text("SELECT count(*) FROM processed_events WHERE event_id = :e"),
            {"e": broken["event_id"]},
        ).scalar_one()
        told = conn.execute(
            text("SELECT count(*) FROM notifications WHERE event_id = :e"),
            {"e": broken["event_id"]},
        ).scalar_one()
    assert (handled, told) == (1, 0)


def test_channels_default_to_the_directory_address_and_follow_preferences(
    suite: Stack, rpc: Rpc, people: People, publish: EventPublisher, service_db: Any
) -> None:
    person = people["pto"]
    channels = rpc(person, "notify", "get_channels")
    assert channels["email"] == "pto@docflow.example"
    assert channels["email_source"] == "directory"
    assert channels["preferences"]["completion"] == ["email", "telegram"]

    changed = rpc(
        person,
        "notify",
        "set_channels",
        data={"email": "v.pavlov@example.ru", "preferences": {"completion": []}},
    )
    assert changed["email"] == "v.pavlov@example.ru" and changed["email_source"] == "personal"
    assert changed["preferences"]["completion"] == []
    assert changed["preferences"]["assignment"] == ["email", "telegram"]

    quiet, loud = card(), card()
    done = publish(envelope("instance.completed", {**quiet, "initiator_id": person.user_id}))
    assigned = publish(
        envelope("task.assigned", {**loud, "assignee_id": person.user_id, "kind": "task"})
    )
    eventually(lambda: about(rpc, person, loud["card_id"]))
    eventually(lambda: all_sent(service_db, assigned["event_id"]))
    assert about(rpc, person, quiet["card_id"])  # the inbox still has it
    assert deliveries(service_db, done["event_id"]) == []
    assert len(mails_to(suite, "v.pavlov@example.ru", loud["title"])) == 1

    back = rpc(person, "notify", "set_channels", data={"email": None})
    assert back["email"] == "pto@docflow.example" and back["email_source"] == "directory"


def test_only_the_owner_reads_a_notification(
    rpc: Rpc, people: People, publish: EventPublisher
) -> None:
    owner, other = people["director"], people["reception"]
    about_card = card()
    publish(envelope("instance.completed", {**about_card, "initiator_id": owner.user_id}))
    note = eventually(lambda: about(rpc, owner, about_card["card_id"]))[0]
    with pytest.raises(Exception) as caught:
        rpc(other, "notify", "mark_read", notification_id=note["id"])
    assert getattr(caught.value, "exc_type", "") == "NotFound"
    read = rpc(owner, "notify", "mark_read", notification_id=note["id"])
    assert read["read_at"] is not None
    again = rpc(owner, "notify", "mark_read", notification_id=note["id"])
    assert again["read_at"] == read["read_at"]
    assert note["id"] not in [n["id"] for n in inbox(rpc, owner, unread=True, limit=500)]
