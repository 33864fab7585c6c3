"""What every Docflow service has: database session, outbox, caller, metrics, log ids,
settings, health, and the on-demand timer sweep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.auth import ADMIN_ROLE, Caller, Identity, require_role
from services.config import ServiceSettings
from services.db import Database
from services.entrypoints import rpc
from services.errors import Forbidden
from services.logs import LogContext
from services.metrics import EntrypointMetrics
from services.outbox import EventOutbox, OutboxWriter
from services.validation import parse_moment


class SettingsProvider(DependencyProvider):  # type: ignore[misc]
    """The service's settings object, as the runner built it (``config["SETTINGS"]``)."""

    def get_dependency(self, worker_ctx: Any) -> ServiceSettings:
        found = self.container.config.get("SETTINGS")
        if isinstance(found, ServiceSettings):
            return found
        return ServiceSettings(service_name=f"{self.container.service_name}_svc")


class ContextData(DependencyProvider):  # type: ignore[misc]
    """The call's nameko context data (identity, correlation id, idempotency key)."""

    def get_dependency(self, worker_ctx: Any) -> dict[str, Any]:
        data: dict[str, Any] = dict(worker_ctx.context_data)
        return data


class ServiceBase:
    """Mixed into every service class; the subclass sets ``name``."""

    name: str
    # Declared as what the worker receives; nameko replaces each provider per call.
    db: Session = Database()
    events: OutboxWriter = EventOutbox()
    caller: Identity = Caller()
    settings: ServiceSettings = SettingsProvider()
    call_context: dict[str, Any] = ContextData()
    metrics: Any = EntrypointMetrics()
    log_context: Any = LogContext()

    @rpc(public=True)
    def ping(self, payload: Any = None) -> Any:
        """Echo without touching the database: the RPC path alone (bench/rpc.py)."""
        return payload

    @rpc(public=True)
    def health(self) -> dict[str, Any]:
        """Answers when the service is up and its database answers (readiness)."""
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "status": "ok"}

    @rpc
    def run_timers(self, now: str | None = None) -> dict[str, Any]:
        """Fire what is due now: reminders, escalations, waits, sweeps (administrators).

        An explicit ``now`` (simulated time for tests and demos) is accepted only
        where ``DOCFLOW_ALLOW_SIMULATED_TIME`` is on.
        """
        require_role(self.caller, (ADMIN_ROLE,), "Running the timers")
        moment = parse_moment(now, "now")
        if moment is not None and not self.settings.allow_simulated_time:
            raise Forbidden("an explicit time is allowed only with DOCFLOW_ALLOW_SIMULATED_TIME")
        fired = self.sweep_due(moment or datetime.now(UTC))
        return {"service": self.name, "fired": fired}

    def sweep_due(self, now: datetime) -> int:
        """A service with timers or periodic sweeps fires them here; returns how many."""
        return 0
