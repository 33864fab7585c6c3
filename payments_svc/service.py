"""payments_svc entrypoints: payment requests and the payment registry.

The foundation gives it health, metrics, the outbox and its database; its
business entrypoints arrive with its own issue.
"""

from services.base import ServiceBase


class PaymentsService(ServiceBase):
    name = "payments"
