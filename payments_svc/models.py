"""Tables of payments_svc's database: payment requests, payment registries with
their items, the stage log (freeze, documents requested), yearly number
counters, and the route engine's tables (instances, timeline, tasks, timers)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.workflow.store import workflow_tables


class Base(DeclarativeBase):
    pass


WORKFLOW = workflow_tables(Base.metadata)

REQUEST_STATUSES = (
    "in_approval",
    "in_payment",
    "frozen",
    "documents_requested",
    "paid",
    "rejected",
    "cancelled",
)
REGISTRY_STATUSES = (
    "draft",
    "in_approval",
    "composing",
    "ceo_approval",
    "approved",
    "paid",
    "rejected",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PaymentRequest(Base):
    __tablename__ = "payment_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="ck_payment_requests_status"),
        CheckConstraint("amount > 0", name="ck_payment_requests_amount"),
        UniqueConstraint("number_year", "number_seq", name="uq_payment_requests_number"),
        Index("ix_payment_requests_created", "created_at", "id"),
        Index("ix_payment_requests_counterparty", "counterparty_id"),
        Index("ix_payment_requests_participants", "participants", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    number_year: Mapped[int] = mapped_column(Integer)
    number_seq: Mapped[int] = mapped_column(Integer)
    counterparty_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    counterparty_name: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    #: Статья затрат.
    cost_item: Mapped[str] = mapped_column(String(200))
    contract_id: Mapped[str | None] = mapped_column(String(64))
    due_date: Mapped[date | None] = mapped_column(Date)
    invoice_file_id: Mapped[str] = mapped_column(String(64))
    #: Назначение платежа as it goes to the bank.
    purpose: Mapped[str] = mapped_column(String(210))
    legal_entity_id: Mapped[str | None] = mapped_column(String(64))
    #: The rejected request this one replaces after rework.
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    initiator_id: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[str] = mapped_column(String(64))
    #: The head of the initiator's department when the request was made (visibility).
    department_head_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(30))
    #: The accountants' deadline (the due date, or the noon rule).
    payment_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    responsible: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    participants: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    instance_id: Mapped[str | None] = mapped_column(String(64))
    #: Set while the request is frozen or waits for documents (see ``stages``).
    stage: Mapped[str | None] = mapped_column(String(30))
    stage_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stage_by: Mapped[str | None] = mapped_column(String(64))
    stage_comment: Mapped[str | None] = mapped_column(String(2000))
    document_file_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    registry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    rejection_reason: Mapped[str | None] = mapped_column(String(60))
    rejection_comment: Mapped[str | None] = mapped_column(String(4000))
    payment_date: Mapped[date | None] = mapped_column(Date)
    payment_order_file_id: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)


class StageEntry(Base):
    """Freeze, unfreeze, documents requested and provided: the card's own history,
    shown next to the route's timeline (the engine's timeline is hash-chained
    and written only by the engine)."""

    __tablename__ = "payment_stage_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payment_requests.id"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(String(2000))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class PaymentRegistry(Base):
    __tablename__ = "payment_registries"
    __table_args__ = (
        CheckConstraint(_in("status", REGISTRY_STATUSES), name="ck_payment_registries_status"),
        UniqueConstraint("number_year", "number_seq", name="uq_payment_registries_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    number_year: Mapped[int] = mapped_column(Integer)
    number_seq: Mapped[int] = mapped_column(Integer)
    legal_entity_id: Mapped[str] = mapped_column(String(64))
    payment_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    initiator_id: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[str] = mapped_column(String(64))
    department_head_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    responsible: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    participants: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    instance_id: Mapped[str | None] = mapped_column(String(64))
    paid_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)


class RegistryItem(Base):
    """A planned payment: the request as it stood when collected (amount, payee)."""

    __tablename__ = "payment_registry_items"
    __table_args__ = (UniqueConstraint("registry_id", "request_id", name="uq_registry_items"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    registry_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payment_registries.id"), index=True
    )
    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payment_requests.id")
    )
    position: Mapped[int] = mapped_column(Integer)
    #: False once the financial director dropped it from the final list.
    included: Mapped[bool] = mapped_column(Boolean, default=True)
    excluded_by: Mapped[str | None] = mapped_column(String(64))
    excluded_comment: Mapped[str | None] = mapped_column(String(2000))


class NumberCounter(Base):
    """The last number given per kind and year; the row lock serialises numbering."""

    __tablename__ = "payment_number_counters"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
