"""contracts_svc: trigram indexes for the list's ``q=`` search.

``q`` matches inside the subject, both numbers and the counterparty's name
(ILIKE '%…%'), which a b-tree cannot serve: at 1M cards a rare term took
seconds as a sequential scan, and about 10 ms with these indexes
(bench/cards.py, bench/RESULTS.md). pg_trgm ships with PostgreSQL; creating
the extension needs a role allowed to (the migration Job's).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = ("subject", "number", "register_number", "counterparty_name")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS ix_contracts_{column}_trgm "
            f"ON contracts USING gin ({column} gin_trgm_ops)"
        )


def downgrade() -> None:
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_contracts_{column}_trgm")
