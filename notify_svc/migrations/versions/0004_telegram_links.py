"""notify_svc: one-time Telegram link tokens and the getUpdates cursor.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from notify_svc import models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("telegram_links", "telegram_cursor")


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        models.Base.metadata.tables[name].create(bind)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
