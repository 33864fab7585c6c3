"""counterparty_svc: counterparties, statutory documents, 1C import jobs, catalogue.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KINDS = "'legal_entity', 'sole_proprietor', 'self_employed', 'foreign', 'government_body'"
CATEGORIES = "'tenant', 'government', 'contractor', 'supplier', 'client'"


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "counterparties",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("inn", sa.String(12)),
        sa.Column("kpp", sa.String(9)),
        sa.Column("ogrn", sa.String(15)),
        sa.Column("full_name", sa.String(500), nullable=False),
        sa.Column("short_name", sa.String(300), nullable=False),
        sa.Column("country", sa.String(2), nullable=False, server_default="RU"),
        sa.Column("addresses", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("bank_accounts", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("contacts", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("onec_ref", UUID(as_uuid=True), unique=True),
        sa.Column("onec_data_version", sa.String(64)),
        sa.Column("verified_at", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_counterparties_kind"),
        sa.CheckConstraint(f"category IN ({CATEGORIES})", name="ck_counterparties_category"),
    )
    op.create_index(
        "uq_counterparties_inn_kpp",
        "counterparties",
        ["inn", sa.text("coalesce(kpp, '')")],
        unique=True,
        postgresql_where=sa.text("inn IS NOT NULL"),
    )
    op.create_index("ix_counterparties_short_name_id", "counterparties", ["short_name", "id"])
    op.create_table(
        "statutory_documents",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "counterparty_id",
            UUID(as_uuid=True),
            sa.ForeignKey("counterparties.id"),
            nullable=False,
        ),
        sa.Column("doc_type", sa.String(63), nullable=False),
        sa.Column("number", sa.String(100), nullable=False, server_default=""),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date),
        sa.Column("file_id", sa.String(100), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("expiry_announced_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_statutory_documents_counterparty", "statutory_documents", ["counterparty_id"]
    )
    op.create_index(
        "ix_statutory_documents_unannounced_expiry",
        "statutory_documents",
        ["expires_on"],
        postgresql_where=sa.text("expires_on IS NOT NULL AND expiry_announced_at IS NULL"),
    )
    op.create_table(
        "onec_import_jobs",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("state", sa.String(12), nullable=False, server_default="queued"),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("page_size", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("errors", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("started_by", sa.String(64), nullable=False),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'completed', 'failed')", name="ck_import_state"
        ),
    )
    op.create_table(
        "catalog_sections",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("parent_id", UUID(as_uuid=True), sa.ForeignKey("catalog_sections.id")),
        sa.Column("name", sa.String(200), nullable=False),
        _now(),
    )
    op.create_table(
        "catalog_items",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "section_id", UUID(as_uuid=True), sa.ForeignKey("catalog_sections.id"), nullable=False
        ),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("item_type", sa.String(10), nullable=False, server_default="product"),
        sa.Column("sku", sa.String(60), nullable=False, server_default=""),
        sa.Column("unit_code", sa.String(3), nullable=False),
        sa.Column("unit_name", sa.String(40), nullable=False),
        sa.Column("price", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="RUB"),
        sa.Column("vat_rate", sa.String(4), nullable=False, server_default="20"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _now(),
        sa.CheckConstraint("price >= 0", name="ck_catalog_items_price"),
    )
    op.create_index(
        "ix_catalog_items_section_name_id", "catalog_items", ["section_id", "name", "id"]
    )


def downgrade() -> None:
    for table in (
        "catalog_items",
        "catalog_sections",
        "onec_import_jobs",
        "statutory_documents",
        "counterparties",
    ):
        op.drop_table(table)
