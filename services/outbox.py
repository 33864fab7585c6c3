"""Transactional outbox, its relay, and idempotent event handling.

A service never publishes an event directly. It adds a row to its ``outbox``
table in the same transaction as the state change (``OutboxWriter.add``); the
relay (a greenthread inside the service container) publishes unpublished rows
to the service's nameko event exchange with publisher confirms and marks them
published. A crash between commit and publish only delays the event; a crash
between publish and marking re-sends it, which is why every consumer records
the event ids it has handled (``first_delivery``) in the same transaction as
its own effects.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several replicas of one
service never publish the same row at the same moment.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.orm import Session

from services import metrics
from services.background import BackgroundLoop
from services.logs import current_correlation_id

log = logging.getLogger(__name__)

EVENT_SCHEMA_VERSION = 1
RELAY_BATCH = 200


def infrastructure_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and processed-event tables, declared on a service's metadata.

    Every service database has both; the initial Alembic migration of each
    service creates them from this definition.
    """
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("event_type", String(120), nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, processed


#: The same two tables exist in every service database; Core tables are not
#: bound to an engine, so one definition serves every session.
INFRA_METADATA = MetaData()
OUTBOX, PROCESSED_EVENTS = infrastructure_tables(INFRA_METADATA)

#: Set in ``Session.info`` when a transaction staged an event, so that only
#: those commits wake the relay.
OUTBOX_DIRTY = "docflow.outbox_dirty"


@dataclass(frozen=True)
class Envelope:
    """What travels on the wire for every domain event."""

    event_id: str
    event_type: str
    source: str
    occurred_at: str
    data: dict[str, Any]
    correlation_id: str | None = None
    schema_version: int = EVENT_SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "source": self.source,
            "occurred_at": self.occurred_at,
            "schema_version": self.schema_version,
            "correlation_id": self.correlation_id,
            "data": self.data,
        }


def add_event(
    session: Session,
    source: str,
    event_type: str,
    data: dict[str, Any],
    correlation_id: str | None = None,
) -> Envelope:
    """Stage an event in the caller's transaction. It leaves only if the transaction commits."""
    envelope = Envelope(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        source=source,
        occurred_at=datetime.now(UTC).isoformat(),
        data=data,
        correlation_id=correlation_id or current_correlation_id(),
    )
    headers = {"correlation_id": envelope.correlation_id} if envelope.correlation_id else {}
    session.info[OUTBOX_DIRTY] = True
    session.execute(
        OUTBOX.insert().values(
            event_id=uuid.UUID(envelope.event_id),
            event_type=event_type,
            payload=envelope.to_dict(),
            headers=headers,
        )
    )
    return envelope


def first_delivery(session: Session, envelope: dict[str, Any], handler: str) -> bool:
    """Record that ``handler`` handles this event; False if it already did.

    Call it inside the handler's transaction, before its effects: if the
    transaction rolls back the mark goes with it and a redelivery is handled.
    """
    processed = PROCESSED_EVENTS
    event_id = uuid.UUID(str(envelope["event_id"]))
    inserted = session.execute(
        insert(processed)
        .values(event_id=event_id, handler=handler)
        .on_conflict_do_nothing()
        .returning(processed.c.event_id)
    ).first()
    if inserted is None:
        metrics.DUPLICATE_EVENTS.labels(handler=handler).inc()
    return inserted is not None


class OutboxWriter:
    """What a worker gets: ``self.events.add(session, "user.created", {...})``."""

    def __init__(self, source: str, correlation_id: str | None) -> None:
        self.source = source
        self.correlation_id = correlation_id

    def add(self, session: Session, event_type: str, data: dict[str, Any]) -> Envelope:
        return add_event(session, self.source, event_type, data, self.correlation_id)


class EventOutbox(BackgroundLoop):
    """Injects an ``OutboxWriter`` and runs the relay for the service's database.

    The service must also declare a ``Database`` dependency; the relay uses it.
    """

    identifier = "outbox-relay"

    def setup(self) -> None:
        config = self.container.config
        self.database = self.sibling_database()
        self.database.on_commit(self.wake)
        if self.poll_seconds is None:
            self.poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 0.5))
        self.exchange = get_event_exchange(self.container.service_name, config)
        self.publisher = Publisher(config["AMQP_URI"], use_confirms=True, declare=[self.exchange])

    def get_dependency(self, worker_ctx: Any) -> OutboxWriter:
        correlation_id = worker_ctx.context_data.get("correlation_id")
        return OutboxWriter(self.container.service_name, correlation_id)

    def on_failure(self) -> None:
        metrics.OUTBOX_FAILURES.labels(service=self.container.service_name).inc()

    def run_once(self) -> bool:
        return self.relay_once() >= RELAY_BATCH

    def relay_once(self) -> int:
        """Publish one batch of unpublished events; returns how many left."""
        service = self.container.service_name
        session = self.database.new_session()
        outbox = OUTBOX
        try:
            rows = session.execute(
                select(outbox.c.id, outbox.c.event_type, outbox.c.payload, outbox.c.headers)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(RELAY_BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                headers = {f"nameko.{k}": v for k, v in (row.headers or {}).items() if v}
                self.publisher.publish(
                    row.payload,
                    exchange=self.exchange,
                    routing_key=row.event_type,
                    headers=headers,
                    message_id=str(row.payload.get("event_id")),
                )
            if rows:
                session.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([r.id for r in rows]))
                    .values(published_at=func.now())
                )
            session.commit()
        finally:
            session.close()
        if rows:
            metrics.OUTBOX_PUBLISHED.labels(service=service).inc(len(rows))
        return len(rows)
