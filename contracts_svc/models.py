"""Tables of contracts_svc's database: contract cards, the register's yearly
counters, and the route engine's tables (instances, timeline, tasks, timers)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
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

STATUSES = (
    "draft",
    "in_approval",
    "returned",
    "rejected",
    "signing",
    "registration",
    "awaiting_original",
    "completed",
    "cancelled",
)


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="ck_contracts_status"
        ),
        CheckConstraint("amount >= 0", name="ck_contracts_amount"),
        UniqueConstraint("register_year", "register_seq", name="uq_contracts_register"),
        Index("ix_contracts_created", "created_at", "id"),
        Index("ix_contracts_counterparty", "counterparty_id"),
        Index("ix_contracts_participants", "participants", postgresql_using="gin"),
        # Trigram indexes for the list's q= search: migration 0004 (they need pg_trgm).
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    #: The contract's own number as agreed with the counterparty (may be empty in a draft).
    number: Mapped[str | None] = mapped_column(String(60))
    contract_type: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(1000))
    counterparty_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    counterparty_name: Mapped[str] = mapped_column(String(300))
    legal_entity_id: Mapped[str | None] = mapped_column(String(64))
    curator_id: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[str] = mapped_column(String(64))
    contract_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    #: The contract's term: valid until this day (None: open-ended).
    valid_until: Mapped[date | None] = mapped_column(Date)
    route_id: Mapped[str] = mapped_column(String(80))
    file_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    #: Who must act now (mirrors the route instance).
    responsible: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    #: Everyone who has had a task on this contract: they keep seeing it.
    participants: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    #: The statutory-document check made at the last submission.
    documents_check: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    instance_id: Mapped[str | None] = mapped_column(String(64))
    register_year: Mapped[int | None] = mapped_column(Integer)
    register_seq: Mapped[int | None] = mapped_column(Integer)
    register_number: Mapped[str | None] = mapped_column(String(30), unique=True)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    original_storage_place: Mapped[str | None] = mapped_column(String(300))
    original_received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_scan_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)


class RegisterCounter(Base):
    """The last register number given in a year; the row lock serialises registrations."""

    __tablename__ = "register_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
