"""Frozen (Заморозка) and Documents requested (Запрос документов): pauses of a
payment request's route.

A pause is the engine's ``Suspend``: nobody decides on the request (409), its
timers (deadline, "not started" checks, reminder, escalation) are taken off.
Going on is ``Resume``: each timer is set again with the working time it still
had, and the deadline and the watch move later by the working time spent
paused, so nobody is reminded for days the request sat frozen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from payments_svc import domain, models
from payments_svc.usecases import Directory, label, load, mirror
from services.auth import Identity
from services.errors import Conflict, Forbidden
from services.outbox import OutboxWriter
from services.references import require_file
from services.schemas import payments as schemas
from services.workflow.commands import Resume, Suspend
from services.workflow.host import ProcessHost
from services.workflow.model import OrgLookup

ACTIVE = ("in_approval", "in_payment")


def _log(
    session: Session,
    row: models.PaymentRequest,
    action: str,
    actor: str,
    now: datetime,
    comment: str | None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        models.StageEntry(
            request_id=row.id,
            at=now,
            action=action,
            actor_id=actor,
            comment=comment,
            data=data or {},
        )
    )


def _may_pause(caller: Identity, row: models.PaymentRequest) -> bool:
    return bool(caller.roles & domain.STAGE_ROLES) or caller.user_id in row.responsible


def _loaded(session: Session, caller: Identity, request_id: str) -> models.PaymentRequest:
    row = load(session, caller, request_id, lock=True)
    return row


def _pause(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    org: OrgLookup,
    host: ProcessHost,
    request_id: str,
    stage: str,
    comment: str,
    now: datetime,
) -> models.PaymentRequest:
    row = _loaded(session, caller, request_id)
    if not _may_pause(caller, row):
        raise Forbidden(
            "only the people who must act on the request, finance and management pause it"
        )
    if row.stage is not None or row.status not in ACTIVE:
        raise Conflict(
            f"the request is {row.status}; only a request in approval or payment is paused",
            [{"loc": ["status"], "msg": row.status}],
        )
    assert row.instance_id is not None
    applied = host.apply(
        session, events, org, row.instance_id, Suspend(caller.user_id, comment), now
    )
    row.stage, row.stage_since, row.stage_by, row.stage_comment = (
        stage,
        now,
        caller.user_id,
        comment,
    )
    mirror(row, applied.instance)
    _log(
        session,
        row,
        f"{stage}",
        caller.user_id,
        now,
        comment,
        {"held_timers": len(applied.instance.held)},
    )
    row.version += 1
    session.flush()
    return row


def _resume(
    session: Session,
    events: OutboxWriter,
    org: OrgLookup,
    host: ProcessHost,
    row: models.PaymentRequest,
    actor: str,
    action: str,
    now: datetime,
    comment: str | None,
    data: dict[str, Any] | None = None,
) -> models.PaymentRequest:
    assert row.instance_id is not None and row.stage_since is not None
    applied = host.apply(session, events, org, row.instance_id, Resume(actor, comment), now)
    paused = host.engine.calendar.working_time_between(row.stage_since, now)
    restored = [
        {"kind": t.kind, "fire_at": t.fire_at.isoformat()} for t in applied.result.timers_to_set
    ]
    row.stage = row.stage_since = row.stage_by = row.stage_comment = None
    mirror(row, applied.instance)
    _log(
        session,
        row,
        action,
        actor,
        now,
        comment,
        {
            **(data or {}),
            "paused_working_minutes": int(paused.total_seconds() // 60),
            "timers": restored,
        },
    )
    row.version += 1
    session.flush()
    return row


def freeze(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    org: OrgLookup,
    host: ProcessHost,
    request_id: str,
    comment: str,
    now: datetime,
) -> models.PaymentRequest:
    return _pause(session, caller, events, org, host, request_id, "frozen", comment, now)


def unfreeze(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    org: OrgLookup,
    host: ProcessHost,
    request_id: str,
    comment: str,
    now: datetime,
) -> models.PaymentRequest:
    row = _loaded(session, caller, request_id)
    if row.stage != "frozen":
        raise Conflict("the request is not frozen", [{"loc": ["status"], "msg": row.status}])
    if not (caller.roles & domain.STAGE_ROLES or caller.user_id == row.stage_by):
        raise Forbidden("the person who froze the request, finance or management unfreeze it")
    return _resume(session, events, org, host, row, caller.user_id, "unfrozen", now, comment)


def request_documents(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    org: OrgLookup,
    host: ProcessHost,
    request_id: str,
    comment: str,
    now: datetime,
) -> models.PaymentRequest:
    row = _pause(
        session, caller, events, org, host, request_id, "documents_requested", comment, now
    )
    card = label(row)
    events.add(
        session,
        "payment_request.documents_requested",
        schemas.DocumentsRequested(
            request_id=str(row.id),
            initiator_id=row.initiator_id,
            actor_id=caller.user_id,
            comment=comment,
            title=card.title,
            link=card.link,
        ).model_dump(mode="json"),
    )
    return row


def provide_documents(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    org: OrgLookup,
    host: ProcessHost,
    directory: Directory,
    request_id: str,
    data: schemas.ProvideDocuments,
    now: datetime,
) -> models.PaymentRequest:
    row = _loaded(session, caller, request_id)
    if row.stage != "documents_requested":
        raise Conflict(
            "no documents were requested for this request", [{"loc": ["status"], "msg": row.status}]
        )
    if caller.user_id != row.initiator_id and not caller.has_role("admin"):
        raise Forbidden("the initiator provides the requested documents")
    for index, file_id in enumerate(data.file_ids):
        require_file(directory.file, file_id, ["file_ids", index])
    row.document_file_ids = [*row.document_file_ids, *data.file_ids]
    return _resume(
        session,
        events,
        org,
        host,
        row,
        caller.user_id,
        "documents_provided",
        now,
        data.comment,
        {"file_ids": list(data.file_ids)},
    )
