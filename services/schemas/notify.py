"""Contract of notify_svc: the inbox, channel settings, and its events (schema_version 1).

A notification is what one person is told about one domain event. It always
lands in the in-app inbox; e-mail and Telegram are the push channels each
person chooses per kind of notification (``Preferences``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

#: What a notification is about; preferences are kept per kind.
Kind = Literal[
    "assignment",
    "reminder",
    "escalation",
    "overdue",
    "return",
    "rejection",
    "completion",
    "paid",
    "letter",
    "documents",
]
KINDS: tuple[Kind, ...] = (
    "assignment",
    "reminder",
    "escalation",
    "overdue",
    "return",
    "rejection",
    "completion",
    "paid",
    "letter",
    "documents",
)
#: Push channels a person may choose; the in-app inbox always gets everything.
PushChannel = Literal["email", "telegram"]
PUSH_CHANNELS: tuple[PushChannel, ...] = ("email", "telegram")
#: Kinds pushed only in working time (others wait for the next working moment).
WORKING_HOURS_ONLY: tuple[Kind, ...] = ("reminder", "escalation", "overdue")

#: Telegram chat ids are integers (negative for groups); carried as strings.
ChatId = Annotated[str, Field(pattern=r"^-?\d{1,20}$", examples=["123456789"])]

Preferences = dict[Kind, list[PushChannel]]


class ChannelSettingsUpdate(BaseModel):
    """``PUT /api/v1/me/channels``: fields sent replace the stored ones, fields left out stay.

    ``email: null`` returns to the address of the org directory; ``telegram_chat_id:
    null`` unlinks Telegram. ``preferences`` lists, per kind, the push channels wanted
    (kinds not named keep their current choice; ``[]`` means the inbox only).
    """

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "email": "i.petrova@example.ru",
                    "telegram_chat_id": "123456789",
                    "preferences": {"reminder": ["telegram"], "completion": []},
                }
            ]
        },
    )

    email: EmailStr | None = None
    telegram_chat_id: ChatId | None = None
    preferences: dict[Kind, list[PushChannel]] | None = None


class ChannelSettings(BaseModel):
    """A person's channels as they are in force."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "lawyer@docflow.example",
                    "email_source": "directory",
                    "telegram_chat_id": "123456789",
                    "preferences": {
                        "assignment": ["email", "telegram"],
                        "reminder": ["telegram"],
                        "completion": [],
                    },
                    "working_hours_only": list(WORKING_HOURS_ONLY),
                }
            ]
        }
    )

    email: str | None
    #: ``personal`` (set here), ``directory`` (the org directory's) or null (none known).
    email_source: Literal["personal", "directory"] | None
    telegram_chat_id: str | None
    preferences: dict[Kind, list[PushChannel]]
    working_hours_only: list[Kind] = list(WORKING_HOURS_ONLY)


class Notification(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5b0e2c1e-6d0b-4c59-9d1e-2f7d3c2a9a10",
                    "kind": "assignment",
                    "title": "Новая задача: Договор Д-2026-0001 с ООО «Ромашка»",
                    "body": "Вам назначено согласование: Договор Д-2026-0001 с ООО «Ромашка».",
                    "link": "/contracts/7f1d…",
                    "process": "contract",
                    "card_id": "7f1d…",
                    "event_type": "task.assigned",
                    "created_at": "2026-11-23T15:00:00+03:00",
                    "read_at": None,
                }
            ]
        }
    )

    id: str
    kind: Kind
    title: str
    body: str
    link: str | None
    process: str | None
    card_id: str | None
    event_type: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[Notification]
    next_cursor: str | None
    #: How many of the caller's notifications are unread (for a badge).
    unread: int


# --- events (published by notify_svc through its outbox) ----------------------


class NotificationCreated(BaseModel):
    """``notification.created``: one person has a new notification (the SSE feed)."""

    schema_version: int = 1
    user_id: str
    notification: Notification


class NotificationRead(BaseModel):
    """``notification.read``: a person read a notification (other tabs update badges)."""

    schema_version: int = 1
    user_id: str
    notification_id: str
    read_at: datetime


class CardChanged(BaseModel):
    """``card.changed``: something happened to a card these people take part in."""

    schema_version: int = 1
    user_ids: list[str]
    process: str
    card_id: str
    title: str | None = None
    link: str | None = None
    event_type: str
    occurred_at: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class TelegramLink(BaseModel):
    """``POST /api/v1/me/telegram-link``: open ``url`` and press Start in Telegram."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://t.me/docflow_bot?start=q3V9xM0c5L2nB8tR1wYzA4kD6fH7jE2s",
                    "token": "q3V9xM0c5L2nB8tR1wYzA4kD6fH7jE2s",
                    "expires_at": "2026-11-23T16:00:00+00:00",
                }
            ]
        }
    )

    url: str
    token: str
    expires_at: datetime
