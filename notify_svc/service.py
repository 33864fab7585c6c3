"""notify_svc entrypoints: in-app inbox, e-mail, Telegram.

The foundation gives it health, metrics, the outbox and its database; its
business entrypoints arrive with its own issue.
"""

from services.base import ServiceBase


class NotifyService(ServiceBase):
    name = "notify"
