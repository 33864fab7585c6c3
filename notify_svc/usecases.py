"""What notify_svc does, one function per use case. None commits: the entrypoint does.

- ``notify_people``: a domain event becomes inbox notifications and pending
  deliveries (e-mail, Telegram) for the people it concerns, exactly once per
  event (``first_delivery`` plus unique keys), and is announced on the live feed
  (``notification.created``, ``card.changed``).
- the caller's inbox: ``list_notifications``, ``mark_read``, ``mark_all_read``;
- the caller's channels: ``get_channels``, ``set_channels``.

Only the owner sees or changes a notification: another person's id is 404, so
ids reveal nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notify_svc import models, rules
from notify_svc.rendering import context_for, render
from services.auth import Identity
from services.calendar import BusinessCalendar
from services.errors import InvalidInput, NotFound
from services.ids import parse_id
from services.outbox import OutboxWriter, first_delivery
from services.pagination import clamp_limit, decode_cursor, encode_cursor
from services.schemas import notify as schemas

log = logging.getLogger(__name__)

HANDLER = "notify.notify_people"


@dataclass(frozen=True)
class Person:
    full_name: str
    email: str | None


class Directory(Protocol):
    """The org directory as notify_svc needs it; None for a person it does not know."""

    def person(self, user_id: str) -> Person | None: ...


@dataclass(frozen=True)
class Setup:
    """What handling an event needs besides the session: settings and clocks."""

    calendar: BusinessCalendar
    public_url: str
    timezone: str
    telegram_enabled: bool


# --- events -> notifications ---------------------------------------------------------


def notify_people(
    session: Session,
    events: OutboxWriter,
    directory: Directory,
    setup: Setup,
    envelope: Any,
    now: datetime,
) -> int:
    """Handle one domain event; returns how many notifications it created."""
    if not isinstance(envelope, dict) or not envelope.get("event_id"):
        log.warning("ignored a message that is not an event envelope: %.200r", envelope)
        return 0
    try:
        event_id = uuid.UUID(str(envelope["event_id"]))
    except ValueError:
        log.warning("ignored an event with a malformed id %.60r", envelope.get("event_id"))
        return 0
    if not first_delivery(session, envelope, HANDLER):
        return 0
    event_type = str(envelope.get("event_type") or "")
    data = envelope.get("data")
    if not isinstance(data, dict):
        log.warning("event %s (%s) has no data; nobody notified", event_id, event_type)
        return 0
    card = rules.card_of(event_type, data)
    if card is not None:
        follow_card(session, events, card, event_type, data, envelope.get("occurred_at"))
    people = rules.recipients(event_type, data)
    if not people:
        log.warning("event %s (%s) names nobody to notify", event_id, event_type)
        return 0
    wanted = {r.user_id for r in people}
    for field in ("assignee_id", "on_behalf_of", "actor_id"):
        if isinstance(data.get(field), str) and data[field]:
            wanted.add(data[field])
    found = {uid: directory.person(uid) for uid in sorted(wanted)}
    names = {uid: p.full_name for uid, p in found.items() if p is not None}
    occurred_at = rules.parse_occurred_at(envelope.get("occurred_at"))
    created = 0
    for recipient in people:
        if recipient.user_id not in names:
            log.warning("event %s: %s is not in the directory", event_id, recipient.user_id)
        row = _notify_one(
            session,
            events,
            setup,
            envelope,
            event_id,
            recipient,
            found.get(recipient.user_id),
            names,
            occurred_at,
            now,
        )
        created += row is not None
    return created


def _notify_one(
    session: Session,
    events: OutboxWriter,
    setup: Setup,
    envelope: Mapping[str, Any],
    event_id: uuid.UUID,
    recipient: rules.Recipient,
    person: Person | None,
    names: Mapping[str, str],
    occurred_at: datetime | None,
    now: datetime,
) -> models.Notification | None:
    data: Mapping[str, Any] = envelope["data"]
    stored = session.get(models.ChannelSettings, recipient.user_id)
    context = context_for(
        data,
        reason=recipient.reason,
        names=names,
        recipient_id=recipient.user_id,
        public_url=setup.public_url,
        tz=setup.timezone,
    )
    text = render(recipient.kind, context)
    card = rules.card_of(str(envelope.get("event_type")), data)
    link = data.get("link") if isinstance(data.get("link"), str) else None
    notification_id = session.execute(
        insert(models.Notification)
        .values(
            id=uuid.uuid4(),
            user_id=recipient.user_id,
            event_id=event_id,
            event_type=str(envelope.get("event_type")),
            source=str(envelope.get("source") or ""),
            kind=recipient.kind,
            title=text.title[:500],
            body=text.body,
            link=link[:500] if link else None,
            process=card[0] if card else None,
            card_id=card[1][:64] if card else None,
            created_at=now,
        )
        .on_conflict_do_nothing(constraint="uq_notifications_event_user")
        .returning(models.Notification.id)
    ).scalar()
    if notification_id is None:
        return None  # told already (the event came twice under another handler mark)
    row = session.get(models.Notification, notification_id)
    assert row is not None
    email = (stored.email if stored else None) or (person.email if person else None)
    chat_id = stored.telegram_chat_id if stored else None
    preferences = rules.effective_preferences(stored.preferences if stored else None)
    first_at = rules.first_push_at(recipient.kind, occurred_at, now, setup.calendar)
    for channel in rules.push_channels(
        recipient.kind, preferences, email, chat_id, setup.telegram_enabled
    ):
        address = email if channel == "email" else chat_id
        assert address is not None
        session.execute(
            insert(models.Delivery)
            .values(
                id=uuid.uuid4(),
                notification_id=notification_id,
                event_id=event_id,
                user_id=recipient.user_id,
                channel=channel,
                address=address,
                subject=text.title[:500],
                text=text.body if channel == "email" else text.telegram_text(),
                working_hours_only=rules.working_hours_only(recipient.kind),
                state="pending",
                attempts=0,
                next_attempt_at=first_at,
            )
            .on_conflict_do_nothing(constraint="uq_deliveries_event_user_channel")
        )
    events.add(
        session,
        "notification.created",
        schemas.NotificationCreated(
            user_id=recipient.user_id, notification=notification_out(row)
        ).model_dump(mode="json"),
    )
    return row


def follow_card(
    session: Session,
    events: OutboxWriter,
    card: tuple[str, str],
    event_type: str,
    data: Mapping[str, Any],
    occurred_at: Any,
) -> None:
    """Remember who takes part in the card and tell them all that it changed."""
    process, card_id = card[0][:60], card[1][:64]
    people = sorted(p[:64] for p in rules.participants(data))
    if people:
        session.execute(
            insert(models.CardParticipant)
            .values([{"process": process, "card_id": card_id, "user_id": p} for p in people])
            .on_conflict_do_nothing()
        )
    everyone = list(
        session.scalars(
            select(models.CardParticipant.user_id).where(
                models.CardParticipant.process == process,
                models.CardParticipant.card_id == card_id,
            )
        )
    )
    if not everyone:
        return
    title, link = data.get("title"), data.get("link")
    events.add(
        session,
        "card.changed",
        schemas.CardChanged(
            user_ids=sorted(everyone),
            process=process,
            card_id=card_id,
            title=title if isinstance(title, str) else None,
            link=link if isinstance(link, str) else None,
            event_type=event_type,
            occurred_at=occurred_at if isinstance(occurred_at, str) else None,
        ).model_dump(mode="json"),
    )


# --- the inbox -------------------------------------------------------------------------


def notification_out(row: models.Notification) -> schemas.Notification:
    return schemas.Notification(
        id=str(row.id),
        kind=row.kind,  # type: ignore[arg-type]
        title=row.title,
        body=row.body,
        link=row.link,
        process=row.process,
        card_id=row.card_id,
        event_type=row.event_type,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def list_notifications(
    session: Session,
    caller: Identity,
    unread: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> schemas.NotificationPage:
    """The caller's notifications, newest first, keyset-paged by (created_at, id)."""
    size = clamp_limit(limit)
    table = models.Notification
    mine = table.user_id == caller.user_id
    stmt = select(table).where(mine).order_by(table.created_at.desc(), table.id.desc())
    if unread:
        stmt = stmt.where(table.read_at.is_(None))
    after = decode_cursor(cursor)
    if after:
        if len(after) != 2:
            raise InvalidInput("cursor is not valid", [{"loc": ["cursor"], "msg": "not a key"}])
        try:
            moment = datetime.fromisoformat(str(after[0]))
        except ValueError:
            raise InvalidInput(
                "cursor is not valid", [{"loc": ["cursor"], "msg": "not a key"}]
            ) from None
        key = parse_id(after[1], "cursor")
        stmt = stmt.where(tuple_(table.created_at, table.id) < tuple_(moment, key))
    rows = list(session.scalars(stmt.limit(size + 1)))
    page, more = rows[:size], len(rows) > size
    unread_count = session.scalar(
        select(func.count()).select_from(table).where(mine, table.read_at.is_(None))
    )
    last = page[-1] if page else None
    return schemas.NotificationPage(
        items=[notification_out(r) for r in page],
        next_cursor=encode_cursor([last.created_at.isoformat(), str(last.id)])
        if more and last
        else None,
        unread=int(unread_count or 0),
    )


def _own(session: Session, caller: Identity, notification_id: str) -> models.Notification:
    row = session.get(models.Notification, parse_id(notification_id, "notification"))
    if row is None or row.user_id != caller.user_id:
        raise NotFound(f"notification {notification_id} does not exist")
    return row


def mark_read(
    session: Session, caller: Identity, events: OutboxWriter, notification_id: str, now: datetime
) -> schemas.Notification:
    """Mark one of the caller's notifications read (again is harmless: the first time stays)."""
    row = _own(session, caller, notification_id)
    if row.read_at is None:
        row.read_at = now
        session.flush()
        events.add(
            session,
            "notification.read",
            schemas.NotificationRead(
                user_id=caller.user_id, notification_id=str(row.id), read_at=now
            ).model_dump(mode="json"),
        )
    return notification_out(row)


def mark_all_read(session: Session, caller: Identity, now: datetime) -> int:
    table = models.Notification
    result = session.execute(
        update(table)
        .where(table.user_id == caller.user_id, table.read_at.is_(None))
        .values(read_at=now)
        .returning(table.id)
    )
    return len(result.all())


# --- channels -----------------------------------------------------------------------------


def channels_out(
    stored: models.ChannelSettings | None, person: Person | None
) -> schemas.ChannelSettings:
    personal = stored.email if stored else None
    directory_email = person.email if person else None
    return schemas.ChannelSettings(
        email=personal or directory_email,
        email_source="personal" if personal else ("directory" if directory_email else None),
        telegram_chat_id=stored.telegram_chat_id if stored else None,
        preferences=rules.effective_preferences(stored.preferences if stored else None),
    )


def get_channels(
    session: Session, caller: Identity, directory: Directory
) -> schemas.ChannelSettings:
    stored = session.get(models.ChannelSettings, caller.user_id)
    return channels_out(stored, directory.person(caller.user_id))


def set_channels(
    session: Session,
    caller: Identity,
    directory: Directory,
    update_: schemas.ChannelSettingsUpdate,
) -> schemas.ChannelSettings:
    """Replace the fields sent; a field left out keeps its value (see the contract)."""
    # Insert-or-nothing first: two first saves of one person must not collide.
    session.execute(
        insert(models.ChannelSettings)
        .values(user_id=caller.user_id, preferences={})
        .on_conflict_do_nothing()
    )
    stored = session.get(models.ChannelSettings, caller.user_id, with_for_update=True)
    assert stored is not None
    sent = update_.model_fields_set
    if "email" in sent:
        stored.email = str(update_.email) if update_.email else None
    if "telegram_chat_id" in sent:
        stored.telegram_chat_id = update_.telegram_chat_id
    if update_.preferences is not None:
        stored.preferences = rules.merge_preferences(stored.preferences, update_.preferences)
    session.flush()
    return channels_out(stored, directory.person(caller.user_id))
