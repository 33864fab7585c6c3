"""Sending pending deliveries: once each, retried with backoff, in working time when asked.

``send_due`` claims one due delivery at a time with ``FOR UPDATE SKIP LOCKED``
(two replicas, or the background sender and ``run_timers``, never send the same
row), tries its channel and records the outcome in the same transaction:

- sent: ``state = 'sent'`` and ``sent_at``; a sent row is never claimed again;
- Telegram 429: the row waits ``retry_after`` seconds and the round stops using
  Telegram (the flood limit is the bot's, not the message's);
- unavailable (no answer, 5xx, SMTP 4xx): retried with doubling delays, given
  up after ``max_attempts`` (the inbox still has the notification);
- refused for good (chat not found, bot blocked, mailbox refused): failed at once;
- a reminder-like delivery due outside working hours moves to the next working
  moment without a try.

A crash after the channel accepted a message but before the commit sends it once
more on restart: at-least-once towards the outside world is the best any sender can
do. E-mails keep one Message-ID per delivery so mail clients fold such a repeat.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notify_svc import models
from services.calendar import BusinessCalendar
from services.smtp import Mail
from services.telegram import TelegramClient, TelegramRefused, TelegramRetryAfter

log = logging.getLogger(__name__)

Outcome = Literal["sent", "deferred", "retry", "paused", "failed"]


class PermanentFailure(Exception):
    """The channel refused this message for good; retrying would not help."""


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=30)
    maximum: timedelta = timedelta(hours=1)
    max_attempts: int = 12

    def delay(self, attempts: int) -> timedelta:
        """Wait before the next try after ``attempts`` failed ones: base, 2x, 4x ... max."""
        factor: int = 2 ** max(0, min(attempts - 1, 20))
        return min(self.maximum, self.base * factor)


@dataclass
class Senders:
    """How to reach each channel; None where the channel is not configured."""

    email: Callable[[Mail], str] | None
    telegram: TelegramClient | None


def _send(row: models.Delivery, senders: Senders) -> str:
    """Hand the message to its channel; returns the channel's id for it."""
    if row.channel == "email":
        if senders.email is None:
            raise PermanentFailure("e-mail is not configured")
        try:
            return senders.email(
                Mail(
                    to=[row.address],
                    subject=row.subject,
                    text=row.text,
                    message_id=f"<{row.id}@docflow>",
                )
            )
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"the mail server refused {row.address}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise
    if row.channel == "telegram":
        if senders.telegram is None:
            raise PermanentFailure("Telegram is not configured")
        try:
            sent = senders.telegram.send_message(row.address, row.text)
        except TelegramRefused as exc:
            raise PermanentFailure(str(exc)) from exc
        return str(sent.message_id)
    raise PermanentFailure(f"unknown channel {row.channel}")


def attempt(
    row: models.Delivery,
    now: datetime,
    senders: Senders,
    calendar: BusinessCalendar,
    policy: RetryPolicy,
) -> Outcome:
    """Try one claimed delivery and record the outcome on the row (the caller commits)."""
    if row.working_hours_only and not calendar.is_working_moment(now):
        row.next_attempt_at = calendar.next_working_moment(now)
        return "deferred"
    row.attempts += 1
    try:
        row.external_id = _send(row, senders)[:200]
    except TelegramRetryAfter as exc:
        row.last_error = str(exc)[:2000]
        row.next_attempt_at = now + timedelta(seconds=max(1.0, exc.retry_after))
        log.warning("Telegram flood control: delivery %s waits %ss", row.id, exc.retry_after)
        return "paused"
    except PermanentFailure as exc:
        row.state = "failed"
        row.last_error = str(exc)[:2000]
        log.warning("delivery %s (%s) refused for good: %s", row.id, row.channel, exc)
        return "failed"
    except Exception as exc:
        # TelegramUnavailable, SMTP 4xx, OSError - and anything unforeseen, which is
        # retried too: a row that raised must not block the queue behind it.
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= policy.max_attempts:
            row.state = "failed"
            log.error("delivery %s (%s) given up: %s", row.id, row.channel, exc)
            return "failed"
        row.next_attempt_at = now + policy.delay(row.attempts)
        log.warning("delivery %s (%s) failed, retrying: %s", row.id, row.channel, exc)
        return "retry"
    row.state = "sent"
    row.sent_at = now
    row.last_error = None
    return "sent"


def send_due(
    factory: sessionmaker[Session],
    now: datetime,
    senders: Senders,
    calendar: BusinessCalendar,
    policy: RetryPolicy,
    limit: int = 200,
) -> int:
    """Send up to ``limit`` deliveries due at ``now``, one transaction each; returns how
    many were sent."""
    if now.tzinfo is None:
        raise ValueError("now needs a time zone")
    sent = 0
    paused: set[str] = set()
    table = models.Delivery
    for _ in range(limit):
        with factory() as session:
            query = select(table).where(table.state == "pending", table.next_attempt_at <= now)
            if paused:
                query = query.where(table.channel.not_in(paused))
            row = session.scalars(
                query.order_by(table.next_attempt_at).limit(1).with_for_update(skip_locked=True)
            ).first()
            if row is None:
                break
            channel = row.channel
            outcome = attempt(row, now, senders, calendar, policy)
            session.commit()
        if outcome == "sent":
            sent += 1
        elif outcome == "paused":
            paused.add(channel)
    return sent
