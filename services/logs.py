"""Structured JSON logs carrying the call id and the correlation id.

The ids live in context variables set by ``LogContext`` when a worker starts;
every greenthread (eventlet on greenlet) has its own context, so concurrent
workers never see each other's ids.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from nameko.extensions import DependencyProvider

_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)
_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
_service: str = ""
_access = logging.getLogger("docflow.access")


def current_call_id() -> str | None:
    return _call_id.get()


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def bind_ids(call_id: str | None, correlation_id: str | None) -> None:
    _call_id.set(call_id)
    _correlation_id.set(correlation_id)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if _service:
            entry["service"] = _service
        call_id = _call_id.get()
        if call_id:
            entry["call_id"] = call_id
        correlation_id = _correlation_id.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(service: str, level: str = "INFO") -> None:
    """Send every log record to stderr as one JSON object per line."""
    global _service
    _service = service
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("amqp", "kombu", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class LogContext(DependencyProvider):  # type: ignore[misc]
    """Binds the worker's call id and correlation id for every log line it writes,
    and writes one access-log line per entrypoint call."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def worker_setup(self, worker_ctx: Any) -> None:
        bind_ids(worker_ctx.call_id, worker_ctx.context_data.get("correlation_id"))
        self._started[worker_ctx.call_id] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._started.pop(worker_ctx.call_id, None)
        fields: dict[str, Any] = {
            "entrypoint": worker_ctx.entrypoint.method_name,
            "outcome": "ok" if exc_info is None else type(exc_info[1]).__name__,
            "user_id": worker_ctx.context_data.get("user_id"),
        }
        if started is not None:
            fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        _access.info("call", extra={"fields": fields})

    def worker_teardown(self, worker_ctx: Any) -> None:
        bind_ids(None, None)
