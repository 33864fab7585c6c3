"""mail_svc: letters, journal counters, letter jobs, the route engine's tables.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from mail_svc import models
from services.migrations import create_workflow_tables, drop_workflow_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("letters", "journal_counters", "letter_jobs")


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        models.Base.metadata.tables[name].create(bind)
    create_workflow_tables()


def downgrade() -> None:
    drop_workflow_tables()
    for name in reversed(TABLES):
        op.drop_table(name)
