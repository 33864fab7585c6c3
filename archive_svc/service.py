"""archive_svc entrypoints: files in object storage, folders, search, rights, paper originals.

The bytes never come here: the gateway asks ``begin_upload`` for a key,
streams the body to the bucket itself and reports with ``complete_upload``;
for a download it asks ``open_file`` and streams the object back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.events import event_handler
from nameko.timer import timer

from archive_svc import usecases
from archive_svc.dependencies import ObjectStore, ObjectStoreProvider
from services.auth import SYSTEM
from services.base import ServiceBase
from services.entrypoints import rpc
from services.idempotency import idempotent
from services.outbox import first_delivery
from services.processes import SystemAwareRpcProxy
from services.schemas import archive as schemas
from services.validation import parse

log = logging.getLogger(__name__)

#: A pending upload older than this was abandoned (gateway crash, client gone).
STALE_UPLOAD = timedelta(hours=6)


class ArchiveService(ServiceBase):
    name = "archive"

    store: ObjectStore = ObjectStoreProvider()
    payments: Any = SystemAwareRpcProxy("payments")

    @rpc(public=True)
    def health(self) -> dict[str, Any]:
        """Ready when the database answers and the bucket is there."""
        out = super().health()
        if not self.store.healthy():
            raise RuntimeError(f"bucket {self.store.bucket} is missing")
        return out

    @rpc
    @idempotent
    def begin_upload(self, data: dict[str, Any]) -> dict[str, Any]:
        out = usecases.begin_upload(
            self.db, self.caller, self.store, parse(schemas.UploadRequest, data)
        )
        self.db.commit()
        return out.model_dump(mode="json")

    @rpc
    @idempotent
    def complete_upload(self, data: dict[str, Any]) -> dict[str, Any]:
        out = usecases.complete_upload(
            self.db, self.caller, self.events, self.store, parse(schemas.UploadResult, data)
        )
        self.db.commit()
        return out.model_dump(mode="json")

    @rpc
    @idempotent
    def abort_upload(self, upload_id: str) -> None:
        usecases.abort_upload(self.db, self.caller, self.store, upload_id)
        self.db.commit()

    @rpc
    def get_file(self, file_id: str) -> dict[str, Any]:
        out = usecases.get_file(self.db, self.caller, file_id)
        self.db.commit()  # the audit entry of the read
        return out.model_dump(mode="json")

    @rpc
    def open_file(self, file_id: str, version: int | None = None) -> dict[str, Any]:
        out = usecases.open_file(self.db, self.caller, self.store, file_id, version)
        self.db.commit()
        return out.model_dump(mode="json")

    @rpc
    def list_files(
        self,
        folder: str | None = None,
        counterparty_id: str | None = None,
        q: str | None = None,
        number: str | None = None,
        doc_type: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        out = usecases.list_files(
            self.db,
            self.caller,
            folder=folder,
            counterparty_id=counterparty_id,
            q=q,
            number=number,
            doc_type=doc_type,
            date_from=date_from,
            date_to=date_to,
            limit=limit,
            cursor=cursor,
        )
        self.db.commit()
        return out

    @rpc
    def list_folders(
        self, path: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        return usecases.list_folders(self.db, self.caller, path, limit, cursor).model_dump(
            mode="json"
        )

    @rpc
    @idempotent
    def grant(self, target: dict[str, Any], user_ids: list[str]) -> dict[str, Any]:
        """For the services that run processes: participants read the file or folder."""
        out = usecases.grant(self.db, self.caller, parse(schemas.GrantTarget, target), user_ids)
        self.db.commit()
        return out

    @rpc
    @idempotent
    def register_original(self, data: dict[str, Any]) -> dict[str, Any]:
        out = usecases.register_original(
            self.db, self.caller, self.events, parse(schemas.NewOriginal, data)
        )
        self.db.commit()
        return out.model_dump(mode="json")

    @rpc
    def list_originals(self, document: str | None = None) -> list[dict[str, Any]]:
        out = usecases.list_originals(self.db, self.caller, document)
        self.db.commit()
        return [o.model_dump(mode="json") for o in out]

    def _grant_to_assignee(self, envelope: dict[str, Any], handler: str) -> None:
        if not first_delivery(self.db, envelope, handler):
            return
        data = envelope["data"]
        people = [data.get("assignee_id"), data.get("on_behalf_of")]
        usecases.grant_to_participant(self.db, str(data.get("card_id")), [p for p in people if p])
        self.db.commit()

    @event_handler("contracts", "task.assigned")  # type: ignore[untyped-decorator]
    def on_contract_task(self, envelope: dict[str, Any]) -> None:
        """Whoever gets a task on a contract may read the contract's folder."""
        self._grant_to_assignee(envelope, "archive.contract_task_grant")

    @event_handler("mail", "task.assigned")  # type: ignore[untyped-decorator]
    def on_letter_task(self, envelope: dict[str, Any]) -> None:
        """Whoever gets a task on a letter may read the letter's folder."""
        self._grant_to_assignee(envelope, "archive.letter_task_grant")

    @event_handler("payments", "task.assigned")  # type: ignore[untyped-decorator]
    def on_payment_task(self, envelope: dict[str, Any]) -> None:
        """Whoever gets a task on a payment request may read its invoice and documents
        (they live in the initiator's department folders)."""
        if not first_delivery(self.db, envelope, "archive.payment_task_grant"):
            return
        data = envelope["data"]
        people = [p for p in (data.get("assignee_id"), data.get("on_behalf_of")) if p]
        if data.get("process") == "payment_request" and people:
            for file_id in self.payments.card_files(card_id=str(data.get("card_id"))):
                usecases.grant_file_to(self.db, file_id, people)
        self.db.commit()

    @event_handler("contracts", "contract.original_received")  # type: ignore[untyped-decorator]
    def on_contract_original(self, envelope: dict[str, Any]) -> None:
        """The office accepted a signed contract's paper original: register it here once."""
        if not first_delivery(self.db, envelope, "archive.contract_original"):
            return
        data = envelope["data"]
        note = f"Договор {data['register_number']}" if data.get("register_number") else ""
        original = schemas.NewOriginal(
            document_kind="contract",
            document_id=data["contract_id"],
            received_by=data["received_by"],
            received_at=data["received_at"],
            storage_place=data["storage_place"],
            file_id=data.get("file_id"),
            note=note,
        )
        usecases.register_original(self.db, SYSTEM, self.events, original)
        self.db.commit()

    @timer(interval=900)  # type: ignore[untyped-decorator]
    def sweep_stale_uploads(self) -> None:
        """Remove the objects of uploads the gateway started but never completed."""
        keys = usecases.mark_stale_uploads(self.db, datetime.now(UTC) - STALE_UPLOAD)
        self.db.commit()
        for key in keys:
            self.store.remove(key)
        if keys:
            log.info("removed %d abandoned uploads", len(keys))
