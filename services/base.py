"""What every Docflow service has: database session, outbox, caller, metrics, log ids, health."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.auth import Caller, Identity
from services.db import Database
from services.entrypoints import rpc
from services.logs import LogContext
from services.metrics import EntrypointMetrics
from services.outbox import EventOutbox, OutboxWriter


class ServiceBase:
    """Mixed into every service class; the subclass sets ``name``."""

    name: str
    # Declared as what the worker receives; nameko replaces each provider per call.
    db: Session = Database()
    events: OutboxWriter = EventOutbox()
    caller: Identity = Caller()
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
