"""contracts_svc settings (prefix ``DOCFLOW_``).

A company changes its approval route without code: ``DOCFLOW_CONTRACTS_ROUTES_DIR``
points at a directory of route YAML files that replace the shipped ones by id,
and ``DOCFLOW_CONTRACTS_DEFAULT_ROUTE`` picks the route a contract takes when
its card does not name one.
"""

from __future__ import annotations

from typing import Literal

from services.config import ServiceSettings


class Settings(ServiceSettings):
    #: Statutory documents expired or missing at submission: refuse it ("block"),
    #: or let it through and show them on the card ("flag").
    contracts_documents_policy: Literal["block", "flag"] = "block"
    contracts_default_route: str = "contract_approval"
    #: Extra or replacement route files (``*.yaml``); empty: the shipped routes only.
    contracts_routes_dir: str = ""
    #: Register numbers look like ``Д-2026-0001``.
    contracts_register_prefix: str = "Д"
