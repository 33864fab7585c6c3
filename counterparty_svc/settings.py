"""counterparty_svc settings (prefix ``DOCFLOW_``): 1C's OData endpoint and the
re-verification age. With no ``DOCFLOW_ONEC_ODATA_URL`` the dev run and the
tests start the local stand-in (``counterparty_svc/stubs/onec_odata.py``)."""

from __future__ import annotations

from pydantic import model_validator

from services.config import PLACEHOLDER_SECRETS, ServiceSettings


class Settings(ServiceSettings):
    #: Up to and including ``/odata/standard.odata`` of the 1C infobase publication.
    onec_odata_url: str = ""
    onec_username: str = ""
    onec_password: str = ""
    onec_connect_timeout_seconds: float = 2.0
    onec_read_timeout_seconds: float = 5.0
    onec_retries: int = 2
    onec_backoff_seconds: float = 0.3
    #: A card verified longer ago than this is re-checked against 1C before reuse.
    reverify_after_hours: float = 24.0 * 30
    #: How often the statutory-document expiry sweep runs (it is idempotent).
    documents_sweep_seconds: float = 3600.0

    @model_validator(mode="after")
    def _real_1c_in_prod(self) -> Settings:
        if self.environment == "prod":
            if not self.onec_odata_url:
                raise ValueError("prod needs DOCFLOW_ONEC_ODATA_URL")
            if self.onec_password in PLACEHOLDER_SECRETS | {"stub-only-password"}:
                raise ValueError("DOCFLOW_ONEC_PASSWORD is a placeholder")
        return self
