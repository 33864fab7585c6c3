"""Alembic, one migration history per service database.

Each service keeps ``<svc>/migrations/versions/``; its ``env.py`` is two
lines that call ``run_env`` with the service's metadata. ``upgrade`` is what
``python -m services.runner migrate <svc>`` and the dev runner call.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, engine_from_config, pool, text

from services.db import ensure_database
from services.outbox import infrastructure_tables

#: Advisory lock key held while a database migrates ("docflow" in ASCII).
MIGRATION_LOCK = 0x646F63666C6F77


def alembic_config(service_package: str, database_url: str) -> Config:
    package = importlib.import_module(service_package)
    assert package.__file__ is not None
    script_location = Path(package.__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    # ConfigParser interpolation would eat '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(service_package: str, database_url: str) -> None:
    ensure_database(database_url)
    command.upgrade(alembic_config(service_package, database_url), "head")


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py`` (online mode only)."""
    config = context.config
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            # Replicas starting together (init containers) migrate one at a time; the
            # others then find the schema at head and do nothing.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()


def create_infrastructure_tables() -> None:
    """For each service's first migration: the outbox and processed-event tables."""
    from alembic import op

    metadata = MetaData()
    infrastructure_tables(metadata)
    metadata.create_all(op.get_bind())


def drop_infrastructure_tables() -> None:
    from alembic import op

    op.drop_table("processed_events")
    op.drop_table("outbox")


def create_workflow_tables() -> None:
    """For a process service's migration: instances, the append-only timeline, the
    open-task projection and the durable timers (services/workflow/store.py)."""
    from alembic import op

    from services.workflow.store import install_append_only_trigger, workflow_tables

    metadata = MetaData()
    workflow_tables(metadata)
    metadata.create_all(op.get_bind())
    install_append_only_trigger(op.get_bind())


def drop_workflow_tables() -> None:
    from alembic import op

    for table in (
        "workflow_timers",
        "workflow_open_tasks",
        "workflow_timeline",
        "workflow_instances",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS workflow_timeline_append_only()")
