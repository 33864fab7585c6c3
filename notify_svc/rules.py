"""Who is told what, on which channels, and when: plain rules, no I/O.

An incoming domain event names people in its ``data`` (assignee, escalation
targets, initiator, the people a card was returned to, the responsible for a
letter). ``recipients`` turns it into (person, kind) pairs; ``push_channels``
applies the person's preferences; ``first_push_at`` holds reminders,
escalations and overdue notices until working time.

Unknown fields are ignored and a missing or malformed person is skipped (the
caller logs it): a notification service must not stop on one odd event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.calendar import BusinessCalendar
from services.schemas.notify import (
    KINDS,
    PUSH_CHANNELS,
    WORKING_HOURS_ONLY,
    Kind,
    PushChannel,
)

#: Services whose approval routes run on the shared engine.
WORKFLOW_SOURCES = ("contracts", "payments", "mail")
WORKFLOW_EVENTS = (
    "task.assigned",
    "task.reminder",
    "task.escalated",
    "task.overdue",
    "instance.returned",
    "instance.rejected",
    "instance.completed",
)
#: (source, event type) of every event notify_svc listens to.
SUBSCRIPTIONS: tuple[tuple[str, str], ...] = (
    *((source, event) for source in WORKFLOW_SOURCES for event in WORKFLOW_EVENTS),
    ("payments", "payment.paid"),
    ("payments", "payment_request.documents_requested"),
    ("mail", "letter.registered"),
)

#: Fields of an event's data that name people taking part in the card.
PERSON_FIELDS = (
    "assignee_id",
    "on_behalf_of",
    "initiator_id",
    "actor_id",
    "responsible_id",
)
PEOPLE_FIELDS = ("returned_to", "escalated_to")

#: What every person gets until they choose otherwise: both push channels for all.
DEFAULT_PREFERENCES: dict[Kind, list[PushChannel]] = {kind: list(PUSH_CHANNELS) for kind in KINDS}


@dataclass(frozen=True)
class Recipient:
    user_id: str
    kind: Kind
    #: Why this person: "assignee", "escalated_to", "initiator", "returned_to", "responsible".
    reason: str


def _person(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def _people(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        value = [value]
    found = [_person(v) for v in value]
    return [p for p in found if p]


def recipients(event_type: str, data: Mapping[str, Any]) -> list[Recipient]:
    """The people to tell about this event, each once (the first reason wins)."""
    found: list[Recipient] = []

    def add(people: Iterable[str], kind: Kind, reason: str) -> None:
        for person in people:
            if all(r.user_id != person for r in found):
                found.append(Recipient(person, kind, reason))

    assignee = _people(data.get("assignee_id"))
    if event_type == "task.assigned":
        add(assignee, "assignment", "assignee")
    elif event_type == "task.reminder":
        add(assignee, "reminder", "assignee")
    elif event_type == "task.escalated":
        add(_people(data.get("escalated_to")), "escalation", "escalated_to")
        add(assignee, "escalation", "assignee")
    elif event_type == "task.overdue":
        add(assignee, "overdue", "assignee")
    elif event_type == "instance.returned":
        add(_people(data.get("returned_to")), "return", "returned_to")
    elif event_type == "instance.rejected":
        add(_people(data.get("initiator_id")), "rejection", "initiator")
    elif event_type == "instance.completed":
        add(_people(data.get("initiator_id")), "completion", "initiator")
    elif event_type == "payment.paid":
        add(_people(data.get("initiator_id")), "paid", "initiator")
    elif event_type == "letter.registered":
        add(_people(data.get("responsible_id")), "letter", "responsible")
    elif event_type == "payment_request.documents_requested":
        add(_people(data.get("initiator_id")), "documents", "initiator")
    return found


def participants(data: Mapping[str, Any]) -> set[str]:
    """Everybody the event names: they follow the card's changes on the live feed."""
    people: set[str] = set()
    for field in PERSON_FIELDS:
        people.update(_people(data.get(field)))
    for field in PEOPLE_FIELDS:
        people.update(_people(data.get(field)))
    return people


def card_of(event_type: str, data: Mapping[str, Any]) -> tuple[str, str] | None:
    """(process, card id) the event is about, if it says."""
    if event_type in ("payment.paid", "payment_request.documents_requested"):
        process, card = data.get("process") or "payment_request", data.get("request_id")
    elif event_type == "letter.registered":
        direction = data.get("direction")
        default = f"{direction}_letter" if direction in ("incoming", "outgoing") else "letter"
        process, card = data.get("process") or default, data.get("letter_id")
    else:
        process, card = data.get("process"), data.get("card_id")
    card = card or data.get("card_id")
    if not isinstance(process, str) or _person(card) is None:
        return None
    return process, str(card)


# --- preferences ---------------------------------------------------------------


def effective_preferences(stored: Mapping[str, Any] | None) -> dict[Kind, list[PushChannel]]:
    """The defaults with what the person changed on top; unknown kinds/channels dropped."""
    result = {kind: list(channels) for kind, channels in DEFAULT_PREFERENCES.items()}
    for kind, channels in (stored or {}).items():
        if kind in KINDS and isinstance(channels, list):
            chosen = [c for c in PUSH_CHANNELS if c in channels]
            result[kind] = chosen
    return result


def merge_preferences(
    stored: Mapping[str, Any] | None, update: Mapping[Kind, list[PushChannel]]
) -> dict[str, list[str]]:
    """What to store after an update: the earlier choices with the named kinds replaced."""
    merged: dict[str, list[str]] = {
        k: list(v) for k, v in (stored or {}).items() if k in KINDS and isinstance(v, list)
    }
    for kind, channels in update.items():
        merged[kind] = [c for c in PUSH_CHANNELS if c in channels]
    return merged


def push_channels(
    kind: Kind,
    preferences: Mapping[Kind, list[PushChannel]],
    email: str | None,
    telegram_chat_id: str | None,
    telegram_enabled: bool = True,
) -> list[PushChannel]:
    """The push channels this notification goes to: chosen and reachable."""
    chosen = preferences.get(kind, [])
    reachable = {
        "email": bool(email),
        "telegram": bool(telegram_chat_id) and telegram_enabled,
    }
    return [c for c in PUSH_CHANNELS if c in chosen and reachable[c]]


# --- when -------------------------------------------------------------------------


def working_hours_only(kind: Kind) -> bool:
    return kind in WORKING_HOURS_ONLY


def first_push_at(
    kind: Kind, occurred_at: datetime | None, now: datetime, calendar: BusinessCalendar
) -> datetime:
    """When a push may go first: at once, or for reminder-like kinds the next working
    moment from when the event happened (a reminder set off on Saturday night waits for
    Monday morning; the inbox has it at once)."""
    if not working_hours_only(kind):
        return now
    return calendar.next_working_moment(occurred_at or now)


def parse_occurred_at(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
