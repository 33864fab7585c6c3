"""payments_svc: payment requests, registries, the stage log, number counters and the
route engine's tables.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from payments_svc import models
from services.migrations import create_workflow_tables, drop_workflow_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = (
    "payment_requests",
    "payment_stage_log",
    "payment_registries",
    "payment_registry_items",
    "payment_number_counters",
)


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        models.Base.metadata.tables[name].create(bind)
    create_workflow_tables()


def downgrade() -> None:
    drop_workflow_tables()
    for name in reversed(TABLES):
        op.drop_table(name)
