"""What archive_svc does, one function per use case.

Each takes the session, the caller and (for writes) the outbox writer and the
object store; none commits (the entrypoint does, once). A file the caller may
not read is "not found": its existence is not revealed. Every read and write
leaves an entry in the append-only audit trail, in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive_svc import domain, models
from archive_svc.repository import (
    audit,
    ensure_folders,
    file_out,
    file_visible,
    folder_out,
    folder_visible,
    is_granted,
    original_out,
)
from services.auth import SYSTEM, Identity
from services.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from services.ids import parse_filter_id, parse_id
from services.outbox import OutboxWriter
from services.pagination import clamp_limit, decode_cursor, encode_cursor
from services.schemas import archive as schemas


class Store(Protocol):
    """What the use cases need of the bucket (archive_svc.dependencies.ObjectStore)."""

    bucket: str
    max_upload_bytes: int

    def stat(self, key: str) -> Any: ...

    def remove(self, key: str) -> None: ...


def _readable_file(session: Session, caller: Identity, file_id: str) -> models.File:
    file = session.get(models.File, parse_id(file_id, "file"))
    if file is None or not domain.may_read(
        caller, str(file.department_id), is_granted(session, caller, file)
    ):
        raise NotFound(f"file {file_id} does not exist")
    return file


def _versions(session: Session, file_id: uuid.UUID) -> list[models.FileVersion]:
    return list(
        session.scalars(
            select(models.FileVersion)
            .where(models.FileVersion.file_id == file_id)
            .order_by(models.FileVersion.version_no)
        )
    )


# --- upload -------------------------------------------------------------------------


def begin_upload(
    session: Session, caller: Identity, store: Store, data: schemas.UploadRequest
) -> schemas.UploadTicket:
    """Authorise an upload and allocate its object key; the gateway then streams the bytes."""
    if data.declared_size is not None and data.declared_size > store.max_upload_bytes:
        raise TooLarge(f"the file is larger than the limit of {store.max_upload_bytes} bytes")
    name = domain.clean_name(data.original_name)
    if data.file_id is not None:
        file = _readable_file(session, caller, data.file_id)
        if not domain.may_write(caller, str(file.department_id)):
            raise Forbidden("Adding a version needs the right to file into this folder")
        folder = session.get(models.Folder, file.folder_id)
        assert folder is not None
        target_file: uuid.UUID | None = file.id
    else:
        assert data.folder is not None
        chain = domain.folder_chain(data.folder, caller)
        if not domain.may_write(caller, chain[0].department_id):
            # Filing into another department's folder is a plain refusal: the
            # caller named the department, nothing is revealed by saying no.
            raise Forbidden("Filing into another department's folder needs the archivist role")
        folder = ensure_folders(session, chain, caller.user_id)
        target_file = None
    upload_id = uuid.uuid4()
    key = domain.object_key(folder.path, upload_id)
    session.add(
        models.Upload(
            id=upload_id,
            object_key=key,
            folder_id=folder.id,
            file_id=target_file,
            original_name=name,
            declared_size=data.declared_size,
            created_by=caller.user_id,
        )
    )
    session.flush()
    return schemas.UploadTicket(
        upload_id=str(upload_id), bucket=store.bucket, key=key, max_bytes=store.max_upload_bytes
    )


def _pending_upload(session: Session, caller: Identity, upload_id: str) -> models.Upload:
    upload = session.get(models.Upload, parse_id(upload_id, "upload"), with_for_update=True)
    if upload is None or (upload.created_by != caller.user_id and not caller.is_system):
        raise NotFound(f"upload {upload_id} does not exist")
    if upload.state != "pending":
        raise Conflict(f"upload {upload_id} is already {upload.state}")
    return upload


def complete_upload(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    store: Store,
    data: schemas.UploadResult,
) -> schemas.File:
    """Record what the gateway stored: a new file (version 1) or the next version of one."""
    upload = _pending_upload(session, caller, data.upload_id)
    stored = store.stat(upload.object_key)
    if stored is None or stored.size != data.size:
        raise InvalidInput(
            "the object in storage does not match the upload",
            [{"loc": ["size"], "msg": "object missing or of another size"}],
        )
    if data.size > store.max_upload_bytes:
        store.remove(upload.object_key)
        raise TooLarge(f"the file is larger than the limit of {store.max_upload_bytes} bytes")
    folder = session.get(models.Folder, upload.folder_id)
    assert folder is not None
    now = datetime.now(UTC)
    card = data.card
    if upload.file_id is None:
        file = models.File(
            id=uuid.uuid4(),
            folder_id=folder.id,
            folder_path=folder.path,
            department_id=folder.department_id,
            counterparty_id=folder.counterparty_id,
            counterparty_name=folder.title if folder.counterparty_id else None,
            original_name=upload.original_name,
            current_version=1,
            size=data.size,
            sha256=data.sha256,
            content_type=data.content_type,
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        if folder.kind in ("contract", "letter"):
            parent = session.scalar(
                select(models.Folder).where(models.Folder.path == folder.parent_path)
            )
            file.counterparty_name = parent.title if parent else None
        session.add(file)
        version_no = 1
    else:
        found = session.get(models.File, upload.file_id, with_for_update=True)
        assert found is not None
        file = found
        version_no = file.current_version + 1
        file.current_version = version_no
        file.original_name = upload.original_name
        file.size, file.sha256, file.content_type = data.size, data.sha256, data.content_type
        file.updated_at = now
    for field in ("title", "number", "doc_type", "document_date", "description"):
        value = getattr(card, field)
        if value is not None:
            setattr(file, field, value)
    session.flush()
    session.add(
        models.FileVersion(
            file_id=file.id,
            version_no=version_no,
            object_key=upload.object_key,
            s3_version_id=data.s3_version_id or stored.version_id,
            etag=data.etag,
            size=data.size,
            sha256=data.sha256,
            content_type=data.content_type,
            original_name=upload.original_name,
            created_by=caller.user_id,
            created_at=now,
        )
    )
    upload.state, upload.finished_at = "completed", now
    try:
        session.flush()
    except IntegrityError as exc:  # two versions completed at once
        raise Conflict(f"file {file.id} changed meanwhile; send the version again") from exc
    audit(
        session,
        caller,
        "file.stored" if version_no == 1 else "file.version_added",
        file_id=file.id,
        version_no=version_no,
        folder_path=file.folder_path,
        detail={"size": data.size, "sha256": data.sha256, "name": upload.original_name},
    )
    session.refresh(file)
    out = file_out(file, _versions(session, file.id))
    event = schemas.FileStored(
        file_id=out.id,
        version=version_no,
        folder_path=out.folder_path,
        department_id=out.department_id,
        counterparty_id=out.counterparty_id,
        original_name=out.original_name,
        size=out.size,
        sha256=out.sha256,
        content_type=out.content_type,
        stored_by=caller.user_id,
    )
    events.add(session, "file.stored", event.model_dump(mode="json"))
    return out


def abort_upload(session: Session, caller: Identity, store: Store, upload_id: str) -> None:
    """The gateway could not store the bytes (too large, client gone): nothing is kept."""
    upload = _pending_upload(session, caller, upload_id)
    store.remove(upload.object_key)
    upload.state, upload.finished_at = "aborted", datetime.now(UTC)
    audit(session, caller, "upload.aborted", detail={"upload_id": upload_id})


# --- read -----------------------------------------------------------------------------


def get_file(session: Session, caller: Identity, file_id: str) -> schemas.File:
    file = _readable_file(session, caller, file_id)
    audit(session, caller, "file.read_card", file_id=file.id, folder_path=file.folder_path)
    return file_out(file, _versions(session, file.id))


def open_file(
    session: Session, caller: Identity, store: Store, file_id: str, version: int | None
) -> schemas.ReadTicket:
    """Authorise reading the bytes; the gateway streams them (or presigns a URL)."""
    file = _readable_file(session, caller, file_id)
    wanted = version if version is not None else file.current_version
    found = session.scalar(
        select(models.FileVersion).where(
            models.FileVersion.file_id == file.id, models.FileVersion.version_no == wanted
        )
    )
    if found is None:
        raise NotFound(f"file {file_id} has no version {wanted}")
    audit(session, caller, "file.read", file_id=file.id, version_no=wanted)
    return schemas.ReadTicket(
        file_id=str(file.id),
        version=wanted,
        bucket=store.bucket,
        key=found.object_key,
        s3_version_id=found.s3_version_id,
        size=found.size,
        sha256=found.sha256,
        content_type=found.content_type,
        original_name=found.original_name,
    )


def _parse_date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} is not a date", [{"loc": [field], "msg": "format"}]) from None


def list_files(
    session: Session,
    caller: Identity,
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
    """Search the cards the caller may read, newest first, keyset-paged."""
    size = clamp_limit(limit)
    File = models.File
    stmt = select(File).where(file_visible(caller))
    path = domain.normalise_path(folder)
    if path:
        stmt = stmt.where((File.folder_path == path) | File.folder_path.startswith(path + "/"))
    if counterparty_id:
        stmt = stmt.where(
            File.counterparty_id == parse_filter_id(counterparty_id, "counterparty_id")
        )
    if q and q.strip():
        stmt = stmt.where(File.search.op("@@")(func.websearch_to_tsquery("russian", q.strip())))
    if number:
        stmt = stmt.where(func.lower(File.number) == number.strip().lower())
    if doc_type:
        stmt = stmt.where(File.doc_type == doc_type)
    day = func.coalesce(File.document_date, func.date(func.timezone("UTC", File.created_at)))
    start, end = _parse_date(date_from, "date_from"), _parse_date(date_to, "date_to")
    if start:
        stmt = stmt.where(day >= start)
    if end:
        stmt = stmt.where(day <= end)
    after = decode_cursor(cursor)
    if after:
        try:
            moment, last_id = datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1]))
        except (ValueError, IndexError):
            raise InvalidInput("cursor is not valid", [{"loc": ["cursor"], "msg": "key"}]) from None
        stmt = stmt.where((File.created_at, File.id) < (moment, last_id))  # type: ignore[operator]
    stmt = stmt.order_by(File.created_at.desc(), File.id.desc()).limit(size + 1)
    rows = list(session.scalars(stmt))
    page, more = rows[:size], len(rows) > size
    audit(
        session,
        caller,
        "file.search",
        folder_path=path or None,
        detail={
            k: v
            for k, v in {
                "q": q,
                "counterparty_id": counterparty_id,
                "number": number,
                "type": doc_type,
                "date_from": date_from,
                "date_to": date_to,
                "found": len(page),
            }.items()
            if v is not None
        },
    )
    return {
        "items": [file_out(f).model_dump(mode="json") for f in page],
        "next_cursor": (
            encode_cursor([page[-1].created_at.isoformat(), str(page[-1].id)]) if more else None
        ),
    }


def list_folders(
    session: Session,
    caller: Identity,
    path: str | None,
    limit: int | None = None,
    cursor: str | None = None,
) -> schemas.FolderListing:
    """A folder and the folders right under it that the caller may see ("" is the root)."""
    size = clamp_limit(limit)
    canonical = domain.normalise_path(path)
    current: models.Folder | None = None
    if canonical:
        current = session.scalar(
            select(models.Folder).where(models.Folder.path == canonical, folder_visible(caller))
        )
        if current is None:
            raise NotFound(f"folder {canonical} does not exist")
    stmt = select(models.Folder).where(folder_visible(caller))
    if canonical:
        stmt = stmt.where(models.Folder.parent_path == canonical)
    else:
        stmt = stmt.where(models.Folder.parent_path.is_(None))
    after = decode_cursor(cursor)
    if after:
        stmt = stmt.where(models.Folder.path > str(after[0]))
    rows = list(session.scalars(stmt.order_by(models.Folder.path).limit(size + 1)))
    page, more = rows[:size], len(rows) > size
    return schemas.FolderListing(
        folder=folder_out(current) if current else None,
        items=[folder_out(f) for f in page],
        next_cursor=encode_cursor([page[-1].path]) if more else None,
    )


# --- rights ---------------------------------------------------------------------------


def grant(
    session: Session, caller: Identity, target: schemas.GrantTarget, user_ids: list[str]
) -> dict[str, Any]:
    """Let the people taking part in a process read a file or a folder's files.

    Called by the services that run processes (as the system or on behalf of
    a person who may file there).
    """
    people = sorted({str(parse_id(u, "user")) for u in user_ids})
    if not people:
        raise InvalidInput("name at least one person", [{"loc": ["user_ids"], "msg": "empty"}])
    if target.file_id is not None:
        file = _readable_file(session, caller, target.file_id)
        if not domain.may_write(caller, str(file.department_id)):
            raise Forbidden("Granting access needs the right to file into this folder")
        values: dict[str, Any] = {"file_id": file.id, "folder_path": None}
        where = "file_id IS NOT NULL"
        index = ["user_id", "file_id"]
        folder_path, file_id = file.folder_path, file.id
    else:
        if target.folder is not None:
            chain = domain.folder_chain(target.folder, caller)
            owner = chain[0].department_id
            if not domain.may_write(caller, owner):
                raise Forbidden("Granting access needs the right to file into this folder")
            folder_path = ensure_folders(session, chain, caller.user_id).path
        else:
            folder_path = domain.normalise_path(target.folder_path)
            found = session.scalar(select(models.Folder).where(models.Folder.path == folder_path))
            if found is None or not domain.may_read(caller, str(found.department_id), False):
                raise NotFound(f"folder {folder_path} does not exist")
            if not domain.may_write(caller, str(found.department_id)):
                raise Forbidden("Granting access needs the right to file into this folder")
        values = {"file_id": None, "folder_path": folder_path}
        where = "folder_path IS NOT NULL"
        index = ["user_id", "folder_path"]
        file_id = None
    added = 0
    for person in people:
        result = session.execute(
            insert(models.Grant)
            .values(user_id=person, granted_by=caller.user_id, **values)
            .on_conflict_do_nothing(index_elements=index, index_where=text(where))
            .returning(models.Grant.id)
        ).first()
        added += result is not None
    audit(
        session,
        caller,
        "access.granted",
        file_id=file_id,
        folder_path=folder_path,
        detail={"user_ids": people},
    )
    return {
        "granted": added,
        "user_ids": people,
        "folder_path": folder_path,
        "file_id": str(file_id) if file_id else None,
    }


# --- paper originals --------------------------------------------------------------------


def register_original(
    session: Session, caller: Identity, events: OutboxWriter, data: schemas.NewOriginal
) -> schemas.Original:
    if not domain.may_register_originals(caller):
        raise Forbidden(
            "Registering a paper original needs one of the roles: "
            + ", ".join(sorted(domain.ORIGINALS_KEEPERS))
        )
    if data.file_id is not None:
        _readable_file(session, caller, data.file_id)
    received_at = data.received_at
    if received_at.tzinfo is not None:
        # PostgreSQL keeps offsets within ±15:59; an instant is an instant, so store it in UTC.
        try:
            received_at = received_at.astimezone(UTC)
        except OverflowError:
            raise InvalidInput(
                "received_at is out of range", [{"loc": ["received_at"], "msg": "out of range"}]
            ) from None
    original = models.Original(
        document_kind=data.document_kind,
        document_id=data.document_id,
        received_by=uuid.UUID(data.received_by),
        received_at=received_at,
        storage_place=data.storage_place,
        file_id=uuid.UUID(data.file_id) if data.file_id else None,
        note=data.note,
        registered_by=caller.user_id,
    )
    session.add(original)
    session.flush()
    session.refresh(original)
    audit(
        session,
        caller,
        "original.registered",
        file_id=original.file_id,
        detail={
            "original_id": str(original.id),
            "document": f"{data.document_kind}:{data.document_id}",
            "storage_place": data.storage_place,
        },
    )
    events.add(
        session,
        "original.registered",
        schemas.OriginalRegistered(
            original_id=str(original.id),
            document_kind=original.document_kind,
            document_id=original.document_id,
            storage_place=original.storage_place,
            received_at=original.received_at,
        ).model_dump(mode="json"),
    )
    return original_out(original)


def list_originals(
    session: Session, caller: Identity, document: str | None
) -> list[schemas.Original]:
    stmt = select(models.Original).order_by(models.Original.received_at.desc())
    if document:
        kind, ident = domain.parse_document_ref(document)
        stmt = stmt.where(
            models.Original.document_kind == kind, models.Original.document_id == ident
        )
    rows = list(session.scalars(stmt.limit(500)))
    audit(session, caller, "original.search", detail={"document": document, "found": len(rows)})
    return [original_out(o) for o in rows]


def mark_stale_uploads(session: Session, older_than: datetime) -> list[str]:
    """Pending uploads the gateway never completed: their keys, now marked aborted."""
    rows = list(
        session.execute(
            update(models.Upload)
            .where(models.Upload.state == "pending", models.Upload.created_at < older_than)
            .values(state="aborted", finished_at=func.now())
            .returning(models.Upload.object_key)
        ).scalars()
    )
    return rows


def _system_grants(
    session: Session, people: list[str], *, file_id: uuid.UUID | None, folder_path: str | None
) -> int:
    """Read grants the system gives to people taking part in a process (idempotent)."""
    if file_id is not None:
        index, where = ["user_id", "file_id"], "file_id IS NOT NULL"
    else:
        index, where = ["user_id", "folder_path"], "folder_path IS NOT NULL"
    added = 0
    for person in people:
        result = session.execute(
            insert(models.Grant)
            .values(
                user_id=person, granted_by=SYSTEM.user_id, file_id=file_id, folder_path=folder_path
            )
            .on_conflict_do_nothing(index_elements=index, index_where=text(where))
            .returning(models.Grant.id)
        ).first()
        added += result is not None
    return added


def _people(user_ids: list[str]) -> list[str]:
    return sorted({str(uuid.UUID(u)) for u in user_ids if u})


def grant_to_participant(session: Session, card_id: str, user_ids: list[str]) -> int:
    """A person got a task on a contract or a letter: let them read its folder.

    Called for the route's ``task.assigned`` events. The folder exists once a file
    was filed for the card; a card without files has nothing to grant yet.
    """
    try:
        ref = uuid.UUID(card_id)
    except ValueError:
        return 0
    paths = session.scalars(
        select(models.Folder.path).where(
            models.Folder.ref_id == ref, models.Folder.kind.in_(("contract", "letter"))
        )
    ).all()
    people = _people(user_ids)
    return sum(_system_grants(session, people, file_id=None, folder_path=path) for path in paths)


def grant_file_to(session: Session, file_id: str, user_ids: list[str]) -> int:
    """Let these people read one file (a payment request's invoice for its approvers)."""
    try:
        ref = uuid.UUID(file_id)
    except ValueError:
        return 0
    if session.get(models.File, ref) is None:
        return 0
    return _system_grants(session, _people(user_ids), file_id=ref, folder_path=None)
