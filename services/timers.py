"""Durable timers: reminders, escalations and waits that survive restarts.

A workflow service stores each timer as a row (``workflow_timers``) in the
same transaction as the state that set it. ``sweep`` fires the due ones:
it claims a batch with ``FOR UPDATE SKIP LOCKED`` (so two replicas never
fire one timer twice), runs the handler for each inside a savepoint (one bad
timer does not block the others: it is retried later with backoff), marks
each fired, and commits. ``now`` is a parameter: the nameko ``@timer`` passes
the clock, tests and demos pass a simulated time.

The partial index on ``fire_at`` over pending rows keeps the look-up a short
index range scan however many timers wait in the future.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Column,
    CursorResult,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Session, sessionmaker

from services import metrics

log = logging.getLogger(__name__)

#: After a handler fails, the timer is tried again this much later, doubling each time.
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)


def timer_table(metadata: MetaData) -> Table:
    return Table(
        "workflow_timers",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
        Column("instance_id", String(64), nullable=False),
        Column("kind", String(40), nullable=False),
        Column("fire_at", DateTime(timezone=True), nullable=False),
        Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("fired_at", DateTime(timezone=True)),
        Column("cancelled_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Index(
            "ix_workflow_timers_due",
            "fire_at",
            postgresql_where=text("fired_at IS NULL AND cancelled_at IS NULL"),
        ),
        Index("ix_workflow_timers_instance", "instance_id"),
    )


TIMERS = timer_table(MetaData())
_PENDING = TIMERS.c.fired_at.is_(None) & TIMERS.c.cancelled_at.is_(None)


@dataclass(frozen=True)
class DueTimer:
    id: uuid.UUID
    instance_id: str
    kind: str
    fire_at: datetime
    payload: dict[str, Any]


def schedule(
    session: Session, instance_id: str, kind: str, fire_at: datetime, payload: dict[str, Any]
) -> uuid.UUID:
    """Add a timer in the caller's transaction."""
    if fire_at.tzinfo is None:
        raise ValueError("fire_at needs a time zone")
    timer_id = uuid.uuid4()
    session.execute(
        TIMERS.insert().values(
            id=timer_id, instance_id=instance_id, kind=kind, fire_at=fire_at, payload=payload
        )
    )
    return timer_id


def cancel(
    session: Session, instance_id: str, kinds: list[str] | None = None, now: datetime | None = None
) -> int:
    """Cancel an instance's pending timers (all, or of the given kinds)."""
    stmt = update(TIMERS).where(TIMERS.c.instance_id == instance_id, _PENDING)
    if kinds is not None:
        stmt = stmt.where(TIMERS.c.kind.in_(kinds))
    result = cast(CursorResult[Any], session.execute(stmt.values(cancelled_at=now or func.now())))
    return int(result.rowcount or 0)


def pending(session: Session, instance_id: str) -> list[DueTimer]:
    rows = session.execute(
        select(TIMERS)
        .where(TIMERS.c.instance_id == instance_id, _PENDING)
        .order_by(TIMERS.c.fire_at)
    ).mappings()
    return [
        DueTimer(r["id"], r["instance_id"], r["kind"], r["fire_at"], r["payload"]) for r in rows
    ]


def due_query(now: datetime, limit: int) -> Any:
    return (
        select(
            TIMERS.c.id,
            TIMERS.c.instance_id,
            TIMERS.c.kind,
            TIMERS.c.fire_at,
            TIMERS.c.payload,
            TIMERS.c.attempts,
        )
        .where(_PENDING, TIMERS.c.fire_at <= now)
        .order_by(TIMERS.c.fire_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


Handler = Callable[[Session, DueTimer, datetime], None]


def sweep(
    factory: sessionmaker[Session],
    now: datetime,
    handle: Handler,
    batch: int = 200,
    max_batches: int = 50,
) -> int:
    """Fire every timer due at ``now``; returns how many fired."""
    if now.tzinfo is None:
        raise ValueError("now needs a time zone")
    fired = 0
    for _ in range(max_batches):
        with factory() as session:
            rows = session.execute(due_query(now, batch)).all()
            if not rows:
                break
            for row in rows:
                timer = DueTimer(row.id, row.instance_id, row.kind, row.fire_at, row.payload)
                try:
                    with session.begin_nested():
                        handle(session, timer, now)
                        session.execute(
                            update(TIMERS).where(TIMERS.c.id == row.id).values(fired_at=now)
                        )
                    fired += 1
                    metrics.TIMERS_FIRED.labels(row.kind).inc()
                except Exception as exc:  # one bad timer must not hold up the rest
                    log.exception("timer %s (%s) failed; retrying later", row.id, row.kind)
                    metrics.TIMER_FAILURES.labels(row.kind).inc()
                    delay = min(RETRY_MAX, RETRY_BASE * (2 ** min(row.attempts, 10)))
                    session.execute(
                        update(TIMERS)
                        .where(TIMERS.c.id == row.id)
                        .values(
                            attempts=row.attempts + 1,
                            last_error=str(exc)[:2000],
                            fire_at=now + delay,
                        )
                    )
            session.commit()
        if len(rows) < batch:
            break
    return fired
