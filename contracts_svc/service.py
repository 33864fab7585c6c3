"""contracts_svc entrypoints: contract approval, register, originals.

The foundation gives it health, metrics, the outbox and its database; its
business entrypoints arrive with its own issue.
"""

from services.base import ServiceBase


class ContractsService(ServiceBase):
    name = "contracts"
