"""Contract of mail_svc: incoming and outgoing letters, RPC inputs and outputs and
events (schema_version 1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.schemas.tasks import ProcessView

SCHEMA_VERSION = 1

Direction = Literal["incoming", "outgoing"]
Status = Literal[
    "draft",
    "review",
    "preparation",
    "approval",
    "registration",
    "signing",
    "dispatch",
    "awaiting_reaction",
    "reaction_check",
    "returned",
    "rejected",
    "completed",
    "cancelled",
]
DispatchState = Literal["pending", "sending", "sent", "failed", "posted"]
Uuid = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
    ),
]
Email = Annotated[str, Field(pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$", max_length=254)]
Subject = Annotated[str, Field(min_length=3, max_length=500)]

INCOMING_EXAMPLE: dict[str, Any] = {
    "legal_entity_id": "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "counterparty_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11",
    "subject": "Уведомление об изменении банковских реквизитов",
    "document_number": "127/11",
    "document_date": "2026-11-18",
    "received_date": "2026-11-20",
    "control_date": "2026-12-01",
    "responsible_id": "9c1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
    "scan_file_id": "5a0e1c2d-3b4f-4a6b-8c7d-9e0f1a2b3c4d",
}
OUTGOING_EXAMPLE: dict[str, Any] = {
    "legal_entity_id": "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "counterparty_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11",
    "subject": "О продлении договора аренды",
    "control_date": "2026-12-15",
    "letter_file_id": "5a0e1c2d-3b4f-4a6b-8c7d-9e0f1a2b3c4d",
    "email_to": ["office@romashka.example"],
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewIncomingLetter(Strict):
    """``POST /api/v1/letters/incoming``: register a received letter (office, legal)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [INCOMING_EXAMPLE]},
    )

    legal_entity_id: Uuid = Field(description="our legal entity the letter is addressed to")
    counterparty_id: Uuid
    subject: Subject
    document_number: Annotated[str, Field(min_length=1, max_length=60)] = Field(
        description="the sender's own number of the letter"
    )
    document_date: date | None = Field(default=None, description="the date on the letter")
    received_date: date
    control_date: date = Field(description="the processing task is due on this day")
    responsible_id: Uuid = Field(description="the employee who processes the letter")
    scan_file_id: Uuid = Field(description="the scan, uploaded to the archive first")
    file_ids: Annotated[list[Uuid], Field(max_length=50)] = Field(
        default_factory=list, description="further archive files (enclosures)"
    )

    @model_validator(mode="after")
    def _dates(self) -> NewIncomingLetter:
        if self.control_date < self.received_date:
            raise ValueError("control_date is before received_date")
        if self.document_date and self.document_date > self.received_date:
            raise ValueError("document_date is after received_date")
        return self


class NewOutgoingLetter(Strict):
    """``POST /api/v1/letters/outgoing``: the initiator sends a letter for approval."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [OUTGOING_EXAMPLE]},
    )

    legal_entity_id: Uuid = Field(description="our legal entity the letter is sent from")
    counterparty_id: Uuid
    subject: Subject
    control_date: date = Field(description="when to check the counterparty's reaction")
    letter_file_id: Uuid = Field(description="the letter itself, uploaded to the archive")
    file_ids: Annotated[list[Uuid], Field(max_length=50)] = Field(
        default_factory=list, description="enclosures, sent along with the letter"
    )
    executor_id: Uuid | None = Field(default=None, description="defaults to the initiator")
    email_to: Annotated[list[Email], Field(max_length=20)] | None = Field(
        default=None, description="defaults to the counterparty's contacts' e-mails"
    )
    reply_to_id: Uuid | None = Field(default=None, description="the incoming letter answered")


class ResubmitLetter(Strict):
    """``POST /api/v1/letters/{id}/resubmit``: back to the director after rework."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"comment": "Исправили срок", "letter_file_id": None}]},
    )

    comment: Annotated[str, Field(max_length=4000)] | None = None
    letter_file_id: Uuid | None = Field(default=None, description="a reworked letter file")


class NewParticipant(Strict):
    """``POST /api/v1/letters/{id}/participants``: the CEO adds a person to his step."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "user_id": "9c1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
                    "comment": "Подготовьте справку по задолженности",
                }
            ]
        },
    )

    user_id: Uuid
    comment: Annotated[str, Field(max_length=4000)] | None = None


class Dispatch(BaseModel):
    """How an outgoing letter left: e-mail (with its Message-ID) or post."""

    channel: Literal["email", "post"]
    state: DispatchState
    email_to: list[str]
    message_id: str | None
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class Letter(BaseModel):
    id: str
    direction: Direction
    journal_number: str | None = Field(description="ВХ-2026-0001 / ИСХ-2026-0001")
    registered_at: datetime | None
    legal_entity_id: str
    legal_entity_name: str
    counterparty_id: str
    counterparty_name: str
    counterparty_category: str
    subject: str
    document_number: str | None
    document_date: date | None
    received_date: date | None
    control_date: date | None
    responsible_id: str = Field(description="incoming: the responsible; outgoing: the executor")
    department_id: str
    scan_file_id: str | None
    letter_file_id: str | None
    file_ids: list[str]
    email_to: list[str]
    reply_needed: bool | None
    reply_to_id: str | None
    reply_id: str | None
    status: Status
    responsible: list[str] = Field(description="who must act now")
    dispatch: Dispatch | None
    archive_folder: str | None = Field(description="where the files were filed when work ended")
    archived_file_ids: list[str]
    filed_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    process: ProcessView | None = None


class LetterList(BaseModel):
    items: list[Letter]
    next_cursor: str | None


# --- events -----------------------------------------------------------------------


class LetterRegistered(BaseModel):
    """``mail`` / ``letter.registered``: a journal number was given (notify_svc tells the
    responsible employee)."""

    schema_version: int = SCHEMA_VERSION
    letter_id: str
    direction: Direction
    number: str
    responsible_id: str
    title: str
    link: str


class LetterSent(BaseModel):
    """``mail`` / ``letter.sent``: the SMTP server accepted the letter, or it was posted."""

    schema_version: int = SCHEMA_VERSION
    letter_id: str
    number: str | None
    channel: Literal["email", "post"]
    message_id: str | None
    email_to: list[str]
    responsible_id: str
    title: str
    link: str


class LetterFiled(BaseModel):
    """``mail`` / ``letter.filed``: the letter's files are in the archive's letter folder."""

    schema_version: int = SCHEMA_VERSION
    letter_id: str
    folder_path: str
    file_ids: list[str]
