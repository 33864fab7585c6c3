"""mail_svc entrypoints: incoming and outgoing correspondence.

The foundation gives it health, metrics, the outbox and its database; its
business entrypoints arrive with its own issue.
"""

from services.base import ServiceBase


class MailService(ServiceBase):
    name = "mail"
