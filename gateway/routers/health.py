"""Liveness, readiness and metrics: the only endpoints without authentication."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.rpc import RemoteCallError, ServiceUnavailable

router = APIRouter(tags=["health"])

#: nameko service names the gateway needs before it calls itself ready.
SERVICES = ("org", "counterparty", "contracts", "payments", "mail", "archive", "notify")


@router.get("/healthz", summary="The gateway process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The broker and every service answer",
    responses={503: {"description": "Something is not ready; the body says what"}},
)
async def readyz(request: Request) -> JSONResponse:
    rpc = request.app.state.rpc
    timeout = request.app.state.settings.readiness_timeout_seconds

    async def check(service: str) -> tuple[str, str]:
        try:
            answer: dict[str, Any] = await rpc.call(service, "health", timeout=timeout)
            return service, str(answer.get("status", "unknown"))
        except (ServiceUnavailable, RemoteCallError) as exc:
            return service, f"unavailable: {exc}"

    results = dict(await asyncio.gather(*(check(s) for s in SERVICES)))
    ready = rpc.connected and all(v == "ok" for v in results.values())
    body = {
        "status": "ready" if ready else "not ready",
        "broker": rpc.connected,
        "services": results,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics of the gateway",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
