"""Prometheus instruments shared by every service.

``EntrypointMetrics`` measures every entrypoint (RPC, event handler, timer):
calls, errors by type, latency. The runner serves the default registry on the
service's metrics port.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.timer import Timer
from prometheus_client import Counter, Gauge, Histogram

from services.errors import DocflowError

CALLS = Counter(
    "docflow_entrypoint_calls_total",
    "Entrypoint invocations",
    ["service", "entrypoint", "kind"],
)
ERRORS = Counter(
    "docflow_entrypoint_errors_total",
    "Entrypoint invocations that raised; expected=true for business errors (4xx)",
    ["service", "entrypoint", "kind", "error", "expected"],
)
LATENCY = Histogram(
    "docflow_entrypoint_latency_seconds",
    "Time spent in an entrypoint",
    ["service", "entrypoint", "kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PUBLISHED = Counter(
    "docflow_outbox_published_total", "Events published from the outbox", ["service"]
)
OUTBOX_FAILURES = Counter(
    "docflow_outbox_relay_failures_total", "Outbox relay rounds that failed", ["service"]
)
DUPLICATE_EVENTS = Counter(
    "docflow_duplicate_events_total", "Redelivered events skipped by a handler", ["handler"]
)
TIMERS_FIRED = Counter("docflow_timers_fired_total", "Durable timers fired by a sweep", ["kind"])
TIMER_FAILURES = Counter(
    "docflow_timer_failures_total", "Timer handlers that failed (retried later)", ["kind"]
)


def _kind(entrypoint: Any) -> str:
    if isinstance(entrypoint, Rpc):
        return "rpc"
    if isinstance(entrypoint, EventHandler):
        return "event"
    if isinstance(entrypoint, Timer):
        return "timer"
    return type(entrypoint).__name__.lower()


class EntrypointMetrics(DependencyProvider):  # type: ignore[misc]
    def __init__(self) -> None:
        self._started: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def worker_setup(self, worker_ctx: Any) -> None:
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._started.pop(worker_ctx, None)
        service = self.container.service_name
        entrypoint = worker_ctx.entrypoint.method_name
        kind = _kind(worker_ctx.entrypoint)
        CALLS.labels(service, entrypoint, kind).inc()
        if started is not None:
            LATENCY.labels(service, entrypoint, kind).observe(time.perf_counter() - started)
        if exc_info is not None:
            exc = exc_info[1]
            expected = "true" if isinstance(exc, DocflowError) else "false"
            ERRORS.labels(service, entrypoint, kind, type(exc).__name__, expected).inc()


# The SLA board (deploy/grafana): how many tasks wait per step, how many are late,
# and how long a decision took from assignment. Set by each process service.
OPEN_TASKS = Gauge("docflow_open_tasks", "Open tasks now", ["service", "process", "step"])
OVERDUE_TASKS = Gauge(
    "docflow_overdue_tasks", "Open tasks past their due time", ["service", "process", "step"]
)
TASK_DECISION_SECONDS = Histogram(
    "docflow_task_decision_seconds",
    "From a task's assignment to its decision (wall time)",
    ["service", "process", "step"],
    buckets=(60, 600, 3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 5 * 86400, 14 * 86400),
)

CONTAINER_RESTARTS = Counter(
    "docflow_container_restarts_total",
    "Times the runner started a service's nameko container again after it died",
    ["service"],
)
