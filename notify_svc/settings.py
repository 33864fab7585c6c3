"""notify_svc settings (prefix ``DOCFLOW_``): where links point, how deliveries retry.

SMTP and Telegram have settings of their own (``services.smtp.SmtpSettings``,
``services.telegram.TelegramSettings``); with neither configured the dev run and
the tests start their stand-ins.
"""

from __future__ import annotations

from pydantic import model_validator

from services.config import ServiceSettings


class Settings(ServiceSettings):
    #: The SPA's address: links in e-mail and Telegram are this plus the card's path.
    public_url: str = "http://localhost:5173"
    #: How often the sender looks for due deliveries when nobody woke it.
    notify_sender_poll_seconds: float = 2.0
    #: The first retry of a failed delivery waits this long, doubling up to the maximum.
    notify_retry_base_seconds: float = 30.0
    notify_retry_max_seconds: float = 3600.0
    #: After this many failed attempts a delivery is given up (the inbox still has it).
    notify_max_attempts: int = 12

    @model_validator(mode="after")
    def _sane_retries(self) -> Settings:
        if self.notify_retry_base_seconds <= 0 or self.notify_max_attempts < 1:
            raise ValueError("retry base must be positive and max attempts at least 1")
        return self
