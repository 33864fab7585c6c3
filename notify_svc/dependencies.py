"""nameko dependencies of notify_svc: settings, the org directory (asked as the system
where there is no caller), and the delivery sender loop with its business calendar."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from notify_svc import delivery
from notify_svc.settings import Settings
from notify_svc.usecases import Person
from services import smtp
from services.auth import SYSTEM, Identity
from services.background import BackgroundLoop
from services.calendar import BusinessCalendar, DayKind
from services.telegram import TelegramClient, TelegramSettings

log = logging.getLogger(__name__)

#: How long a person's name and address, and the calendar overrides, are reused.
DIRECTORY_TTL_SECONDS = 300.0
CALENDAR_TTL_SECONDS = 3600.0


def settings_of(container: Any) -> Settings:
    found = container.config.get("SETTINGS")
    if isinstance(found, Settings):
        return found
    return Settings(service_name="notify_svc")


class SettingsProvider(DependencyProvider):  # type: ignore[misc]
    def get_dependency(self, worker_ctx: Any) -> Settings:
        return settings_of(self.container)


class OrgProxy(RpcProxy):  # type: ignore[misc]
    """``RpcProxy("org")`` that asks as the system when the worker has no caller
    (event handlers, the timer sweep)."""

    def __init__(self) -> None:
        super().__init__("org")

    def get_dependency(self, worker_ctx: Any) -> Any:
        if Identity.from_context(worker_ctx.context_data) is None:
            # ``context_data`` is a copy; the outgoing headers are built from ``data``.
            worker_ctx.data.update(SYSTEM.to_context())
        return super().get_dependency(worker_ctx)


class OrgPeople:
    """``usecases.Directory`` over ``org.get_user``, cached for a few minutes per process.

    A person org does not know (``NotFound``) is None; org being away raises, so the
    event is handled again later rather than sent without an address.
    """

    _cache: ClassVar[dict[str, tuple[float, Person | None]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, get_user: Callable[..., dict[str, Any]]) -> None:
        self._get_user = get_user

    def person(self, user_id: str) -> Person | None:
        with self._lock:
            cached = self._cache.get(user_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            user = self._get_user(user_id=user_id)
            found: Person | None = Person(str(user.get("full_name") or ""), user.get("email"))
        except Exception as exc:
            if getattr(exc, "exc_type", None) != "NotFound":
                raise
            found = None
        with self._lock:
            self._cache[user_id] = (time.monotonic() + DIRECTORY_TTL_SECONDS, found)
        return found

    @classmethod
    def forget(cls, user_id: str) -> None:
        with cls._lock:
            cls._cache.pop(user_id, None)


class DeliverySender(BackgroundLoop):
    """Sends due deliveries in a managed thread; ``wake()`` after new ones are committed.

    Also the one place that holds the business calendar (refreshed from org's official
    overrides at most hourly by workers that can call org): the loop itself makes no RPC.
    """

    identifier = "notify-sender"

    def setup(self) -> None:
        settings = settings_of(self.container)
        self.database = self.sibling_database()
        if self.poll_seconds is None:
            self.poll_seconds = settings.notify_sender_poll_seconds
        self.policy = delivery.RetryPolicy(
            base=timedelta(seconds=settings.notify_retry_base_seconds),
            maximum=timedelta(seconds=settings.notify_retry_max_seconds),
            max_attempts=settings.notify_max_attempts,
        )
        self.smtp_settings = smtp.SmtpSettings()
        self.telegram_settings = TelegramSettings()
        self.calendar = BusinessCalendar(settings.timezone)
        self._calendar_fresh_until = 0.0

    def get_dependency(self, worker_ctx: Any) -> DeliverySender:
        return self

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_settings.enabled

    def refresh_calendar(self, fetch_overrides: Callable[[], dict[str, str]]) -> BusinessCalendar:
        """The calendar with org's official overrides (fetched at most hourly)."""
        if time.monotonic() < self._calendar_fresh_until:
            return self.calendar
        try:
            raw = fetch_overrides()
            overrides: dict[date, DayKind] = {
                date.fromisoformat(day): kind  # type: ignore[misc]
                for day, kind in raw.items()
                if kind in ("working", "holiday", "short")
            }
            self.calendar = BusinessCalendar(self.calendar.tz, overrides=overrides)
        except Exception:  # org away: the production calendar of holidays.RU still holds
            log.warning("calendar overrides not refreshed; using the last known", exc_info=True)
        self._calendar_fresh_until = time.monotonic() + CALENDAR_TTL_SECONDS
        return self.calendar

    def senders(self) -> delivery.Senders:
        telegram = TelegramClient(self.telegram_settings) if self.telegram_enabled else None
        email = functools.partial(smtp.send, settings=self.smtp_settings)
        return delivery.Senders(email=email, telegram=telegram)

    def send_due(self, now: datetime) -> int:
        assert self.database.sessionmaker is not None
        return delivery.send_due(
            self.database.sessionmaker, now, self.senders(), self.calendar, self.policy
        )

    def run_once(self) -> bool:
        self.send_due(datetime.now(UTC))
        return False
