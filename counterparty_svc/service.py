"""counterparty_svc entrypoints: counterparties, statutory documents, catalogue.

The foundation gives it health, metrics, the outbox and its database; its
business entrypoints arrive with its own issue.
"""

from services.base import ServiceBase


class CounterpartyService(ServiceBase):
    name = "counterparty"
