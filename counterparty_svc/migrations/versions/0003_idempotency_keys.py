"""counterparty_svc: the Idempotency-Key table (services/idempotency.py).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from services.idempotency import create_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table()


def downgrade() -> None:
    op.drop_table("idempotency_keys")
