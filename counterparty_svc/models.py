"""Tables of counterparty_svc's database: counterparties, statutory documents,
1C import jobs, the product and service catalogue."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


KINDS = ("legal_entity", "sole_proprietor", "self_employed", "foreign", "government_body")
CATEGORIES = ("tenant", "government", "contractor", "supplier", "client")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class Counterparty(Base):
    __tablename__ = "counterparties"
    __table_args__ = (
        _one_of("kind", KINDS, "ck_counterparties_kind"),
        _one_of("category", CATEGORIES, "ck_counterparties_category"),
        # One card per INN+KPP; a person (no KPP) once per INN.
        Index(
            "uq_counterparties_inn_kpp",
            "inn",
            text("coalesce(kpp, '')"),
            unique=True,
            postgresql_where=text("inn IS NOT NULL"),
        ),
        Index("ix_counterparties_short_name_id", "short_name", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    inn: Mapped[str | None] = mapped_column(String(12))
    kpp: Mapped[str | None] = mapped_column(String(9))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    full_name: Mapped[str] = mapped_column(String(500))
    short_name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2), default="RU")
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    bank_accounts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    onec_ref: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    onec_data_version: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    # Optimistic concurrency: an UPDATE carries "WHERE version = <read>"; a
    # concurrent writer's change makes it match nothing (StaleDataError -> 409).
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class StatutoryDocument(Base):
    __tablename__ = "statutory_documents"
    __table_args__ = (
        Index("ix_statutory_documents_counterparty", "counterparty_id"),
        Index(
            "ix_statutory_documents_unannounced_expiry",
            "expires_on",
            postgresql_where=text("expires_on IS NOT NULL AND expiry_announced_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    counterparty_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("counterparties.id"))
    doc_type: Mapped[str] = mapped_column(String(63))
    number: Mapped[str] = mapped_column(String(100), default="")
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    file_id: Mapped[str] = mapped_column(String(100))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    #: Set when counterparty.documents_expired announced this document (once).
    expiry_announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportJob(Base):
    """A bulk import from 1C: progress, and where a resumed run continues."""

    __tablename__ = "onec_import_jobs"
    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'running', 'completed', 'failed')", name="ck_import_state"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    state: Mapped[str] = mapped_column(String(12), default="queued")
    category: Mapped[str] = mapped_column(String(20))
    page_size: Mapped[int] = mapped_column(Integer)
    total: Mapped[int | None] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    #: $skip of the next page.
    position: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    #: The job is being worked on by a runner until this moment (a lease, so a
    #: crashed runner's job is taken over after it lapses).
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    started_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CatalogSection(Base):
    __tablename__ = "catalog_sections"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("catalog_sections.id"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CatalogItem(Base):
    __tablename__ = "catalog_items"
    __table_args__ = (
        CheckConstraint("price >= 0", name="ck_catalog_items_price"),
        Index("ix_catalog_items_section_name_id", "section_id", "name", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    section_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalog_sections.id"))
    name: Mapped[str] = mapped_column(String(300))
    item_type: Mapped[str] = mapped_column(String(10), default="product")
    sku: Mapped[str] = mapped_column(String(60), default="")
    unit_code: Mapped[str] = mapped_column(String(3))
    unit_name: Mapped[str] = mapped_column(String(40))
    price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    vat_rate: Mapped[str] = mapped_column(String(4), default="20")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
