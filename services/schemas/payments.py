"""Contract of payments_svc: RPC inputs and outputs, events (schema_version 1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from services.schemas.tasks import ProcessView

SCHEMA_VERSION = 1

RequestStatus = Literal[
    "in_approval", "in_payment", "frozen", "documents_requested", "paid", "rejected", "cancelled"
]
RegistryStatus = Literal[
    "draft", "in_approval", "composing", "ceo_approval", "approved", "paid", "rejected"
]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=2, gt=0)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Uuid = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
    ),
]
Comment = Annotated[str, Field(min_length=1, max_length=2000)]

REQUEST_EXAMPLE: dict[str, JsonValue] = {
    "counterparty_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11",
    "amount": "148500.00",
    "currency": "RUB",
    "cost_item": "Хозяйственные расходы",
    "invoice_file_id": "7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "invoice_number": "1187",
    "due_date": "2026-12-10",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewPaymentRequest(Strict):
    """``POST /api/v1/payment-requests``: saving it starts the approval."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [REQUEST_EXAMPLE]}
    )

    counterparty_id: Uuid
    amount: Money
    currency: Currency = "RUB"
    cost_item: Annotated[str, Field(min_length=2, max_length=200, description="статья затрат")]
    contract_id: Uuid | None = None
    due_date: date | None = Field(
        default=None, description="pay by this day; without it the noon rule sets the deadline"
    )
    invoice_file_id: Uuid = Field(description="the invoice (счёт) in the archive")
    invoice_number: Annotated[str, Field(max_length=60)] | None = None
    purpose: Annotated[str, Field(min_length=3, max_length=210)] | None = Field(
        default=None, description="назначение платежа; made from the invoice when empty"
    )
    legal_entity_id: Uuid | None = Field(
        default=None, description="who pays; the company's first legal entity when empty"
    )
    replaces_id: Uuid | None = Field(
        default=None, description="the rejected request this one replaces after rework"
    )


class StageRequest(Strict):
    """``freeze`` / ``unfreeze`` / ``request-documents``: why."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"comment": "Ждём подтверждения бюджета на декабрь"}]},
    )

    comment: Comment


class ProvideDocuments(Strict):
    """``POST /payment-requests/{id}/documents``: the initiator answers; the route resumes."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "file_ids": ["7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e60"],
                    "comment": "Приложили акт сверки",
                }
            ]
        },
    )

    file_ids: Annotated[list[Uuid], Field(min_length=1, max_length=20)]
    comment: Annotated[str, Field(max_length=2000)] | None = None


class Stage(BaseModel):
    stage: Literal["frozen", "documents_requested"]
    since: datetime
    by: str
    comment: str | None


class PaymentRequest(BaseModel):
    id: str
    number: str
    counterparty_id: str
    counterparty_name: str
    amount: Decimal
    currency: str
    cost_item: str
    contract_id: str | None
    due_date: date | None
    invoice_file_id: str
    purpose: str
    legal_entity_id: str | None
    replaces_id: str | None
    initiator_id: str
    department_id: str
    status: RequestStatus
    payment_due_at: datetime = Field(description="the accountants' deadline")
    responsible: list[str] = Field(description="who must act now")
    stage: Stage | None = None
    document_file_ids: list[str]
    registry_id: str | None
    rejection_reason: str | None
    rejection_comment: str | None
    payment_date: date | None
    payment_order_file_id: str | None
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    process: ProcessView | None = None


class PaymentRequestList(BaseModel):
    items: list[PaymentRequest]
    next_cursor: str | None


class CardTimelineEntry(BaseModel):
    """One line of a request's history: the route's entries (``source: route``,
    hash-chained) and the card's stage changes (``source: card``)."""

    source: Literal["route", "card"]
    at: datetime
    action: str
    actor_id: str | None = None
    on_behalf_of: str | None = None
    step_id: str | None = None
    task_id: str | None = None
    comment: str | None = None
    reason_code: str | None = None
    round: int | None = None
    seq: int | None = None
    hash: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


# --- registries --------------------------------------------------------------------


class NewRegistry(Strict):
    """``POST /api/v1/payment-registries``: collect planned payments."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"payment_date": "2026-12-04"},
                {
                    "payment_date": "2026-12-04",
                    "request_ids": ["3f0c1a2b-9d8e-4f60-a1b2-c3d4e5f60718"],
                },
            ]
        },
    )

    payment_date: date
    legal_entity_id: Uuid | None = Field(
        default=None, description="the payer; the company's first legal entity when empty"
    )
    currency: Currency = "RUB"
    request_ids: Annotated[list[Uuid], Field(max_length=500)] | None = Field(
        default=None,
        description="approved requests to include; every approved request not yet in a "
        "registry when empty",
    )


class ComposeRegistry(Strict):
    """``POST /payment-registries/{id}/compose``: the financial director's final list."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "exclude": ["3f0c1a2b-9d8e-4f60-a1b2-c3d4e5f60718"],
                    "comment": "Перенесли на следующую неделю",
                }
            ]
        },
    )

    exclude: Annotated[list[Uuid], Field(max_length=500)]
    comment: Annotated[str, Field(max_length=2000)] | None = None


class RegistryItem(BaseModel):
    position: int
    request_id: str
    number: str
    counterparty_id: str
    counterparty_name: str
    amount: Decimal
    currency: str
    purpose: str
    cost_item: str
    included: bool
    excluded_comment: str | None


class PaymentRegistry(BaseModel):
    id: str
    number: str
    legal_entity_id: str
    payment_date: date
    currency: str
    initiator_id: str
    department_id: str
    status: RegistryStatus
    responsible: list[str]
    items: list[RegistryItem]
    total: Decimal = Field(description="sum of the included items")
    paid_on: date | None
    created_at: datetime
    updated_at: datetime
    version: int
    process: ProcessView | None = None


class RegistryExport(BaseModel):
    format: Literal["1c", "csv"]
    filename: str
    content_type: str
    content_base64: str


# --- events -----------------------------------------------------------------------


class PaymentPaid(BaseModel):
    """``payments`` / ``payment.paid``: the initiator is told."""

    schema_version: int = SCHEMA_VERSION
    request_id: str
    initiator_id: str
    amount: str
    currency: str
    title: str
    link: str


class DocumentsRequested(BaseModel):
    """``payments`` / ``payment_request.documents_requested``: the initiator must answer."""

    schema_version: int = SCHEMA_VERSION
    request_id: str
    initiator_id: str
    actor_id: str
    comment: str
    title: str
    link: str
