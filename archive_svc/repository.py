"""SQL side of the archive: folders on first use, the visibility filter, rows to contracts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, exists, false, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from archive_svc import domain, models
from services.auth import Identity
from services.logs import current_correlation_id
from services.schemas import archive as schemas


def ensure_folders(session: Session, chain: list[domain.FolderSpec], actor: str) -> models.Folder:
    """Create the missing folders of ``chain`` (race-safe) and return the innermost one."""
    for spec in chain:
        session.execute(
            insert(models.Folder)
            .values(
                id=uuid.uuid4(),
                path=spec.path,
                parent_path=spec.parent_path,
                kind=spec.kind,
                ref_id=uuid.UUID(spec.ref_id),
                department_id=uuid.UUID(spec.department_id),
                counterparty_id=uuid.UUID(spec.counterparty_id) if spec.counterparty_id else None,
                title=spec.title,
                created_by=actor,
            )
            .on_conflict_do_nothing(index_elements=["path"])
        )
    leaf = session.scalar(select(models.Folder).where(models.Folder.path == chain[-1].path))
    assert leaf is not None
    return leaf


def _department_of(identity: Identity) -> uuid.UUID | None:
    try:
        return uuid.UUID(identity.department_id) if identity.department_id else None
    except ValueError:
        return None


def _path_granted(identity: Identity, path_column: Any) -> ColumnElement[bool]:
    """A grant on this folder or on any folder above it."""
    return exists().where(
        models.Grant.user_id == identity.user_id,
        models.Grant.folder_path.is_not(None),
        or_(
            path_column == models.Grant.folder_path,
            path_column.startswith(models.Grant.folder_path + literal("/"), autoescape=False),
        ),
    )


def file_visible(identity: Identity) -> ColumnElement[bool]:
    """``domain.may_read`` as a WHERE clause over ``files`` (lists must not leak either)."""
    if domain.role_allows(identity, "read"):
        return true()
    department = _department_of(identity)
    own = models.File.department_id == department if department else false()
    file_granted = exists().where(
        models.Grant.user_id == identity.user_id, models.Grant.file_id == models.File.id
    )
    return or_(own, file_granted, _path_granted(identity, models.File.folder_path))


def folder_visible(identity: Identity) -> ColumnElement[bool]:
    if domain.role_allows(identity, "read"):
        return true()
    department = _department_of(identity)
    own = models.Folder.department_id == department if department else false()
    # A folder is also visible when something below it was granted, so the way down shows.
    below = exists().where(
        models.Grant.user_id == identity.user_id,
        models.Grant.folder_path.is_not(None),
        models.Grant.folder_path.startswith(models.Folder.path + literal("/"), autoescape=False),
    )
    granted_file_below = exists().where(
        models.Grant.user_id == identity.user_id,
        models.Grant.file_id == models.File.id,
        or_(
            models.File.folder_path == models.Folder.path,
            models.File.folder_path.startswith(models.Folder.path + literal("/"), autoescape=False),
        ),
    )
    return or_(own, _path_granted(identity, models.Folder.path), below, granted_file_below)


def is_granted(session: Session, identity: Identity, file: models.File) -> bool:
    file_grant = session.scalar(
        select(func.count())
        .select_from(models.Grant)
        .where(models.Grant.user_id == identity.user_id, models.Grant.file_id == file.id)
    )
    if file_grant:
        return True
    folder_grant = session.scalar(
        select(func.count())
        .select_from(models.Grant)
        .where(
            models.Grant.user_id == identity.user_id,
            models.Grant.folder_path.is_not(None),
            or_(
                literal(file.folder_path) == models.Grant.folder_path,
                literal(file.folder_path).startswith(
                    models.Grant.folder_path + literal("/"), autoescape=False
                ),
            ),
        )
    )
    return bool(folder_grant)


def audit(
    session: Session,
    identity: Identity,
    action: str,
    *,
    file_id: uuid.UUID | None = None,
    version_no: int | None = None,
    folder_path: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        models.AuditEntry(
            actor_id=identity.user_id,
            action=action,
            file_id=file_id,
            version_no=version_no,
            folder_path=folder_path,
            detail=detail or {},
            correlation_id=current_correlation_id(),
        )
    )


def folder_out(folder: models.Folder) -> schemas.Folder:
    return schemas.Folder(
        id=str(folder.id),
        path=folder.path,
        kind=folder.kind,
        title=folder.title,
        department_id=str(folder.department_id),
        counterparty_id=str(folder.counterparty_id) if folder.counterparty_id else None,
        parent_path=folder.parent_path,
        created_at=folder.created_at,
    )


def version_out(version: models.FileVersion) -> schemas.FileVersion:
    return schemas.FileVersion(
        version=version.version_no,
        size=version.size,
        sha256=version.sha256,
        content_type=version.content_type,
        original_name=version.original_name,
        created_by=version.created_by,
        created_at=version.created_at,
    )


def file_out(file: models.File, versions: list[models.FileVersion] | None = None) -> schemas.File:
    return schemas.File(
        id=str(file.id),
        folder_path=file.folder_path,
        department_id=str(file.department_id),
        counterparty_id=str(file.counterparty_id) if file.counterparty_id else None,
        counterparty_name=file.counterparty_name,
        title=file.title,
        number=file.number,
        doc_type=file.doc_type,
        document_date=file.document_date,
        description=file.description,
        original_name=file.original_name,
        version=file.current_version,
        size=file.size,
        sha256=file.sha256,
        content_type=file.content_type,
        created_by=file.created_by,
        created_at=file.created_at,
        updated_at=file.updated_at,
        versions=[version_out(v) for v in versions] if versions is not None else None,
    )


def original_out(original: models.Original) -> schemas.Original:
    return schemas.Original(
        id=str(original.id),
        document_kind=original.document_kind,
        document_id=original.document_id,
        received_by=str(original.received_by),
        received_at=original.received_at,
        storage_place=original.storage_place,
        file_id=str(original.file_id) if original.file_id else None,
        note=original.note,
        registered_by=original.registered_by,
        created_at=original.created_at,
    )
