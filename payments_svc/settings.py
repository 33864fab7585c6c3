"""payments_svc settings (prefix ``DOCFLOW_``).

The accountants' noon cut-off is a setting, not a constant in the route: the
route's ``due: {end_of_day_if_before: ...}`` is rewritten with it when the
routes are loaded. The payer's bank account comes from here because org_svc's
legal entities carry no bank details yet.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.config import ServiceSettings


class PayerAccount(BaseModel):
    """The bank account a legal entity pays from (for the 1C bank export)."""

    account: str = Field(pattern=r"^\d{20}$")
    bank_name: str
    bank_city: str = ""
    bik: str = Field(pattern=r"^\d{9}$")
    correspondent_account: str = Field(pattern=r"^\d{20}$")


class Settings(ServiceSettings):
    #: Requests that arrive before this time are due at the end of the same working
    #: day; later ones at the end of the next working day (when no due date is given).
    payments_cutoff: str = Field(default="13:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    #: Extra or replacement route files (``*.yaml``); empty: the shipped routes only.
    payments_routes_dir: str = ""
    #: Bank accounts by the legal entity's INN; ``payments_default_account`` otherwise.
    payments_payer_accounts: dict[str, PayerAccount] = Field(default_factory=dict)
    payments_default_account: PayerAccount = PayerAccount(
        account="40702810970000000001",
        bank_name="ПАО Сбербанк",
        bank_city="г. Москва",
        bik="044525225",
        correspondent_account="30101810400000000225",
    )
    #: ``Отправитель=`` of the 1CClientBankExchange file.
    payments_export_sender: str = "Docflow"
    #: Request numbers look like ``ЗО-2026-0001``, registries ``РП-2026-0001``.
    payments_request_prefix: str = "ЗО"
    payments_registry_prefix: str = "РП"
