"""Sign-in for demo users, the caller's own card and notification channels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth import issue_token
from gateway.deps import Calls, Settings
from gateway.errors import PROBLEM_RESPONSES
from services.errors import NotFound
from services.schemas.notify import ChannelSettings, ChannelSettingsUpdate, TelegramLink
from services.schemas.org import User

router = APIRouter(prefix="/api/v1", tags=["me"])


class TokenRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "lawyer", "password": "docflow-demo"}]},
    )
    username: Annotated[str, Field(min_length=1, max_length=63)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post(
    "/auth/token",
    response_model=Token,
    summary="A token for a seeded demo person (dev and demo setups only)",
    responses={401: PROBLEM_RESPONSES[401], 404: PROBLEM_RESPONSES[404]},
)
async def token(request: Request, settings: Settings, body: Annotated[TokenRequest, Body()]) -> Any:
    if not settings.demo_tokens:
        raise NotFound("demo sign-in is disabled; use the company's identity provider")
    identity = await request.app.state.rpc.call(
        "org",
        "authenticate",
        {"correlation_id": request.state.correlation_id},
        username=body.username,
        password=body.password,
    )
    return Token(
        access_token=issue_token(settings, identity), expires_in=settings.token_ttl_seconds
    )


@router.get(
    "/me",
    response_model=User,
    summary="The caller's card: department, position, roles",
    responses={401: PROBLEM_RESPONSES[401]},
)
async def me(calls: Calls) -> Any:
    return await calls("org", "me")


@router.get(
    "/me/channels",
    response_model=ChannelSettings,
    summary="How the caller is notified: e-mail, Telegram chat, channels per kind",
    responses={401: PROBLEM_RESPONSES[401]},
)
async def get_channels(calls: Calls) -> Any:
    return await calls("notify", "get_channels")


@router.put(
    "/me/channels",
    response_model=ChannelSettings,
    summary="Set the caller's e-mail, Telegram chat id and channels per kind "
    "(fields left out keep their value)",
    responses={401: PROBLEM_RESPONSES[401]},
)
async def set_channels(calls: Calls, body: Annotated[ChannelSettingsUpdate, Body()]) -> Any:
    data = body.model_dump(mode="json", exclude_unset=True)
    return await calls("notify", "set_channels", data=data)


@router.post(
    "/me/telegram-link",
    response_model=TelegramLink,
    summary="A one-time Telegram link that ties the caller's chat to their notifications",
    description="Open `url` (t.me/<bot>?start=<token>) and press Start: the bot receives "
    "`/start <token>` and from then on messages go to that chat. The token works once, "
    "within an hour. 503 where Telegram is not configured.",
    responses={401: PROBLEM_RESPONSES[401]},
)
async def telegram_link(calls: Calls) -> Any:
    return await calls("notify", "telegram_link")
