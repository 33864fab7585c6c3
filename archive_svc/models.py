"""Tables of archive_svc's database: folders, uploads, files and their versions,
grants, the append-only audit trail and the paper originals registry.

The bytes live in object storage; these rows describe them. ``files.search``
is a generated ``tsvector`` (Russian configuration) over the card, with a
GIN index; ``audit_log`` refuses UPDATE and DELETE by a trigger (migration 0002).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
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
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


#: The card text the full-text search covers, weighted: title and number first.
SEARCH_EXPRESSION = (
    "setweight(to_tsvector('russian', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('russian', coalesce(number, '')), 'A') || "
    "setweight(to_tsvector('russian', coalesce(counterparty_name, '')), 'B') || "
    "setweight(to_tsvector('russian', coalesce(description, '')), 'C') || "
    "setweight(to_tsvector('russian', coalesce(original_name, '')), 'D')"
)


class Folder(Base):
    __tablename__ = "folders"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    path: Mapped[str] = mapped_column(String(400), unique=True)
    parent_path: Mapped[str | None] = mapped_column(String(400), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    department_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    counterparty_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Upload(Base):
    """An authorised upload: the key is allocated before the gateway streams the bytes."""

    __tablename__ = "uploads"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    object_key: Mapped[str] = mapped_column(String(500), unique=True)
    folder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("folders.id"))
    #: Set when the upload is a new version of an existing file.
    file_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("files.id"))
    original_name: Mapped[str] = mapped_column(String(1000))
    declared_size: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|completed|aborted
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class File(Base):
    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_search", "search", postgresql_using="gin"),
        Index("ix_files_created", "created_at", "id"),
        Index(
            "ix_files_folder_path",
            "folder_path",
            postgresql_ops={"folder_path": "text_pattern_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    folder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("folders.id"), index=True)
    folder_path: Mapped[str] = mapped_column(String(400))
    department_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    counterparty_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    counterparty_name: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(500))
    number: Mapped[str | None] = mapped_column(String(100), index=True)
    doc_type: Mapped[str | None] = mapped_column(String(40), index=True)
    document_date: Mapped[date | None] = mapped_column(Date, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    original_name: Mapped[str] = mapped_column(String(1000))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_EXPRESSION, persisted=True))


class FileVersion(Base):
    """Every version ever stored; a new one never replaces an old one (own key each)."""

    __tablename__ = "file_versions"
    __table_args__ = (UniqueConstraint("file_id", "version_no", name="uq_file_versions_no"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files.id"))
    version_no: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(500), unique=True)
    s3_version_id: Mapped[str | None] = mapped_column(String(200))
    etag: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(200))
    original_name: Mapped[str] = mapped_column(String(1000))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Grant(Base):
    """A person who takes part in a process reads this file, or everything under this folder."""

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint("(file_id IS NULL) <> (folder_path IS NULL)", name="ck_grants_target"),
        Index(
            "uq_grants_file",
            "user_id",
            "file_id",
            unique=True,
            postgresql_where=text("file_id IS NOT NULL"),
        ),
        Index(
            "uq_grants_folder",
            "user_id",
            "folder_path",
            unique=True,
            postgresql_where=text("folder_path IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("files.id"))
    folder_path: Mapped[str | None] = mapped_column(String(400))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditEntry(Base):
    """Append-only: who read or wrote what, when. UPDATE and DELETE fail (a trigger)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_file", "file_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    file_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version_no: Mapped[int | None] = mapped_column(Integer)
    folder_path: Mapped[str | None] = mapped_column(String(400))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    correlation_id: Mapped[str | None] = mapped_column(String(64))


class Original(Base):
    """A paper original: which document, who received it, when, where it is kept."""

    __tablename__ = "originals"
    __table_args__ = (Index("ix_originals_document", "document_kind", "document_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    document_kind: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[str] = mapped_column(String(100))
    received_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    storage_place: Mapped[str] = mapped_column(String(300))
    file_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("files.id"))
    note: Mapped[str] = mapped_column(String(1000), default="")
    registered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
