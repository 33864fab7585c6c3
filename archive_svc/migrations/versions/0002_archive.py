"""archive_svc: folders, uploads, files, versions, grants, audit trail, paper originals.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEARCH_EXPRESSION = (
    "setweight(to_tsvector('russian', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('russian', coalesce(number, '')), 'A') || "
    "setweight(to_tsvector('russian', coalesce(counterparty_name, '')), 'B') || "
    "setweight(to_tsvector('russian', coalesce(description, '')), 'C') || "
    "setweight(to_tsvector('russian', coalesce(original_name, '')), 'D')"
)


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "folders",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("path", sa.String(400), nullable=False, unique=True),
        sa.Column("parent_path", sa.String(400)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("ref_id", UUID(as_uuid=True), nullable=False),
        sa.Column("department_id", UUID(as_uuid=True), nullable=False),
        sa.Column("counterparty_id", UUID(as_uuid=True)),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _now(),
    )
    op.create_index("ix_folders_parent_path", "folders", ["parent_path"])
    op.create_index("ix_folders_department_id", "folders", ["department_id"])

    op.create_table(
        "files",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("folder_id", UUID(as_uuid=True), sa.ForeignKey("folders.id"), nullable=False),
        sa.Column("folder_path", sa.String(400), nullable=False),
        sa.Column("department_id", UUID(as_uuid=True), nullable=False),
        sa.Column("counterparty_id", UUID(as_uuid=True)),
        sa.Column("counterparty_name", sa.String(300)),
        sa.Column("title", sa.String(500)),
        sa.Column("number", sa.String(100)),
        sa.Column("doc_type", sa.String(40)),
        sa.Column("document_date", sa.Date),
        sa.Column("description", sa.Text),
        sa.Column("original_name", sa.String(1000), nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("search", TSVECTOR, sa.Computed(SEARCH_EXPRESSION, persisted=True)),
    )
    op.create_index("ix_files_search", "files", ["search"], postgresql_using="gin")
    op.create_index("ix_files_created", "files", ["created_at", "id"])
    op.create_index(
        "ix_files_folder_path",
        "files",
        ["folder_path"],
        postgresql_ops={"folder_path": "text_pattern_ops"},
    )
    for column in ("folder_id", "department_id", "counterparty_id", "number", "doc_type"):
        op.create_index(f"ix_files_{column}", "files", [column])
    op.create_index("ix_files_document_date", "files", ["document_date"])

    op.create_table(
        "uploads",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("object_key", sa.String(500), nullable=False, unique=True),
        sa.Column("folder_id", UUID(as_uuid=True), sa.ForeignKey("folders.id"), nullable=False),
        sa.Column("file_id", UUID(as_uuid=True), sa.ForeignKey("files.id")),
        sa.Column("original_name", sa.String(1000), nullable=False),
        sa.Column("declared_size", sa.BigInteger),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("created_by", sa.String(64), nullable=False),
        _now(),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )

    op.create_table(
        "file_versions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("file_id", UUID(as_uuid=True), sa.ForeignKey("files.id"), nullable=False),
        sa.Column("version_no", sa.Integer, nullable=False),
        sa.Column("object_key", sa.String(500), nullable=False, unique=True),
        sa.Column("s3_version_id", sa.String(200)),
        sa.Column("etag", sa.String(200)),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("original_name", sa.String(1000), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _now(),
        sa.UniqueConstraint("file_id", "version_no", name="uq_file_versions_no"),
    )

    op.create_table(
        "grants",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("file_id", UUID(as_uuid=True), sa.ForeignKey("files.id")),
        sa.Column("folder_path", sa.String(400)),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("(file_id IS NULL) <> (folder_path IS NULL)", name="ck_grants_target"),
    )
    op.create_index(
        "uq_grants_file",
        "grants",
        ["user_id", "file_id"],
        unique=True,
        postgresql_where=sa.text("file_id IS NOT NULL"),
    )
    op.create_index(
        "uq_grants_folder",
        "grants",
        ["user_id", "folder_path"],
        unique=True,
        postgresql_where=sa.text("folder_path IS NOT NULL"),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("file_id", UUID(as_uuid=True)),
        sa.Column("version_no", sa.Integer),
        sa.Column("folder_path", sa.String(400)),
        sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("correlation_id", sa.String(64)),
    )
    op.create_index("ix_audit_log_file", "audit_log", ["file_id", "id"])
    # The trail is append-only for everyone, the service's own role included.
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )

    op.create_table(
        "originals",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("document_kind", sa.String(40), nullable=False),
        sa.Column("document_id", sa.String(100), nullable=False),
        sa.Column("received_by", UUID(as_uuid=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("storage_place", sa.String(300), nullable=False),
        sa.Column("file_id", UUID(as_uuid=True), sa.ForeignKey("files.id")),
        sa.Column("note", sa.String(1000), nullable=False, server_default=""),
        sa.Column("registered_by", sa.String(64), nullable=False),
        _now(),
    )
    op.create_index("ix_originals_document", "originals", ["document_kind", "document_id"])


def downgrade() -> None:
    op.drop_table("originals")
    op.execute("DROP TABLE audit_log")  # the triggers go with it
    op.execute("DROP FUNCTION audit_log_append_only()")
    for table in ("grants", "file_versions", "uploads", "files", "folders"):
        op.drop_table(table)
