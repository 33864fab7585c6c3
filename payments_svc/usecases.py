"""What payments_svc does with payment requests: saving one starts its route,
the card mirrors the route (status, responsible, participants), Paid tells the
initiator. Stages (freeze, documents requested) live in ``stages``, registries
in ``registries``.

Calls to other services come in as callables (``Directory``), so these
functions know nothing of nameko.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import any_, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from payments_svc import domain, models
from payments_svc.settings import Settings
from services.auth import Identity
from services.errors import InvalidInput, NotFound
from services.ids import parse_filter_id, parse_id
from services.outbox import OutboxWriter
from services.pagination import newest_first
from services.references import display_name, require_counterparty, require_file
from services.schemas import payments as schemas
from services.workflow.host import Applied, ProcessHost
from services.workflow.model import Instance, OrgLookup
from services.workflow.store import CardLabel

PROCESS = "payment_request"
ROUTE = "payment_request"


@dataclass(frozen=True)
class Directory:
    """What the use cases ask other services (RPC callables in the service)."""

    counterparty: Callable[[str], dict[str, Any]]
    file: Callable[[str], dict[str, Any]]
    legal_entities: Callable[[], list[dict[str, Any]]]


def next_number(
    session: Session, kind: str, prefix: str, at: datetime, tz: str
) -> tuple[int, int, str]:
    """The next number of the year; the counter row stays locked until commit (no gaps)."""
    year = at.astimezone(ZoneInfo(tz)).year
    seq = session.execute(
        insert(models.NumberCounter)
        .values(kind=kind, year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=[models.NumberCounter.kind, models.NumberCounter.year],
            set_={"last_seq": models.NumberCounter.last_seq + 1},
        )
        .returning(models.NumberCounter.last_seq)
    ).scalar_one()
    return year, seq, domain.number(prefix, year, seq)


def department_head(org: OrgLookup, user_id: str, at: datetime) -> str | None:
    """The head of the person's department (not a deputy standing in for them)."""
    found = org.resolve({"kind": "department_head", "user_id": user_id}, at)
    return (found[0].on_behalf_of or found[0].user_id) if found else None


def legal_entity(directory: Directory, entity_id: str | None, loc: str) -> dict[str, Any] | None:
    entities = directory.legal_entities()
    if entity_id is None:
        return entities[0] if entities else None
    for entity in entities:
        if entity["id"] == entity_id:
            return entity
    raise InvalidInput(
        f"legal entity {entity_id} does not exist", [{"loc": [loc], "msg": "unknown legal entity"}]
    )


# --- cards --------------------------------------------------------------------------


def label(row: models.PaymentRequest) -> CardLabel:
    return CardLabel(
        title=f"Заявка на оплату {row.number}: {row.counterparty_name}, "
        f"{row.amount:.2f} {row.currency}",
        link=f"/payment-requests/{row.id}",
    )


def access(row: models.PaymentRequest) -> domain.CardAccess:
    return domain.CardAccess(row.initiator_id, row.department_head_id, row.participants)


def load(
    session: Session, caller: Identity, request_id: str, *, lock: bool = False
) -> models.PaymentRequest:
    """The card, if the caller may see it; 404 otherwise (ids of others' cards reveal nothing)."""
    stmt = select(models.PaymentRequest).where(
        models.PaymentRequest.id == parse_id(request_id, "payment request")
    )
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None or not domain.may_view(caller, access(row)):
        raise NotFound(f"payment request {request_id} does not exist")
    return row


def request_out(
    row: models.PaymentRequest, process: dict[str, Any] | None = None
) -> schemas.PaymentRequest:
    stage = None
    if row.stage is not None and row.stage_since is not None and row.stage_by is not None:
        stage = schemas.Stage(
            stage=row.stage,  # type: ignore[arg-type]
            since=row.stage_since,
            by=row.stage_by,
            comment=row.stage_comment,
        )
    return schemas.PaymentRequest(
        id=str(row.id),
        number=row.number,
        counterparty_id=str(row.counterparty_id),
        counterparty_name=row.counterparty_name,
        amount=row.amount,
        currency=row.currency,
        cost_item=row.cost_item,
        contract_id=row.contract_id,
        due_date=row.due_date,
        invoice_file_id=row.invoice_file_id,
        purpose=row.purpose,
        legal_entity_id=row.legal_entity_id,
        replaces_id=str(row.replaces_id) if row.replaces_id else None,
        initiator_id=row.initiator_id,
        department_id=row.department_id,
        status=row.status,  # type: ignore[arg-type]
        payment_due_at=row.payment_due_at,
        responsible=list(row.responsible),
        stage=stage,
        document_file_ids=list(row.document_file_ids),
        registry_id=str(row.registry_id) if row.registry_id else None,
        rejection_reason=row.rejection_reason,
        rejection_comment=row.rejection_comment,
        payment_date=row.payment_date,
        payment_order_file_id=row.payment_order_file_id,
        paid_at=row.paid_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        process=process,  # type: ignore[arg-type]
    )


def engine_card(row: models.PaymentRequest, initiator_is_head: bool) -> dict[str, Any]:
    """What the route sees of the card (assignee rules, conditions, the due date)."""
    return {
        "request_id": str(row.id),
        "initiator_id": row.initiator_id,
        "initiator_is_department_head": initiator_is_head,
        "department_id": row.department_id,
        "counterparty_id": str(row.counterparty_id),
        "amount": str(row.amount),
        "currency": row.currency,
        "cost_item": row.cost_item,
        "due_date": row.due_date.isoformat() if row.due_date else None,
    }


def create_request(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    org: OrgLookup,
    host: ProcessHost,
    settings: Settings,
    directory: Directory,
    new: schemas.NewPaymentRequest,
    now: datetime,
) -> models.PaymentRequest:
    """Save the request and start its route in one transaction."""
    if not caller.department_id:
        raise InvalidInput(
            "your department is not known: the request needs one for its approval",
            [{"loc": ["department_id"], "msg": "required"}],
        )
    name = display_name(require_counterparty(directory.counterparty, new.counterparty_id))
    require_file(directory.file, new.invoice_file_id, ["invoice_file_id"])
    entity = legal_entity(directory, new.legal_entity_id, "legal_entity_id")
    if new.replaces_id is not None:
        replaced = session.get(models.PaymentRequest, uuid.UUID(new.replaces_id))
        if replaced is None or not domain.may_view(caller, access(replaced)):
            raise InvalidInput(
                f"payment request {new.replaces_id} does not exist",
                [{"loc": ["replaces_id"], "msg": "unknown request"}],
            )
        if replaced.status != "rejected":
            raise InvalidInput(
                "only a rejected request is replaced by a new one",
                [{"loc": ["replaces_id"], "msg": f"the request is {replaced.status}"}],
            )
    head = department_head(org, caller.user_id, now)
    year, seq, number = next_number(
        session, "request", settings.payments_request_prefix, now, settings.timezone
    )
    row = models.PaymentRequest(
        number=number,
        number_year=year,
        number_seq=seq,
        counterparty_id=uuid.UUID(new.counterparty_id),
        counterparty_name=name,
        amount=new.amount,
        currency=new.currency,
        cost_item=new.cost_item,
        contract_id=new.contract_id,
        due_date=new.due_date,
        invoice_file_id=new.invoice_file_id,
        purpose=new.purpose or domain.default_purpose(new.invoice_number, new.cost_item),
        legal_entity_id=entity["id"] if entity else None,
        replaces_id=uuid.UUID(new.replaces_id) if new.replaces_id else None,
        initiator_id=caller.user_id,
        department_id=caller.department_id,
        department_head_id=head,
        status="in_approval",
        payment_due_at=domain.accountants_deadline(
            host.engine.calendar,
            now,
            new.due_date,
            domain.parse_cutoff(settings.payments_cutoff),
        ),
        responsible=[],
        participants=[],
        document_file_ids=[],
        version=1,
    )
    session.add(row)
    session.flush()
    result = host.start(
        session,
        events,
        org,
        process=PROCESS,
        route=host.route(ROUTE),
        card_id=str(row.id),
        card=engine_card(row, head == caller.user_id),
        initiator_id=caller.user_id,
        now=now,
        label=label(row),
    )
    row.instance_id = result.instance.id
    mirror(row, result.instance)
    session.flush()
    session.refresh(row)
    return row


def mirror(row: models.PaymentRequest, instance: Instance) -> None:
    row.status = domain.request_status(instance, row.stage)
    row.participants = domain.participants_of(instance, row.participants)
    if row.stage == "frozen" and instance.state not in domain.FINAL:
        row.responsible = [row.stage_by] if row.stage_by else []
    elif row.stage == "documents_requested" and instance.state not in domain.FINAL:
        row.responsible = [row.initiator_id]
    else:
        row.responsible = list(instance.responsible)


def on_change(
    session: Session,
    events: OutboxWriter,
    directory: Directory | None,
    applied: Applied,
) -> None:
    """Mirror the instance on the card; Paid. (A paused card's route is suspended: the
    engine itself refuses decisions on it.)"""
    row = session.get(
        models.PaymentRequest, uuid.UUID(applied.before.card_id), with_for_update=True
    )
    if row is None:  # pragma: no cover - instances are created with their card
        return
    instance = applied.instance
    order = domain.completed_outputs(instance, "payment", subtask=True)
    if order and row.payment_order_file_id is None:
        if directory is not None:
            require_file(
                directory.file, order["payment_order_file"], ["outputs", "payment_order_file"]
            )
        row.payment_order_file_id = order["payment_order_file"]
    if instance.state == "rejected" and row.rejection_comment is None:
        row.rejection_reason, row.rejection_comment = domain.rejection(instance)
    mirror(row, instance)
    if instance.state == "completed" and row.paid_at is None:
        payment = domain.completed_outputs(instance, "payment")
        row.payment_date = _date(payment.get("payment_date"))
        row.paid_at = instance.updated_at
        card = label(row)
        events.add(
            session,
            "payment.paid",
            schemas.PaymentPaid(
                request_id=str(row.id),
                initiator_id=row.initiator_id,
                amount=f"{row.amount:.2f}",
                currency=row.currency,
                title=card.title,
                link=card.link,
            ).model_dump(mode="json"),
        )
    row.version += 1


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


# --- lists and history ----------------------------------------------------------------


def visible_filter(caller: Identity) -> Any:
    """SQL for "requests the caller may see" (mirrors ``domain.may_view``)."""
    r = models.PaymentRequest
    if caller.is_system or caller.roles & domain.READ_ALL_ROLES:
        return None
    return or_(
        r.initiator_id == caller.user_id,
        r.department_head_id == caller.user_id,
        literal(caller.user_id) == any_(r.participants),
    )


def list_requests(
    session: Session,
    caller: Identity,
    status: str | None,
    counterparty_id: str | None,
    limit: int | None,
    cursor: str | None,
) -> dict[str, Any]:
    r = models.PaymentRequest
    stmt = select(r)
    visible = visible_filter(caller)
    if visible is not None:
        stmt = stmt.where(visible)
    if status:
        if status not in models.REQUEST_STATUSES:
            raise InvalidInput("unknown status", [{"loc": ["status"], "msg": "unknown status"}])
        stmt = stmt.where(r.status == status)
    if counterparty_id:
        stmt = stmt.where(r.counterparty_id == parse_filter_id(counterparty_id, "counterparty_id"))
    page, next_cursor = newest_first(session, stmt, r.created_at, r.id, limit, cursor)
    return {
        "items": [request_out(x).model_dump(mode="json") for x in page],
        "next_cursor": next_cursor,
    }


def timeline(
    session: Session, host: ProcessHost, row: models.PaymentRequest
) -> list[dict[str, Any]]:
    """The route's entries and the card's stage changes, in time order."""
    merged: list[dict[str, Any]] = []
    if row.instance_id is not None:
        for entry in host.timeline(session, row.instance_id):
            merged.append({**entry, "source": "route"})
    stages = session.scalars(
        select(models.StageEntry)
        .where(models.StageEntry.request_id == row.id)
        .order_by(models.StageEntry.id)
    )
    for stage in stages:
        merged.append(
            {
                "source": "card",
                "at": stage.at.isoformat(),
                "action": stage.action,
                "actor_id": stage.actor_id,
                "comment": stage.comment,
                "data": stage.data,
            }
        )
    merged.sort(key=lambda e: datetime.fromisoformat(str(e["at"])))
    return [schemas.CardTimelineEntry.model_validate(e).model_dump(mode="json") for e in merged]
