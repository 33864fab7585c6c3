"""Contract of contracts_svc: RPC inputs and outputs (schema_version 1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from services.schemas.tasks import ProcessView

SCHEMA_VERSION = 1

ContractType = Literal["supply", "services", "works", "lease", "agency", "loan", "other"]
Status = Literal[
    "draft",
    "in_approval",
    "returned",
    "rejected",
    "signing",
    "registration",
    "awaiting_original",
    "completed",
    "cancelled",
]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=2, ge=0)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Uuid = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
    ),
]
RouteId = Literal["contract_approval", "contract_approval_parallel"]

EXAMPLE: dict[str, JsonValue] = {
    "number": "15/2026-П",
    "contract_type": "supply",
    "subject": "Поставка бельевого текстиля для номерного фонда",
    "counterparty_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11",
    "contract_date": "2026-11-20",
    "amount": "1250000.00",
    "currency": "RUB",
    "valid_until": "2027-12-31",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContractFields(Strict):
    number: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    contract_type: ContractType = "other"
    subject: Annotated[str, Field(min_length=3, max_length=1000)]
    counterparty_id: Uuid
    legal_entity_id: Uuid | None = None
    curator_id: Uuid | None = Field(default=None, description="defaults to the author")
    department_id: Uuid | None = Field(default=None, description="defaults to the author's")
    contract_date: date | None = None
    amount: Money
    currency: Currency = "RUB"
    valid_until: date | None = Field(default=None, description="the contract's term")
    route_id: RouteId | None = Field(
        default=None, description="the approval route; the company's default when empty"
    )
    file_ids: Annotated[list[Uuid], Field(max_length=50)] = Field(
        default_factory=list, description="archive files of the contract (draft, annexes)"
    )

    @model_validator(mode="after")
    def _term(self) -> ContractFields:
        if self.contract_date and self.valid_until and self.valid_until < self.contract_date:
            raise ValueError("valid_until is before contract_date")
        return self


class NewContract(ContractFields):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [EXAMPLE]}
    )


class ContractPatch(Strict):
    """Fields to change in a draft or a returned contract; absent fields stay."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"amount": "1180000.00", "valid_until": "2027-06-30"}]},
    )

    number: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    contract_type: ContractType | None = None
    subject: Annotated[str, Field(min_length=3, max_length=1000)] | None = None
    legal_entity_id: Uuid | None = None
    curator_id: Uuid | None = None
    contract_date: date | None = None
    amount: Money | None = None
    currency: Currency | None = None
    valid_until: date | None = None
    route_id: RouteId | None = None
    file_ids: Annotated[list[Uuid], Field(max_length=50)] | None = None


class SubmitRequest(Strict):
    """``POST /contracts/{id}/submit``: start approval, or send it back after rework."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{}, {"comment": "Исправили сумму и срок"}]},
    )

    comment: Annotated[str, Field(max_length=4000)] | None = None


class Contract(BaseModel):
    id: str
    number: str | None
    contract_type: str
    subject: str
    counterparty_id: str
    counterparty_name: str
    legal_entity_id: str | None
    curator_id: str
    department_id: str
    contract_date: date | None
    amount: Decimal
    currency: str
    valid_until: date | None
    route_id: str
    file_ids: list[str]
    status: Status
    responsible: list[str] = Field(description="who must act now")
    documents_check: dict[str, Any] | None
    register_number: str | None
    registered_at: datetime | None
    original_storage_place: str | None
    original_received_at: datetime | None
    signed_scan_id: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    process: ProcessView | None = None


class ContractList(BaseModel):
    items: list[Contract]
    next_cursor: str | None


class RegisterEntry(BaseModel):
    register_number: str
    registered_at: datetime
    contract_id: str
    number: str | None
    counterparty_name: str
    subject: str
    amount: Decimal
    currency: str
    contract_date: date | None
    valid_until: date | None


class Register(BaseModel):
    year: int
    items: list[RegisterEntry]


# --- events -----------------------------------------------------------------------


class ContractRegistered(BaseModel):
    """``contracts`` / ``contract.registered``."""

    schema_version: int = SCHEMA_VERSION
    contract_id: str
    register_number: str
    curator_id: str
    title: str
    link: str


class OriginalReceived(BaseModel):
    """``contracts`` / ``contract.original_received``: archive_svc registers the original."""

    schema_version: int = SCHEMA_VERSION
    contract_id: str
    received_by: str
    received_at: datetime
    storage_place: str
    file_id: str | None
    register_number: str | None
