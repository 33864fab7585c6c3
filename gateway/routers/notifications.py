"""/api/v1/notifications: the caller's in-app inbox (the live feed is gateway/routers/events.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gateway.deps import Calls
from gateway.errors import PROBLEM_RESPONSES
from services.schemas import notify as schemas

router = APIRouter(
    prefix="/api/v1/notifications",
    tags=["notifications"],
    responses={401: PROBLEM_RESPONSES[401]},
)


class Marked(BaseModel):
    marked: int


@router.get(
    "",
    response_model=schemas.NotificationPage,
    summary="The caller's notifications, newest first (keyset pages), with the unread count",
)
async def list_notifications(
    calls: Calls,
    unread: Annotated[bool, Query(description="only the unread ones")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    return await calls("notify", "list_notifications", unread=unread, limit=limit, cursor=cursor)


@router.post(
    "/read-all",
    response_model=Marked,
    summary="Mark every notification of the caller read",
)
async def mark_all_read(calls: Calls) -> Any:
    return await calls("notify", "mark_all_read")


@router.post(
    "/{notification_id}/read",
    response_model=schemas.Notification,
    summary="Mark one of the caller's notifications read (another person's is 404)",
    responses={404: PROBLEM_RESPONSES[404]},
)
async def mark_read(calls: Calls, notification_id: str) -> Any:
    return await calls("notify", "mark_read", notification_id=notification_id)
