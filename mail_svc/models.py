"""Tables of mail_svc's database: letters, the journals' yearly counters, the jobs
that leave the database (e-mail, archive filing), and the route engine's tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.workflow.store import workflow_tables


class Base(DeclarativeBase):
    pass


WORKFLOW = workflow_tables(Base.metadata)

DIRECTIONS = ("incoming", "outgoing")
STATUSES = (
    "draft",
    "review",
    "preparation",
    "approval",
    "registration",
    "signing",
    "dispatch",
    "awaiting_reaction",
    "reaction_check",
    "returned",
    "rejected",
    "completed",
    "cancelled",
)
JOB_KINDS = ("email", "filing")
JOB_STATES = ("pending", "running", "done", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Letter(Base):
    __tablename__ = "letters"
    __table_args__ = (
        CheckConstraint(_in("direction", DIRECTIONS), name="ck_letters_direction"),
        CheckConstraint(_in("status", STATUSES), name="ck_letters_status"),
        #: A counterparty's letter (its number and date) is registered once.
        Index(
            "uq_letters_incoming_sender_number",
            "counterparty_id",
            "document_number",
            "document_date",
            unique=True,
            postgresql_where=text("direction = 'incoming' AND document_date IS NOT NULL"),
        ),
        UniqueConstraint(
            "legal_entity_id", "direction", "journal_year", "journal_seq", name="uq_letters_journal"
        ),
        Index("ix_letters_created", "created_at", "id"),
        Index("ix_letters_counterparty", "counterparty_id"),
        Index("ix_letters_participants", "participants", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    direction: Mapped[str] = mapped_column(String(10))
    legal_entity_id: Mapped[str] = mapped_column(String(64))
    legal_entity_name: Mapped[str] = mapped_column(String(300))
    counterparty_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    counterparty_name: Mapped[str] = mapped_column(String(500))
    counterparty_category: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(500))
    #: Incoming: the sender's number and date of the letter.
    document_number: Mapped[str | None] = mapped_column(String(60))
    document_date: Mapped[date | None] = mapped_column(Date)
    received_date: Mapped[date | None] = mapped_column(Date)
    control_date: Mapped[date | None] = mapped_column(Date)
    #: Incoming: the responsible employee; outgoing: the executor.
    responsible_id: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[str] = mapped_column(String(64))
    scan_file_id: Mapped[str | None] = mapped_column(String(64))
    letter_file_id: Mapped[str | None] = mapped_column(String(64))
    file_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    email_to: Mapped[list[str]] = mapped_column(ARRAY(String(254)), default=list)
    journal_year: Mapped[int | None] = mapped_column(Integer)
    journal_seq: Mapped[int | None] = mapped_column(Integer)
    journal_number: Mapped[str | None] = mapped_column(String(30))
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply_needed: Mapped[bool | None] = mapped_column()
    reply_to_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("letters.id")
    )
    reply_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20))
    responsible: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    #: Everyone who has had a task on the letter: they keep seeing it.
    participants: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    instance_id: Mapped[str | None] = mapped_column(String(64))
    delivery: Mapped[str | None] = mapped_column(String(10))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archive_folder: Mapped[str | None] = mapped_column(String(400))
    archived_file_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    filed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)


class JournalCounter(Base):
    """The last journal number given per legal entity, direction and year.

    Incremented with INSERT … ON CONFLICT DO UPDATE … RETURNING in the
    registering transaction: the row stays locked until commit, so two
    registrations never get one number, and a rollback gives the number back.
    """

    __tablename__ = "journal_counters"

    legal_entity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class LetterJob(Base):
    """Work that leaves the database (an e-mail, copying files into the archive).

    Written in the transaction that decides it; done after commit by whoever
    claims it (``FOR UPDATE SKIP LOCKED``), retried with back-off until done.
    ``done`` is final: a job is never performed again once recorded as done.
    """

    __tablename__ = "letter_jobs"
    __table_args__ = (
        CheckConstraint(_in("kind", JOB_KINDS), name="ck_letter_jobs_kind"),
        CheckConstraint(_in("state", JOB_STATES), name="ck_letter_jobs_state"),
        UniqueConstraint("letter_id", "kind", name="uq_letter_jobs_letter_kind"),
        Index("ix_letter_jobs_due", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    letter_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("letters.id"))
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    #: E-mail: the Message-ID fixed when the job is made, so every attempt sends the same.
    message_id: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Progress that must survive a retry (filing: source file id -> archived file id).
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
