"""Correlation ids and Prometheus metrics for every HTTP request."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import Counter, Histogram

REQUESTS = Counter("docflow_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "docflow_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

CORRELATION_HEADER = "X-Correlation-ID"


async def observe(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    incoming = request.headers.get(CORRELATION_HEADER, "")
    # Only a sane value is taken from outside; anything else gets a fresh id.
    correlation_id = incoming if 8 <= len(incoming) <= 64 and incoming.isascii() else ""
    request.state.correlation_id = correlation_id or uuid.uuid4().hex
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "unmatched")
    LATENCY.labels(request.method, template).observe(time.perf_counter() - started)
    REQUESTS.labels(request.method, template, str(response.status_code)).inc()
    response.headers[CORRELATION_HEADER] = request.state.correlation_id
    return response
