"""SQLAlchemy 2 engine and the nameko dependency that gives each worker a session.

Why entrypoints commit explicitly instead of the provider committing in
``worker_result``: nameko sends the RPC reply *before* it calls
``worker_result``, so a commit there could fail after the caller was told
"done". The entrypoint commits; ``worker_teardown`` rolls back whatever was
not committed (an exception means nothing was written) and closes the session.
After every commit the provider wakes the outbox relay so events leave at once.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DATABASE_URL_KEY = "DATABASE_URL"


def make_engine(url: str, **kwargs: Any) -> Engine:
    options: dict[str, Any] = {"pool_pre_ping": True, "future": True}
    options.update(kwargs)
    return create_engine(url, **options)


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` when it does not exist. True if created."""
    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise ValueError(f"no database name in {parsed.render_as_string(hide_password=True)}")
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if exists:
                return False
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            return True
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work outside nameko (scripts, seeding, tests): commit or roll back."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Database(DependencyProvider):  # type: ignore[misc]
    """Injects a fresh ``Session`` per worker; the entrypoint calls ``commit()``."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.sessionmaker: sessionmaker[Session] | None = None
        self._sessions: weakref.WeakKeyDictionary[Any, Session] = weakref.WeakKeyDictionary()
        self._commit_listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def setup(self) -> None:
        config = self.container.config
        self.engine = make_engine(
            config[DATABASE_URL_KEY],
            pool_size=int(config.get("DB_POOL_SIZE", 5)),
            max_overflow=int(config.get("DB_MAX_OVERFLOW", 10)),
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessionmaker, "after_commit", self._after_commit)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Register a callable run after every successful commit (the outbox relay)."""
        with self._lock:
            self._commit_listeners.append(listener)

    def _after_commit(self, session: Session) -> None:
        # Only a transaction that staged events needs the relay (see services.outbox).
        if not session.info.pop("docflow.outbox_dirty", False):
            return
        for listener in list(self._commit_listeners):
            listener()

    def new_session(self) -> Session:
        assert self.sessionmaker is not None, "Database used before setup()"
        return self.sessionmaker()

    def get_dependency(self, worker_ctx: Any) -> Session:
        session = self.new_session()
        self._sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx: Any) -> None:
        session = self._sessions.pop(worker_ctx, None)
        if session is not None:
            session.rollback()
            session.close()
