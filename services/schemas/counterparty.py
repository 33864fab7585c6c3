"""Contract of counterparty_svc: cards, 1C lookup, import jobs, statutory documents,
the catalogue, and its events (schema_version 1).

Shapes only (types, formats, enumerations). The checksum rules of INN, OGRN,
OGRNIP and bank accounts, and the rules per kind, live in
``counterparty_svc.numbers`` / ``counterparty_svc.domain`` and answer 422 with
field paths from the service.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["legal_entity", "sole_proprietor", "self_employed", "foreign", "government_body"]
Category = Literal["tenant", "government", "contractor", "supplier", "client"]
AddressKind = Literal["legal", "actual", "postal"]

Digits = Annotated[str, Field(pattern=r"^\d+$", max_length=20)]
Inn = Annotated[str, Field(pattern=r"^\d{10}(\d{2})?$", examples=["7707083893"])]
Kpp = Annotated[str, Field(pattern=r"^\d{4}[\dA-Z]{2}\d{3}$", examples=["773601001"])]
Ogrn = Annotated[str, Field(pattern=r"^\d{13}(\d{2})?$", examples=["1027700132195"])]
Name = Annotated[str, Field(min_length=1, max_length=500)]
ShortText = Annotated[str, Field(max_length=300)]

CARD_EXAMPLE: dict[str, Any] = {
    "kind": "legal_entity",
    "category": "supplier",
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "full_name": 'Публичное акционерное общество "Сбербанк России"',
    "short_name": "ПАО Сбербанк",
    "addresses": [{"kind": "legal", "text": "117312, г. Москва, ул. Вавилова, д. 19"}],
    "bank_accounts": [
        {
            "bik": "044525225",
            "bank_name": "ПАО Сбербанк",
            "account": "40702810938000000001",
            "correspondent_account": "30101810400000000225",
        }
    ],
    "contacts": [{"name": "Иван Петров", "phone": "+7 495 500-55-50", "email": "ip@example.ru"}],
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Address(Strict):
    kind: AddressKind = "legal"
    text: Annotated[str, Field(min_length=1, max_length=1000)]


class BankAccount(Strict):
    bik: Annotated[str, Field(pattern=r"^\d{9}$")]
    bank_name: ShortText = ""
    #: Settlement account (расчётный счёт), 20 digits, control key checked against the BIK.
    account: Annotated[str, Field(pattern=r"^\d{20}$")]
    #: Correspondent account (корр. счёт), 20 digits, control key checked against the BIK.
    correspondent_account: Annotated[str, Field(pattern=r"^\d{20}$")] | None = None


class Contact(Strict):
    name: ShortText = ""
    position: ShortText = ""
    phone: Annotated[str, Field(max_length=60)] = ""
    email: Annotated[str, Field(max_length=254)] = ""


class CardFields(Strict):
    kind: Kind
    category: Category
    inn: Inn | None = None
    kpp: Kpp | None = None
    #: OGRN (13 digits) of an organisation or OGRNIP (15 digits) of a sole proprietor.
    ogrn: Ogrn | None = None
    full_name: Name
    short_name: Annotated[str, Field(max_length=300)] = ""
    #: ISO 3166 alpha-2; a foreign counterparty names its country.
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "RU"
    addresses: list[Address] = []
    bank_accounts: list[BankAccount] = []
    contacts: list[Contact] = []


class NewCounterparty(CardFields):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [CARD_EXAMPLE]}
    )


class CounterpartyPatch(Strict):
    """Fields to change; absent fields stay. The merged card is validated as a whole."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"category": "contractor", "short_name": "Сбербанк"}]},
    )
    kind: Kind | None = None
    category: Category | None = None
    inn: Inn | None = None
    kpp: Kpp | None = None
    ogrn: Ogrn | None = None
    full_name: Name | None = None
    short_name: Annotated[str, Field(max_length=300)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    addresses: list[Address] | None = None
    bank_accounts: list[BankAccount] | None = None
    contacts: list[Contact] | None = None


class Counterparty(BaseModel):
    id: str
    kind: Kind
    category: Category
    inn: str | None
    kpp: str | None
    ogrn: str | None
    full_name: str
    short_name: str
    country: str
    addresses: list[Address]
    bank_accounts: list[BankAccount]
    contacts: list[Contact]
    #: The 1C catalogue item (Catalog_Контрагенты Ref_Key) this card mirrors, if any.
    onec_ref: str | None
    onec_data_version: str | None
    #: When the card was last confirmed against 1C (None: never).
    verified_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class CounterpartyPage(BaseModel):
    items: list[Counterparty]
    next_cursor: str | None


class LookupRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"inn": "7707083893"}]}
    )
    inn: Inn


class OneCRecord(BaseModel):
    """A 1C catalogue item as a card draft (what 1C knows)."""

    ref_key: str
    data_version: str | None
    code: str
    deletion_mark: bool
    card: dict[str, Any]


class KnownCard(BaseModel):
    counterparty: Counterparty
    #: verified_at was older than the re-verification age (or missing) when looked up.
    was_stale: bool
    #: Re-verified against 1C during this lookup.
    reverified: bool
    #: May be offered for reuse: fresh, or re-verified just now.
    reusable: bool
    note: str = ""


class LookupResult(BaseModel):
    inn: str
    onec: list[OneCRecord]
    known: list[KnownCard]


class VerifyResult(BaseModel):
    counterparty: Counterparty
    #: confirmed: 1C holds this counterparty (card refreshed, verified_at set);
    #: not_found: 1C does not (card unchanged).
    outcome: Literal["confirmed", "not_found"]
    changed_fields: list[str]


class ImportRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"category": "supplier", "page_size": 100}]},
    )
    #: Routing category given to cards the import creates (1C has no such notion).
    category: Category = "client"
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100


class ImportJob(BaseModel):
    id: str
    state: Literal["queued", "running", "completed", "failed"]
    category: Category
    page_size: int
    total: int | None
    done: int
    created: int
    updated: int
    unchanged: int
    failed: int
    #: $skip of the next page to read: where a resumed job continues.
    position: int
    errors: list[dict[str, Any]]
    started_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class NewDocument(Strict):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "doc_type": "egrul_extract",
                    "number": "ЮЭ9965-26-1234567",
                    "issued_on": "2026-11-02",
                    "file_id": "f3b1c2d4-0000-4000-8000-000000000001",
                }
            ]
        },
    )
    doc_type: Annotated[str, Field(pattern=r"^[a-z][a-z_]{1,62}$")]
    number: Annotated[str, Field(max_length=100)] = ""
    issued_on: date
    #: Omitted: the type's usual validity (e.g. an EGRUL extract 30 days), or none.
    expires_on: date | None = None
    #: The archive file holding the scan.
    file_id: Annotated[str, Field(min_length=1, max_length=100)]


class StatutoryDocument(BaseModel):
    id: str
    counterparty_id: str
    doc_type: str
    title: str
    number: str
    issued_on: date
    expires_on: date | None
    file_id: str
    uploaded_by: str
    uploaded_at: datetime


class ChecklistLine(BaseModel):
    doc_type: str
    title: str
    status: Literal["present", "missing", "expired"]
    document_id: str | None
    expires_on: date | None


class DocumentsView(BaseModel):
    counterparty_id: str
    kind: Kind
    on: date
    complete: bool
    checklist: list[ChecklistLine]
    documents: list[StatutoryDocument]


class SweepResult(BaseModel):
    on: date
    announced: list[dict[str, Any]]


# --- catalogue ---------------------------------------------------------------

Money = Annotated[Decimal, Field(max_digits=18, decimal_places=2, ge=0)]


class NewSection(Strict):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"name": "Услуги по уборке", "parent_id": None}]},
    )
    name: Annotated[str, Field(min_length=1, max_length=200)]
    parent_id: str | None = None


class SectionPatch(Strict):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"name": "Уборка и клининг"}]},
    )

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    parent_id: str | None = None


class Section(BaseModel):
    id: str
    name: str
    parent_id: str | None
    children: list[Section] = []


class Unit(Strict):
    #: OKEI code (ОКЕИ), three digits: 796 шт, 166 кг, 055 м2, 356 ч, 362 мес.
    code: Annotated[str, Field(pattern=r"^\d{3}$")]
    name: Annotated[str, Field(min_length=1, max_length=40)]


class NewItem(Strict):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "section_id": "5d0c…",
                    "name": "Уборка номера",
                    "item_type": "service",
                    "unit": {"code": "796", "name": "шт"},
                    "price": "1500.00",
                    "currency": "RUB",
                    "vat_rate": "20",
                }
            ]
        },
    )
    section_id: str
    name: Annotated[str, Field(min_length=1, max_length=300)]
    item_type: Literal["product", "service"] = "product"
    sku: Annotated[str, Field(max_length=60)] = ""
    unit: Unit
    price: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "RUB"
    vat_rate: Literal["0", "10", "20", "none"] = "20"


class ItemPatch(Strict):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"price": "1890.00", "vat_rate": "20"}]},
    )

    section_id: str | None = None
    name: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    item_type: Literal["product", "service"] | None = None
    sku: Annotated[str, Field(max_length=60)] | None = None
    unit: Unit | None = None
    price: Money | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    vat_rate: Literal["0", "10", "20", "none"] | None = None


class Item(BaseModel):
    id: str
    section_id: str
    name: str
    item_type: str
    sku: str
    unit: Unit
    #: Decimal as a string ("1500.00"), never a float.
    price: str
    currency: str
    vat_rate: str
    version: int


class ItemPage(BaseModel):
    items: list[Item]
    next_cursor: str | None


# --- events (data of the envelope) -------------------------------------------


class CounterpartyCreated(BaseModel):
    schema_version: int = 1
    counterparty: Counterparty
    #: manual | onec_import
    origin: str


class CounterpartyVerified(BaseModel):
    schema_version: int = 1
    counterparty_id: str
    inn: str | None
    kpp: str | None
    verified_at: datetime
    source: str
    changed_fields: list[str]


class ExpiredDocument(BaseModel):
    document_id: str
    doc_type: str
    expires_on: date


class DocumentsExpired(BaseModel):
    schema_version: int = 1
    counterparty_id: str
    inn: str | None
    short_name: str
    documents: list[ExpiredDocument]
