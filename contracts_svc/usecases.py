"""What contracts_svc does: cards, submission (with the statutory-document check),
mirroring the route on the card, the register and the paper original.

Calls to other services come in as callables (``Directory``), so these
functions know nothing of nameko and the tests can read them plainly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import any_, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts_svc import domain, models
from contracts_svc.settings import Settings
from services.auth import Identity
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.ids import parse_filter_id, parse_id
from services.outbox import OutboxWriter
from services.pagination import contains_pattern, newest_first
from services.references import (
    display_name,
    require_counterparty,
    require_employee,
    require_files,
)
from services.schemas import contracts as schemas
from services.workflow.commands import Resubmit
from services.workflow.host import Applied, ProcessHost
from services.workflow.model import OrgLookup
from services.workflow.store import CardLabel

PROCESS = "contract"


@dataclass(frozen=True)
class Directory:
    """What the use cases ask other services (RPC callables in the service)."""

    counterparty: Callable[[str], dict[str, Any]]
    documents: Callable[[str], dict[str, Any]]
    file: Callable[[str], dict[str, Any]]
    user: Callable[[str], dict[str, Any]]


def label(row: models.Contract) -> CardLabel:
    number = row.register_number or row.number
    title = (
        f"Договор {number} с {row.counterparty_name}"
        if number
        else (f"Договор с {row.counterparty_name}: {row.subject[:80]}")
    )
    return CardLabel(title=title, link=f"/contracts/{row.id}")


def access(row: models.Contract) -> domain.CardAccess:
    return domain.CardAccess(row.created_by, row.curator_id, row.department_id, row.participants)


def load(
    session: Session, caller: Identity, contract_id: str, *, lock: bool = False
) -> models.Contract:
    """The card, if the caller may see it; 404 otherwise (ids of others' cards reveal nothing)."""
    stmt = select(models.Contract).where(models.Contract.id == parse_id(contract_id, "contract"))
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None or not domain.may_view(caller, access(row)):
        raise NotFound(f"contract {contract_id} does not exist")
    return row


def contract_out(row: models.Contract, process: dict[str, Any] | None = None) -> schemas.Contract:
    return schemas.Contract(
        id=str(row.id),
        number=row.number,
        contract_type=row.contract_type,
        subject=row.subject,
        counterparty_id=str(row.counterparty_id),
        counterparty_name=row.counterparty_name,
        legal_entity_id=row.legal_entity_id,
        curator_id=row.curator_id,
        department_id=row.department_id,
        contract_date=row.contract_date,
        amount=row.amount,
        currency=row.currency,
        valid_until=row.valid_until,
        route_id=row.route_id,
        file_ids=list(row.file_ids),
        status=row.status,  # type: ignore[arg-type]
        responsible=list(row.responsible),
        documents_check=row.documents_check,
        register_number=row.register_number,
        registered_at=row.registered_at,
        original_storage_place=row.original_storage_place,
        original_received_at=row.original_received_at,
        signed_scan_id=row.signed_scan_id,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        process=process,  # type: ignore[arg-type]
    )


def create_contract(
    session: Session,
    caller: Identity,
    settings: Settings,
    directory: Directory,
    new: schemas.NewContract,
) -> models.Contract:
    department = new.department_id or caller.department_id
    if department != caller.department_id and not (
        caller.is_system or caller.roles & domain.READ_ALL_ROLES
    ):
        # Otherwise an author could place a contract where their department's
        # colleagues and head cannot see it, or into another department's view.
        raise Forbidden("a contract is filed under your own department")
    if not department:
        raise InvalidInput(
            "the contract needs a department: yours is not known, name one",
            [{"loc": ["department_id"], "msg": "required"}],
        )
    if new.curator_id and new.curator_id != caller.user_id:
        require_employee(directory.user, new.curator_id, "curator_id")
    name = display_name(require_counterparty(directory.counterparty, new.counterparty_id))
    require_files(directory.file, ((["file_ids", i], f) for i, f in enumerate(new.file_ids)))
    row = models.Contract(
        number=new.number,
        contract_type=new.contract_type,
        subject=new.subject,
        counterparty_id=uuid.UUID(new.counterparty_id),
        counterparty_name=name,
        legal_entity_id=new.legal_entity_id,
        curator_id=new.curator_id or caller.user_id,
        department_id=department,
        contract_date=new.contract_date,
        amount=new.amount,
        currency=new.currency,
        valid_until=new.valid_until,
        route_id=new.route_id or settings.contracts_default_route,
        file_ids=list(new.file_ids),
        status="draft",
        responsible=[caller.user_id],
        participants=[],
        created_by=caller.user_id,
        version=1,
    )
    session.add(row)
    session.flush()
    session.refresh(row)
    return row


def update_contract(
    session: Session,
    caller: Identity,
    directory: Directory,
    contract_id: str,
    patch: schemas.ContractPatch,
    expected_version: int | None,
) -> models.Contract:
    row = load(session, caller, contract_id, lock=True)
    if not domain.may_edit(caller, access(row)):
        raise Forbidden("only the author or the curator changes a contract")
    if row.status not in domain.EDITABLE:
        raise Conflict(
            f"a contract is changed only as a draft or after a return; it is {row.status}"
        )
    if expected_version is not None and expected_version != row.version:
        raise Conflict(
            f"the card changed meanwhile: version {row.version}, not {expected_version}",
            [{"loc": ["header", "If-Match"], "msg": f"current version is {row.version}"}],
        )
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("curator_id"):
        require_employee(directory.user, changes["curator_id"], "curator_id")
    if "file_ids" in changes:
        ids = changes["file_ids"] or []
        require_files(directory.file, ((["file_ids", i], f) for i, f in enumerate(ids)))
    for name, value in changes.items():
        if value is None and name in ("contract_type", "subject", "amount", "currency", "route_id"):
            raise InvalidInput(f"{name} cannot be emptied", [{"loc": [name], "msg": "required"}])
        if name == "route_id" and row.instance_id is not None:
            raise Conflict("the route is fixed once the contract was submitted")
        setattr(row, name, value if name != "file_ids" else list(value or []))
    if row.contract_date and row.valid_until and row.valid_until < row.contract_date:
        raise InvalidInput(
            "valid_until is before contract_date", [{"loc": ["valid_until"], "msg": "too early"}]
        )
    row.version += 1
    session.flush()
    return row


def engine_card(row: models.Contract) -> dict[str, Any]:
    """What the route sees of the card (assignee rules and conditions read it)."""
    return {
        "contract_id": str(row.id),
        "initiator_id": row.created_by,
        "curator_id": row.curator_id,
        "department_id": row.department_id,
        "counterparty_id": str(row.counterparty_id),
        "amount": str(row.amount),
        "currency": row.currency,
        "contract_type": row.contract_type,
    }


def submit(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    org: OrgLookup,
    host: ProcessHost,
    settings: Settings,
    directory: Directory,
    contract_id: str,
    comment: str | None,
    now: datetime,
) -> models.Contract:
    """Start approval (draft) or send the reworked contract back (returned)."""
    row = load(session, caller, contract_id, lock=True)
    if not domain.may_edit(caller, access(row)):
        raise Forbidden("only the author or the curator submits a contract")
    if row.status not in domain.EDITABLE:
        raise Conflict(f"the contract is {row.status}; only a draft or a returned one is submitted")
    check = directory.documents(str(row.counterparty_id))
    problems = domain.blocking_documents(check)
    if problems and settings.contracts_documents_policy == "block":
        raise InvalidInput(
            "the counterparty's statutory documents are not in order: "
            + "; ".join(e["msg"] for e in domain.document_errors(problems)),
            domain.document_errors(problems),
        )
    row.documents_check = {
        "checked_at": now.isoformat(),
        "complete": not problems,
        "problems": problems,
    }
    if row.instance_id is None:
        route = host.route(row.route_id)
        result = host.start(
            session,
            events,
            org,
            process=PROCESS,
            route=route,
            card_id=str(row.id),
            card=engine_card(row),
            initiator_id=row.created_by,
            now=now,
            label=label(row),
        )
        row.instance_id = result.instance.id
        mirror(row, result.instance)
    else:
        applied = host.apply(
            session,
            events,
            org,
            row.instance_id,
            Resubmit(caller.user_id, card=engine_card(row), comment=comment),
            now,
        )
        mirror(row, applied.instance)
    row.version += 1
    session.flush()
    return row


def mirror(row: models.Contract, instance: Any) -> None:
    row.status = domain.status_of(instance)
    row.responsible = list(instance.responsible)
    row.participants = domain.participants_of(instance, row.participants)


def on_change(session: Session, events: OutboxWriter, settings: Settings, applied: Applied) -> None:
    """Mirror the instance on the card; register the contract and hand its original
    to the archive when those tasks are completed."""
    row = session.get(models.Contract, uuid.UUID(applied.before.card_id), with_for_update=True)
    if row is None:  # pragma: no cover - instances are created with their card
        return
    instance = applied.instance
    signed = domain.completed_outputs(instance, "sign")
    if signed and signed.get("signed_scan"):
        row.signed_scan_id = signed["signed_scan"]
    if row.register_number is None and domain.completed_outputs(instance, "register") is not None:
        register(session, events, settings, row, instance.updated_at)
    original = domain.completed_outputs(instance, "original")
    if original is not None and row.original_received_at is None:
        decision = next(d for d in reversed(instance.decisions) if d.step_id == "original")
        row.original_storage_place = original["storage_place"]
        row.original_received_at = decision.at
        events.add(
            session,
            "contract.original_received",
            schemas.OriginalReceived(
                contract_id=str(row.id),
                received_by=decision.actor_id,
                received_at=decision.at,
                storage_place=original["storage_place"],
                file_id=row.signed_scan_id,
                register_number=row.register_number,
            ).model_dump(mode="json"),
        )
    mirror(row, instance)
    row.version += 1


def register(
    session: Session,
    events: OutboxWriter,
    settings: Settings,
    row: models.Contract,
    at: datetime,
) -> None:
    """The next number of the year. The counter row is locked until commit, so two
    registrations wait for each other; a rollback gives the number back (no gaps)."""
    year = at.astimezone(ZoneInfo(settings.timezone)).year
    seq = session.execute(
        insert(models.RegisterCounter)
        .values(year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=[models.RegisterCounter.year],
            set_={"last_seq": models.RegisterCounter.last_seq + 1},
        )
        .returning(models.RegisterCounter.last_seq)
    ).scalar_one()
    row.register_year = year
    row.register_seq = seq
    row.register_number = domain.register_number(settings.contracts_register_prefix, year, seq)
    row.registered_at = at
    card = label(row)
    events.add(
        session,
        "contract.registered",
        schemas.ContractRegistered(
            contract_id=str(row.id),
            register_number=row.register_number,
            curator_id=row.curator_id,
            title=card.title,
            link=card.link,
        ).model_dump(mode="json"),
    )


def visible_filter(caller: Identity) -> Any:
    """SQL for "contracts the caller may see" (mirrors ``domain.may_view``)."""
    c = models.Contract
    if caller.is_system or caller.roles & domain.READ_ALL_ROLES:
        return None
    clauses = [
        c.created_by == caller.user_id,
        c.curator_id == caller.user_id,
        literal(caller.user_id) == any_(c.participants),
    ]
    if caller.department_id:
        clauses.append(c.department_id == caller.department_id)
    return or_(*clauses)


def list_contracts(
    session: Session,
    caller: Identity,
    status: str | None,
    counterparty_id: str | None,
    q: str | None,
    limit: int | None,
    cursor: str | None,
) -> dict[str, Any]:
    c = models.Contract
    stmt = select(c)
    visible = visible_filter(caller)
    if visible is not None:
        stmt = stmt.where(visible)
    if status:
        stmt = stmt.where(c.status == status)
    if counterparty_id:
        stmt = stmt.where(c.counterparty_id == parse_filter_id(counterparty_id, "counterparty_id"))
    if q:
        pattern = contains_pattern(q)
        stmt = stmt.where(
            or_(
                c.subject.ilike(pattern),
                c.number.ilike(pattern),
                c.register_number.ilike(pattern),
                c.counterparty_name.ilike(pattern),
            )
        )
    page, next_cursor = newest_first(session, stmt, c.created_at, c.id, limit, cursor)
    return {
        "items": [contract_out(r).model_dump(mode="json") for r in page],
        "next_cursor": next_cursor,
    }


def contract_register(session: Session, caller: Identity, year: int) -> schemas.Register:
    c = models.Contract
    stmt = select(c).where(c.register_year == year).order_by(c.register_seq)
    visible = visible_filter(caller)
    if visible is not None:
        stmt = stmt.where(visible)
    items = [
        schemas.RegisterEntry(
            register_number=row.register_number or "",
            registered_at=row.registered_at,  # type: ignore[arg-type]
            contract_id=str(row.id),
            number=row.number,
            counterparty_name=row.counterparty_name,
            subject=row.subject,
            amount=row.amount,
            currency=row.currency,
            contract_date=row.contract_date,
            valid_until=row.valid_until,
        )
        for row in session.scalars(stmt)
    ]
    return schemas.Register(year=year, items=items)
