"""payments_svc: the Idempotency-Key table (services/idempotency.py).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from services.idempotency import create_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table()


def downgrade() -> None:
    op.drop_table("idempotency_keys")
