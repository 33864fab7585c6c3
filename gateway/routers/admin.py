"""/api/v1/admin: operations for administrators (and tests or demos in simulated time)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from gateway.deps import Calls, Settings
from gateway.errors import PROBLEM_RESPONSES
from gateway.routers.health import SERVICES
from services.errors import Forbidden, InvalidInput

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    responses={401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403]},
)


class RunTimers(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}, {"now": "2026-11-25T11:00:00+03:00"}]},
    )
    now: datetime | None = Field(
        default=None,
        description="Simulated time; accepted only where DOCFLOW_ALLOW_SIMULATED_TIME is on",
    )


class TimersRun(BaseModel):
    now: datetime | None
    fired: dict[str, int]


@router.post(
    "/timers/run",
    response_model=TimersRun,
    summary="Fire every service's due reminders, escalations, waits and sweeps now",
)
async def run_timers(
    calls: Calls, settings: Settings, body: Annotated[RunTimers | None, Body()] = None
) -> Any:
    now = body.now if body else None
    if now is not None and not settings.allow_simulated_time:
        raise Forbidden("an explicit time is allowed only with DOCFLOW_ALLOW_SIMULATED_TIME")
    if now is not None and now.tzinfo is None:
        raise InvalidInput(
            "now needs a time zone offset", [{"loc": ["body", "now"], "msg": "naive"}]
        )
    moment = now.isoformat() if now else None
    answers = await asyncio.gather(*(calls(s, "run_timers", now=moment) for s in SERVICES))
    return TimersRun(now=now, fired={a["service"]: a["fired"] for a in answers})
