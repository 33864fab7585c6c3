"""Contract of archive_svc: RPC inputs and outputs, and its events (schema_version 1).

The bytes of a file never appear here: the gateway streams them to object
storage itself; these models carry keys, sizes, digests and the card.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1

Uuid = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
    ),
]
DocumentKind = Literal["contract", "letter", "payment_request", "counterparty", "other"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FolderContext(Strict):
    """Where a file is filed: department / counterparty / contract or letter.

    The department defaults to the caller's own. A contract or letter folder
    lives under a counterparty folder.
    """

    department_id: Uuid | None = None
    counterparty_id: Uuid | None = None
    #: Shown as the folder's title and searched as part of the card.
    counterparty_name: Annotated[str, Field(max_length=300)] | None = None
    contract_id: Uuid | None = None
    letter_id: Uuid | None = None

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "counterparty_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11",
                    "counterparty_name": "ООО «Ромашка»",
                    "contract_id": "5a0e1c2d-3b4f-4a6b-8c7d-9e0f1a2b3c4d",
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _shape(self) -> FolderContext:
        if self.contract_id and self.letter_id:
            raise ValueError("a file goes into a contract folder or a letter folder, not both")
        if (self.contract_id or self.letter_id) and not self.counterparty_id:
            raise ValueError("a contract or letter folder lives under a counterparty")
        return self


class Card(Strict):
    """The searchable description of a file (all optional)."""

    title: Annotated[str, Field(max_length=500)] | None = None
    number: Annotated[str, Field(max_length=100)] | None = None
    doc_type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")] | None = None
    document_date: date | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "title": "Договор поставки оборудования",
                    "number": "Д-15/2026",
                    "doc_type": "contract",
                    "document_date": "2026-03-02",
                }
            ]
        },
    )


class UploadRequest(Strict):
    """``begin_upload``: a new file into a folder, or a new version of ``file_id``."""

    folder: FolderContext | None = None
    file_id: Uuid | None = None
    original_name: Annotated[str, Field(min_length=1, max_length=1000)]
    declared_size: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _target(self) -> UploadRequest:
        if (self.folder is None) == (self.file_id is None):
            raise ValueError("give either a folder (new file) or file_id (new version)")
        return self


class UploadTicket(BaseModel):
    upload_id: str
    bucket: str
    key: str
    max_bytes: int


class UploadResult(Strict):
    """``complete_upload``: what the gateway measured while streaming."""

    upload_id: Uuid
    size: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    content_type: Annotated[str, Field(max_length=200)]
    etag: str | None = None
    s3_version_id: str | None = None
    card: Card = Card()


class Folder(BaseModel):
    id: str
    path: str
    kind: str
    title: str
    department_id: str
    counterparty_id: str | None
    parent_path: str | None
    created_at: datetime


class FolderListing(BaseModel):
    folder: Folder | None
    items: list[Folder]
    next_cursor: str | None


class FileVersion(BaseModel):
    version: int
    size: int
    sha256: str
    content_type: str
    original_name: str
    created_by: str
    created_at: datetime


class File(BaseModel):
    id: str
    folder_path: str
    department_id: str
    counterparty_id: str | None
    counterparty_name: str | None
    title: str | None
    number: str | None
    doc_type: str | None
    document_date: date | None
    description: str | None
    original_name: str
    version: int
    size: int
    sha256: str
    content_type: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    versions: list[FileVersion] | None = None


class FilePage(BaseModel):
    items: list[File]
    next_cursor: str | None


class ReadTicket(BaseModel):
    """``open_file``: where the gateway fetches the bytes of an authorised read."""

    file_id: str
    version: int
    bucket: str
    key: str
    s3_version_id: str | None
    size: int
    sha256: str
    content_type: str
    original_name: str


class GrantTarget(Strict):
    file_id: Uuid | None = None
    folder_path: Annotated[str, Field(max_length=400)] | None = None
    folder: FolderContext | None = None

    @model_validator(mode="after")
    def _one(self) -> GrantTarget:
        if sum(x is not None for x in (self.file_id, self.folder_path, self.folder)) != 1:
            raise ValueError("name exactly one of file_id, folder_path, folder")
        return self


class NewOriginal(Strict):
    """A paper original received: which document, who took it, when, where it is kept."""

    document_kind: DocumentKind
    document_id: Annotated[str, Field(min_length=1, max_length=100)]
    received_by: Uuid
    received_at: datetime
    storage_place: Annotated[str, Field(min_length=1, max_length=300)]
    file_id: Uuid | None = None
    note: Annotated[str, Field(max_length=1000)] = ""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "document_kind": "contract",
                    "document_id": "5a0e1c2d-3b4f-4a6b-8c7d-9e0f1a2b3c4d",
                    "received_by": "9c1f…",
                    "received_at": "2026-03-05T11:20:00+03:00",
                    "storage_place": "Архив, шкаф 3, полка 2, папка «Договоры 2026»",
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _aware(self) -> NewOriginal:
        if self.received_at.tzinfo is None:
            raise ValueError("received_at needs a time zone offset")
        return self


class Original(BaseModel):
    id: str
    document_kind: str
    document_id: str
    received_by: str
    received_at: datetime
    storage_place: str
    file_id: str | None
    note: str
    registered_by: str
    created_at: datetime


# --- events -----------------------------------------------------------------------


class FileStored(BaseModel):
    """``archive`` / ``file.stored``: a file or a new version of it is in the archive."""

    schema_version: int = SCHEMA_VERSION
    file_id: str
    version: int
    folder_path: str
    department_id: str
    counterparty_id: str | None
    original_name: str
    size: int
    sha256: str
    content_type: str
    stored_by: str


class OriginalRegistered(BaseModel):
    """``archive`` / ``original.registered``."""

    schema_version: int = SCHEMA_VERSION
    original_id: str
    document_kind: str
    document_id: str
    storage_place: str
    received_at: datetime
