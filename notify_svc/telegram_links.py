"""Linking a person's Telegram chat by a deep link, as Telegram intends.

A bot may write only to people who wrote to it first, and a chat id typed by
hand is easy to get wrong. So the app asks for a link (``POST
/api/v1/me/telegram-link``): ``https://t.me/<bot>?start=<token>`` with a
one-time token valid for an hour. Opening it and pressing Start sends the bot
``/start <token>``; notify_svc reads the bot's updates (``getUpdates``), ties
that chat to the person who asked for the token, and says so in the chat.
The updates offset is stored, so a restart neither skips nor repeats one.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from notify_svc import models
from services.auth import Identity
from services.telegram import TelegramClient, TelegramError

log = logging.getLogger(__name__)

LINK_TTL = timedelta(hours=1)
#: ``/start <token>`` (also ``/start@bot <token>``); Telegram allows A-Z a-z 0-9 _ - in it.
START = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9_-]{16,64})\s*$")
LINKED_TEXT = "Готово: уведомления Docflow будут приходить в этот чат."


def new_link(
    session: Session, caller: Identity, bot_username: str, now: datetime
) -> dict[str, Any]:
    token = secrets.token_urlsafe(24)
    expires = now + LINK_TTL
    session.add(models.TelegramLink(token=token, user_id=caller.user_id, expires_at=expires))
    session.flush()
    return {
        "url": f"https://t.me/{bot_username}?start={token}",
        "token": token,
        "expires_at": expires.isoformat(),
    }


def take_updates(
    session: Session, updates: list[dict[str, Any]], now: datetime
) -> tuple[list[tuple[str, str]], int | None]:
    """Apply the ``/start <token>`` messages; the (chat id, user id) pairs linked and the
    offset that confirms every update seen."""
    linked: list[tuple[str, str]] = []
    next_offset: int | None = None
    for update in updates:
        next_offset = max(next_offset or 0, int(update["update_id"]) + 1)
        message = update.get("message") or {}
        chat = message.get("chat") or {}
        found = START.match(str(message.get("text") or ""))
        if chat.get("type") != "private" or not found:
            continue
        link = session.get(models.TelegramLink, found.group(1), with_for_update=True)
        if link is None or link.used_at is not None or link.expires_at < now:
            continue  # unknown, used or expired: the person asks the app for a new link
        chat_id = str(chat["id"])
        link.used_at, link.chat_id = now, chat_id
        session.execute(
            insert(models.ChannelSettings)
            .values(user_id=link.user_id, telegram_chat_id=chat_id, preferences={})
            .on_conflict_do_update(
                index_elements=[models.ChannelSettings.user_id],
                set_={"telegram_chat_id": chat_id},
            )
        )
        linked.append((chat_id, link.user_id))
    return linked, next_offset


def poll(factory: sessionmaker[Session], client: TelegramClient, now: datetime) -> int:
    """One ``getUpdates`` round; returns how many chats were linked.

    The cursor row is locked for the round, so two replicas never apply the
    same updates twice.
    """
    with factory() as session:
        session.execute(
            insert(models.TelegramCursor).values(id=1, next_offset=0).on_conflict_do_nothing()
        )
        cursor = session.get(models.TelegramCursor, 1, with_for_update=True)
        assert cursor is not None
        updates = client.get_updates(cursor.next_offset or None)
        linked, next_offset = take_updates(session, updates, now)
        if next_offset is not None:
            cursor.next_offset = next_offset
        session.commit()
    for chat_id, user_id in linked:
        try:
            client.send_message(chat_id, LINKED_TEXT)
        except TelegramError:
            log.warning("linked %s to chat %s but could not say so there", user_id, chat_id)
    return len(linked)
