"""org_svc: people, departments, roles, absences, legal entities, calendar overrides.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from org_svc.roles import ROLES_V1
from services.migrations import create_infrastructure_tables, drop_infrastructure_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_infrastructure_tables()
    op.create_table(
        "departments",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("parent_id", UUID(as_uuid=True), sa.ForeignKey("departments.id")),
        sa.Column("head_user_id", UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("username", sa.String(63), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column(
            "department_id", UUID(as_uuid=True), sa.ForeignKey("departments.id"), nullable=False
        ),
        sa.Column("position", sa.String(200), nullable=False, server_default=""),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_index("ix_users_department_id", "users", ["department_id"])
    op.create_foreign_key(
        "fk_departments_head_user", "departments", "users", ["head_user_id"], ["id"]
    )
    roles = op.create_table(
        "roles",
        sa.Column("code", sa.String(63), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
    )
    op.bulk_insert(roles, [{"code": c, "title": t} for c, t in ROLES_V1.items()])
    op.create_table(
        "user_roles",
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("role_code", sa.String(63), sa.ForeignKey("roles.code"), primary_key=True),
    )
    op.create_index("ix_user_roles_role_code", "user_roles", ["role_code"])
    op.create_table(
        "absences",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("deputy_id", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False, server_default="vacation"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("ends_at > starts_at", name="ck_absences_period"),
        sa.CheckConstraint("user_id <> deputy_id", name="ck_absences_not_self"),
    )
    op.create_index("ix_absences_user_period", "absences", ["user_id", "starts_at", "ends_at"])
    op.create_table(
        "legal_entities",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("short_name", sa.String(120), nullable=False),
        sa.Column("inn", sa.String(12), nullable=False, unique=True),
        sa.Column("kpp", sa.String(9)),
    )
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
    )


def downgrade() -> None:
    for table in ("calendar_overrides", "legal_entities", "absences", "user_roles", "roles"):
        op.drop_table(table)
    op.drop_constraint("fk_departments_head_user", "departments")
    op.drop_table("users")
    op.drop_table("departments")
    drop_infrastructure_tables()
