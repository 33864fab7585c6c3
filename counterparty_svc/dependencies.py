"""nameko dependencies of counterparty_svc: its settings, the 1C client, the import runner."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider

from counterparty_svc import importer
from counterparty_svc.onec_client import OneCClient, OneCConfig, OneCError
from counterparty_svc.settings import Settings
from services.background import BackgroundLoop
from services.outbox import OutboxWriter

log = logging.getLogger(__name__)


def settings_of(container: Any) -> Settings:
    found = container.config.get("SETTINGS")
    if isinstance(found, Settings):
        return found
    return Settings(service_name="counterparty_svc")


def onec_config(settings: Settings) -> OneCConfig:
    return OneCConfig(
        base_url=settings.onec_odata_url,
        username=settings.onec_username,
        password=settings.onec_password,
        connect_timeout=settings.onec_connect_timeout_seconds,
        read_timeout=settings.onec_read_timeout_seconds,
        retries=settings.onec_retries,
        backoff_seconds=settings.onec_backoff_seconds,
    )


class ServiceSettingsProvider(DependencyProvider):  # type: ignore[misc]
    def get_dependency(self, worker_ctx: Any) -> Settings:
        return settings_of(self.container)


class OneCProvider(DependencyProvider):  # type: ignore[misc]
    """A 1C client per worker (a ``requests.Session`` is not shared between greenthreads)."""

    def setup(self) -> None:
        self.config = onec_config(settings_of(self.container))

    def get_dependency(self, worker_ctx: Any) -> OneCClient:
        return OneCClient(self.config)


class ImportRunner(BackgroundLoop):
    """Works through import jobs in a managed thread; ``kick()`` wakes it for a new job.

    On start it also picks up jobs a previous process left running (their
    lease lapses) - that is the resume after a restart.
    """

    identifier = "onec-import"

    def __init__(self, poll_seconds: float = 2.0) -> None:
        super().__init__(poll_seconds)

    def setup(self) -> None:
        self.database = self.sibling_database()
        self.config = onec_config(settings_of(self.container))
        self.events = OutboxWriter(self.container.service_name, None)

    def kick(self) -> None:
        self.wake()

    def get_dependency(self, worker_ctx: Any) -> ImportRunner:
        return self

    def run_once(self) -> bool:
        return self.work_once()

    def work_once(self) -> bool:
        """Claim one job and import pages until it is done or we stop; True if a job ran."""
        client = OneCClient(self.config)
        session = self.database.new_session()
        try:
            job = importer.claim(session, datetime.now(UTC))
            session.commit()
            if job is None:
                return False
            log.info("1C import %s from position %d", job.id, job.position)
            while self.running:
                try:
                    finished = importer.run_page(
                        session, self.events, client, job, datetime.now(UTC)
                    )
                except OneCError as exc:
                    session.rollback()
                    importer.note_unavailable(session, job, datetime.now(UTC), str(exc))
                    session.commit()
                    log.warning("1C import %s paused: %s", job.id, exc)
                    return True
                session.commit()
                if finished:
                    log.info("1C import %s completed: %d items", job.id, job.done)
                    return True
                eventlet.sleep(0)  # let RPC workers run between pages
            importer.release(session, job.id, datetime.now(UTC))
            session.commit()
            return True
        finally:
            session.close()
