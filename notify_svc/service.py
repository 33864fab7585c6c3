"""notify_svc entrypoints: domain events in, the inbox and channel settings out.

Event handlers are generated, one per (source, event type) in
``rules.SUBSCRIPTIONS``, because nameko binds one handler to one event of one
service; they all do the same thing (``notify_people``). A handler that fails
(database or org away) has its message requeued: the ``first_delivery`` mark
rolled back with everything else, so the retry is handled in full.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nameko.events import event_handler
from nameko.timer import timer

from notify_svc import rules, telegram_links, usecases
from notify_svc.dependencies import DeliverySender, OrgPeople, OrgProxy, SettingsProvider
from notify_svc.settings import Settings
from services.base import ServiceBase
from services.entrypoints import rpc
from services.errors import Unavailable
from services.idempotency import idempotent
from services.schemas import notify as schemas
from services.telegram import TelegramClient, TelegramError
from services.validation import parse

log = logging.getLogger(__name__)

#: Pause before a failed event goes back to the queue, so an outage is not a busy loop.
REQUEUE_PAUSE_SECONDS = 1.0
#: How often the bot's updates are read (people linking their chat wait at most this).
TELEGRAM_POLL_SECONDS = 5


class NotifyService(ServiceBase):
    name = "notify"

    settings: Settings = SettingsProvider()
    org: Any = OrgProxy()
    sender: DeliverySender = DeliverySender()

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _directory(self) -> OrgPeople:
        return OrgPeople(self.org.get_user)

    def _setup(self) -> usecases.Setup:
        return usecases.Setup(
            calendar=self.sender.refresh_calendar(self.org.calendar_overrides),
            public_url=self.settings.public_url,
            timezone=self.settings.timezone,
            telegram_enabled=self.sender.telegram_enabled,
        )

    # --- events ------------------------------------------------------------------

    def notify_people(self, envelope: Any) -> None:
        try:
            created = usecases.notify_people(
                self.db, self.events, self._directory(), self._setup(), envelope, self._now()
            )
            self.db.commit()
        except Exception:
            time.sleep(REQUEUE_PAUSE_SECONDS)
            raise
        if created:
            self.sender.wake()

    # --- the inbox ----------------------------------------------------------------

    @rpc
    def list_notifications(
        self, unread: bool = False, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        page = usecases.list_notifications(self.db, self.caller, unread, limit, cursor)
        return page.model_dump(mode="json")

    @rpc
    @idempotent
    def mark_read(self, notification_id: str) -> dict[str, Any]:
        out = usecases.mark_read(self.db, self.caller, self.events, notification_id, self._now())
        self.db.commit()
        return out.model_dump(mode="json")

    @rpc
    @idempotent
    def mark_all_read(self) -> dict[str, int]:
        count = usecases.mark_all_read(self.db, self.caller, self._now())
        self.db.commit()
        return {"marked": count}

    # --- channels -------------------------------------------------------------------

    @rpc
    def get_channels(self) -> dict[str, Any]:
        return usecases.get_channels(self.db, self.caller, self._directory()).model_dump(
            mode="json"
        )

    @rpc
    @idempotent
    def set_channels(self, data: dict[str, Any]) -> dict[str, Any]:
        update = parse(schemas.ChannelSettingsUpdate, data)
        out = usecases.set_channels(self.db, self.caller, self._directory(), update)
        self.db.commit()
        return out.model_dump(mode="json")

    @rpc
    def telegram_link(self) -> dict[str, Any]:
        """A one-time ``t.me/<bot>?start=<token>`` link that ties the caller's chat."""
        if not self.sender.telegram_enabled:
            raise Unavailable("Telegram is not configured here")
        out = telegram_links.new_link(
            self.db, self.caller, self.sender.telegram_settings.bot_username, self._now()
        )
        self.db.commit()
        return out

    # --- timers -----------------------------------------------------------------------

    def _poll_telegram(self, now: datetime) -> int:
        if not self.sender.telegram_enabled:
            return 0
        assert self.sender.database.sessionmaker is not None
        client = TelegramClient(self.sender.telegram_settings)
        try:
            return telegram_links.poll(self.sender.database.sessionmaker, client, now)
        except TelegramError:
            log.warning("Telegram updates not read this round", exc_info=True)
            return 0

    @timer(interval=TELEGRAM_POLL_SECONDS)  # type: ignore[untyped-decorator]
    def poll_telegram(self) -> None:
        """Chats linked by ``/start <token>`` (the bot's updates, read without waiting)."""
        self._poll_telegram(self._now())

    def sweep_due(self, now: datetime) -> int:
        """Part of ``run_timers``: send what is due at ``now`` (simulated time in tests),
        after reading the bot's updates."""
        linked = self._poll_telegram(now)
        self.sender.refresh_calendar(self.org.calendar_overrides)
        return linked + self.sender.send_due(now)


def _handler(source: str, event_type: str) -> Callable[[NotifyService, Any], None]:
    def handle(self: NotifyService, envelope: Any) -> None:
        self.notify_people(envelope)

    handle.__name__ = handle.__qualname__ = f"on_{source}_{event_type.replace('.', '_')}"
    handle.__doc__ = f"``{event_type}`` from {source}_svc."
    decorated: Callable[[NotifyService, Any], None] = event_handler(
        source, event_type, requeue_on_error=True
    )(handle)
    return decorated


for _source, _event_type in rules.SUBSCRIPTIONS:
    _method = _handler(_source, _event_type)
    setattr(NotifyService, _method.__name__, _method)
