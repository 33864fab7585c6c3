"""What mail_svc does with letters: registration (journal numbers), the routes,
mirroring an instance on the card, a reply started from an incoming letter,
and the lists people see.

Calls to other services come in as callables (``Directory``), so these
functions know nothing of nameko and read plainly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mail_svc import domain, jobs, models
from mail_svc.settings import Settings
from services.auth import ADMIN_ROLE, Identity
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.ids import parse_filter_id, parse_id
from services.outbox import OutboxWriter
from services.pagination import newest_first
from services.references import (
    display_name,
    require_counterparty,
    require_employee,
    require_files,
)
from services.schemas import letters as schemas
from services.workflow.commands import AddReviewer, Resubmit
from services.workflow.host import Applied, ProcessHost
from services.workflow.model import Instance, OrgLookup
from services.workflow.store import CardLabel


@dataclass(frozen=True)
class Directory:
    """What the use cases ask other services (RPC callables in the service)."""

    counterparty: Callable[[str], dict[str, Any]]
    legal_entities: Callable[[], list[dict[str, Any]]]
    user: Callable[[str], dict[str, Any]]
    #: The archive file card, read as the caller: attaching needs the right to read it.
    file: Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Context:
    """Everything a use case that moves a route needs besides the session."""

    events: OutboxWriter
    org: OrgLookup
    host: ProcessHost
    settings: Settings
    directory: Directory


# --- reading ------------------------------------------------------------------------


def label(row: models.Letter) -> CardLabel:
    kind = "Входящее" if row.direction == "incoming" else "Исходящее"
    number = f" {row.journal_number}" if row.journal_number else ""
    title = f"{kind} письмо{number} ({row.counterparty_name}): {row.subject}"
    return CardLabel(title=title[:300], link=f"/letters/{row.id}")


def access(row: models.Letter) -> domain.LetterAccess:
    return domain.LetterAccess(row.created_by, row.responsible_id, row.participants)


def load(
    session: Session, caller: Identity, letter_id: str, *, lock: bool = False
) -> models.Letter:
    """The letter, if the caller may see it; 404 otherwise (ids reveal nothing)."""
    stmt = select(models.Letter).where(models.Letter.id == parse_id(letter_id, "letter"))
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None or not domain.may_view(caller, access(row)):
        raise NotFound(f"letter {letter_id} does not exist")
    return row


def letter_out(
    row: models.Letter, process: dict[str, Any] | None = None, job: models.LetterJob | None = None
) -> schemas.Letter:
    return schemas.Letter(
        id=str(row.id),
        direction=row.direction,  # type: ignore[arg-type]
        journal_number=row.journal_number,
        registered_at=row.registered_at,
        legal_entity_id=row.legal_entity_id,
        legal_entity_name=row.legal_entity_name,
        counterparty_id=str(row.counterparty_id),
        counterparty_name=row.counterparty_name,
        counterparty_category=row.counterparty_category,
        subject=row.subject,
        document_number=row.document_number,
        document_date=row.document_date,
        received_date=row.received_date,
        control_date=row.control_date,
        responsible_id=row.responsible_id,
        department_id=row.department_id,
        scan_file_id=row.scan_file_id,
        letter_file_id=row.letter_file_id,
        file_ids=list(row.file_ids),
        email_to=list(row.email_to),
        reply_needed=row.reply_needed,
        reply_to_id=str(row.reply_to_id) if row.reply_to_id else None,
        reply_id=str(row.reply_id) if row.reply_id else None,
        status=row.status,  # type: ignore[arg-type]
        responsible=list(row.responsible),
        dispatch=dispatch_out(row, job),
        archive_folder=row.archive_folder,
        archived_file_ids=list(row.archived_file_ids),
        filed_at=row.filed_at,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        process=process,  # type: ignore[arg-type]
    )


def dispatch_out(row: models.Letter, job: models.LetterJob | None) -> schemas.Dispatch | None:
    if row.delivery == "post":
        return schemas.Dispatch(
            channel="post",
            state="posted",
            email_to=[],
            message_id=None,
            attempts=0,
            last_error=None,
            sent_at=row.posted_at,
        )
    if row.delivery != "email" or job is None:
        return None
    state = {"pending": "pending", "running": "sending", "done": "sent", "failed": "failed"}
    return schemas.Dispatch(
        channel="email",
        state=state[job.state],  # type: ignore[arg-type]
        email_to=list(row.email_to),
        message_id=job.message_id,
        attempts=job.attempts,
        last_error=job.last_error,
        sent_at=job.done_at,
    )


def email_job(session: Session, row: models.Letter) -> models.LetterJob | None:
    return session.scalar(
        select(models.LetterJob).where(
            models.LetterJob.letter_id == row.id, models.LetterJob.kind == "email"
        )
    )


def visible_filter(caller: Identity) -> Any:
    """SQL for "letters the caller may see" (mirrors ``domain.may_view``)."""
    t = models.Letter
    if caller.is_system or caller.roles & domain.READ_ALL_ROLES:
        return None
    return or_(
        t.created_by == caller.user_id,
        t.responsible_id == caller.user_id,
        t.participants.any(caller.user_id),  # type: ignore[arg-type]
    )


def list_letters(
    session: Session,
    caller: Identity,
    direction: str | None,
    legal_entity: str | None,
    counterparty_id: str | None,
    limit: int | None,
    cursor: str | None,
) -> dict[str, Any]:
    t = models.Letter
    stmt = select(t)
    visible = visible_filter(caller)
    if visible is not None:
        stmt = stmt.where(visible)
    if direction:
        if direction not in models.DIRECTIONS:
            raise InvalidInput(
                "direction is incoming or outgoing", [{"loc": ["direction"], "msg": "unknown"}]
            )
        stmt = stmt.where(t.direction == direction)
    if legal_entity:
        stmt = stmt.where(t.legal_entity_id == str(parse_filter_id(legal_entity, "legal_entity")))
    if counterparty_id:
        stmt = stmt.where(t.counterparty_id == parse_filter_id(counterparty_id, "counterparty_id"))
    page, next_cursor = newest_first(session, stmt, t.created_at, t.id, limit, cursor)
    return {
        "items": [letter_out(r, None, email_job(session, r)).model_dump(mode="json") for r in page],
        "next_cursor": next_cursor,
    }


# --- checks against the other services ------------------------------------------------


def _legal_entity_name(directory: Directory, legal_entity_id: str) -> str:
    wanted = str(uuid.UUID(legal_entity_id))
    for entity in directory.legal_entities():
        if str(entity["id"]) == wanted:
            return str(entity["name"])
    raise InvalidInput(
        f"legal entity {legal_entity_id} is not one of ours",
        [{"loc": ["legal_entity_id"], "msg": "unknown legal entity"}],
    )


def _emails(card: dict[str, Any]) -> list[str]:
    found = [str(c.get("email") or "").strip() for c in card.get("contacts") or []]
    return list(dict.fromkeys(e for e in found if e))


# --- journal numbers ----------------------------------------------------------------------


def assign_number(session: Session, settings: Settings, row: models.Letter, at: datetime) -> None:
    """The next number of the legal entity's journal for the year. The counter row stays
    locked until commit (two registrations wait for each other); a rollback gives the
    number back, so the journal has no gaps."""
    year = at.astimezone(ZoneInfo(settings.timezone)).year
    counter = models.JournalCounter
    seq = session.execute(
        insert(counter)
        .values(legal_entity_id=row.legal_entity_id, direction=row.direction, year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=[counter.legal_entity_id, counter.direction, counter.year],
            set_={"last_seq": counter.last_seq + 1},
        )
        .returning(counter.last_seq)
    ).scalar_one()
    prefix = (
        settings.mail_incoming_prefix
        if row.direction == "incoming"
        else settings.mail_outgoing_prefix
    )
    row.journal_year, row.journal_seq = year, seq
    row.journal_number = domain.journal_number(prefix, year, seq)
    row.registered_at = at


def announce_registration(session: Session, events: OutboxWriter, row: models.Letter) -> None:
    card = label(row)
    events.add(
        session,
        "letter.registered",
        schemas.LetterRegistered(
            letter_id=str(row.id),
            direction=row.direction,  # type: ignore[arg-type]
            number=row.journal_number or "",
            responsible_id=row.responsible_id,
            title=card.title,
            link=card.link,
        ).model_dump(mode="json"),
    )


# --- registration -------------------------------------------------------------------------


def engine_card(row: models.Letter) -> dict[str, Any]:
    """What the route sees of the letter (assignee rules, conditions, deadlines)."""
    return {
        "letter_id": str(row.id),
        "direction": row.direction,
        "initiator_id": row.created_by,
        "responsible_id": row.responsible_id,
        "executor_id": row.responsible_id,
        "counterparty_id": str(row.counterparty_id),
        "counterparty_category": row.counterparty_category,
        "legal_entity_id": row.legal_entity_id,
        "control_date": row.control_date.isoformat() if row.control_date else None,
        "letter_file_id": row.letter_file_id,
    }


def _insert(session: Session, row: models.Letter) -> None:
    """Insert the card; the same sender's letter (number and date) twice is a Conflict.

    A savepoint keeps the transaction usable to name the earlier registration; the
    Conflict then rolls the whole registration back, journal number included.
    """
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        t = models.Letter
        earlier = session.scalar(
            select(t.journal_number).where(
                t.direction == "incoming",
                t.counterparty_id == row.counterparty_id,
                t.document_number == row.document_number,
                t.document_date == row.document_date,
            )
        )
        raise Conflict(
            f"this letter of the counterparty is already registered as {earlier}",
            [{"loc": ["document_number"], "msg": f"already registered: {earlier}"}],
        ) from None


def _start(session: Session, ctx: Context, row: models.Letter, now: datetime) -> None:
    process = domain.PROCESS_OF[row.direction]
    result = ctx.host.start(
        session,
        ctx.events,
        ctx.org,
        process=process,
        route=ctx.host.route(process),
        card_id=str(row.id),
        card=engine_card(row),
        initiator_id=row.created_by,
        now=now,
        label=label(row),
    )
    row.instance_id = result.instance.id
    mirror(row, result.instance)


def register_incoming(
    session: Session,
    caller: Identity,
    ctx: Context,
    new: schemas.NewIncomingLetter,
    now: datetime,
) -> models.Letter:
    if not domain.may_register_incoming(caller):
        raise Forbidden("incoming letters are registered by the office manager or a lawyer")
    entity = _legal_entity_name(ctx.directory, new.legal_entity_id)
    counterparty = require_counterparty(ctx.directory.counterparty, new.counterparty_id)
    responsible = require_employee(ctx.directory.user, new.responsible_id, "responsible_id")
    require_files(
        ctx.directory.file,
        [(["scan_file_id"], new.scan_file_id)]
        + [(["file_ids", i], f) for i, f in enumerate(new.file_ids)],
    )
    row = models.Letter(
        id=uuid.uuid4(),
        direction="incoming",
        legal_entity_id=str(uuid.UUID(new.legal_entity_id)),
        legal_entity_name=entity,
        counterparty_id=uuid.UUID(new.counterparty_id),
        counterparty_name=display_name(counterparty),
        counterparty_category=str(counterparty["category"]),
        subject=new.subject,
        document_number=new.document_number,
        document_date=new.document_date,
        received_date=new.received_date,
        control_date=new.control_date,
        responsible_id=str(responsible["id"]),
        department_id=str(responsible["department_id"]),
        scan_file_id=new.scan_file_id,
        file_ids=list(new.file_ids),
        email_to=[],
        status="review",
        responsible=[],
        participants=[],
        archived_file_ids=[],
        created_by=caller.user_id,
        version=1,
    )
    assign_number(session, ctx.settings, row, now)
    _insert(session, row)
    _start(session, ctx, row, now)
    announce_registration(session, ctx.events, row)
    session.flush()
    session.refresh(row)
    return row


def create_outgoing(
    session: Session,
    caller: Identity,
    ctx: Context,
    new: schemas.NewOutgoingLetter,
    now: datetime,
) -> models.Letter:
    entity = _legal_entity_name(ctx.directory, new.legal_entity_id)
    counterparty = require_counterparty(ctx.directory.counterparty, new.counterparty_id)
    executor = require_employee(
        ctx.directory.user, new.executor_id or caller.user_id, "executor_id"
    )
    require_files(
        ctx.directory.file,
        [(["letter_file_id"], new.letter_file_id)]
        + [(["file_ids", i], f) for i, f in enumerate(new.file_ids)],
    )
    reply_to = None
    if new.reply_to_id:
        try:
            reply_to = load(session, caller, new.reply_to_id)
        except NotFound:
            reply_to = None
        if reply_to is None or reply_to.direction != "incoming":
            raise InvalidInput(
                "reply_to_id names no incoming letter you can see",
                [{"loc": ["reply_to_id"], "msg": "unknown incoming letter"}],
            )
        if reply_to.reply_id is not None:
            raise Conflict(f"letter {reply_to.journal_number} already has a reply")
    row = models.Letter(
        id=uuid.uuid4(),
        direction="outgoing",
        legal_entity_id=str(uuid.UUID(new.legal_entity_id)),
        legal_entity_name=entity,
        counterparty_id=uuid.UUID(new.counterparty_id),
        counterparty_name=display_name(counterparty),
        counterparty_category=str(counterparty["category"]),
        subject=new.subject,
        control_date=new.control_date,
        responsible_id=str(executor["id"]),
        department_id=str(executor["department_id"]),
        letter_file_id=new.letter_file_id,
        file_ids=list(new.file_ids),
        email_to=list(new.email_to) if new.email_to is not None else _emails(counterparty),
        reply_to_id=reply_to.id if reply_to else None,
        status="approval",
        responsible=[],
        participants=[],
        archived_file_ids=[],
        created_by=caller.user_id,
        version=1,
    )
    session.add(row)
    session.flush()
    if reply_to is not None:
        reply_to.reply_id = row.id
        reply_to.reply_needed = True
        reply_to.version += 1
    _start(session, ctx, row, now)
    session.flush()
    session.refresh(row)
    return row


def start_reply(
    session: Session, ctx: Context, incoming: models.Letter, now: datetime
) -> models.Letter:
    """ "A reply is needed": an outgoing letter, linked both ways, for the responsible
    employee to write (its route starts with preparing the letter file)."""
    number = incoming.journal_number or ""
    received = incoming.received_date.strftime("%d.%m.%Y") if incoming.received_date else ""
    subject = f"Ответ на вх. № {number} от {received}: {incoming.subject}"[:500]
    base = incoming.control_date or now.date()
    counterparty = require_counterparty(ctx.directory.counterparty, str(incoming.counterparty_id))
    row = models.Letter(
        id=uuid.uuid4(),
        direction="outgoing",
        legal_entity_id=incoming.legal_entity_id,
        legal_entity_name=incoming.legal_entity_name,
        counterparty_id=incoming.counterparty_id,
        counterparty_name=incoming.counterparty_name,
        counterparty_category=incoming.counterparty_category,
        subject=subject,
        control_date=base + timedelta(days=ctx.settings.mail_reply_control_days),
        responsible_id=incoming.responsible_id,
        department_id=incoming.department_id,
        file_ids=[],
        email_to=_emails(counterparty),
        reply_to_id=incoming.id,
        status="preparation",
        responsible=[],
        participants=[],
        archived_file_ids=[],
        created_by=incoming.responsible_id,
        version=1,
    )
    session.add(row)
    session.flush()
    _start(session, ctx, row, now)
    incoming.reply_id = row.id
    return row


# --- the route on the card ------------------------------------------------------------------


def mirror(row: models.Letter, instance: Instance) -> None:
    row.status = domain.status_of(row.direction, instance)
    row.responsible = list(instance.responsible)
    row.participants = domain.participants_of(instance, row.participants)


def on_change(session: Session, ctx: Context, applied: Applied) -> None:
    """Mirror the instance on the letter and do what its steps imply: a reply, the
    outgoing number, the e-mail, filing into the archive when work ends.

    Runs in the deciding transaction; a bad answer (reply_needed, delivery) raises
    InvalidInput and the decision is rolled back with it.
    """
    row = session.get(models.Letter, uuid.UUID(applied.before.card_id), with_for_update=True)
    if row is None:  # pragma: no cover - instances are created with their card
        return
    instance = applied.instance
    now = instance.updated_at
    if row.direction == "incoming":
        answer = domain.reply_needed(instance)
        if answer is not None and row.reply_needed is None:
            row.reply_needed = answer
            if answer and row.reply_id is None:
                start_reply(session, ctx, row, now)
    else:
        _outgoing_steps(session, ctx, row, instance, now)
    if instance.state in domain.TERMINAL and row.filed_at is None:
        jobs.enqueue(session, ctx.events, row, "filing", now)
    mirror(row, instance)
    row.version += 1


def _outgoing_steps(
    session: Session, ctx: Context, row: models.Letter, instance: Instance, now: datetime
) -> None:
    prepared = domain.completed_outputs(instance, "preparation")
    if prepared is not None and row.letter_file_id is None:
        require_files(
            ctx.directory.file, [(["outputs", "letter_file"], str(prepared["letter_file"]))]
        )
        row.letter_file_id = str(prepared["letter_file"])
    registered = domain.completed_outputs(instance, "registration") is not None
    if registered and row.journal_number is None:
        assign_number(session, ctx.settings, row, now)
        announce_registration(session, ctx.events, row)
    channel = domain.delivery(instance)
    if channel is not None and row.delivery is None:
        row.delivery = channel
        if channel == "post":
            row.posted_at = now
            jobs.announce_sent(session, ctx.events, row, None)
        else:
            if not row.email_to:
                raise InvalidInput(
                    "the letter has no e-mail address to send to: send it by post",
                    [{"loc": ["outputs", "delivery"], "msg": "no recipient address"}],
                )
            jobs.enqueue(session, ctx.events, row, "email", now)


def add_participant(
    session: Session,
    caller: Identity,
    ctx: Context,
    letter_id: str,
    new: schemas.NewParticipant,
    now: datetime,
) -> tuple[models.Letter, Applied]:
    """The CEO (or whoever holds an open approval task on the letter) adds a person to
    that step: they get a task of their own, and the route waits for them too."""
    row = load(session, caller, letter_id, lock=True)
    require_employee(ctx.directory.user, new.user_id, "user_id")
    loaded = _loaded(ctx, session, row)
    steps = [
        t.step_id
        for t in loaded.instance.open_tasks()
        if t.kind == "approval" and t.step_id == "ceo_resolution"
    ]
    if not steps:
        raise Conflict("people are added while the CEO's resolution is open")
    applied = ctx.host.apply(
        session,
        ctx.events,
        ctx.org,
        loaded.instance.id,
        AddReviewer(steps[0], caller.user_id, new.user_id, new.comment),
        now,
    )
    return row, applied


def resubmit(
    session: Session,
    caller: Identity,
    ctx: Context,
    letter_id: str,
    request: schemas.ResubmitLetter,
    now: datetime,
) -> tuple[models.Letter, Applied]:
    """A returned outgoing letter goes back to the director (with a reworked file)."""
    row = load(session, caller, letter_id, lock=True)
    if caller.user_id not in (row.created_by, row.responsible_id) and not caller.has_role(
        ADMIN_ROLE
    ):
        raise Forbidden("only the initiator or the executor resubmits a letter")
    if row.status != "returned":
        raise Conflict(f"the letter is {row.status}; only a returned one is resubmitted")
    if request.letter_file_id:
        require_files(ctx.directory.file, [(["letter_file_id"], request.letter_file_id)])
        row.letter_file_id = request.letter_file_id
    loaded = _loaded(ctx, session, row)
    applied = ctx.host.apply(
        session,
        ctx.events,
        ctx.org,
        loaded.instance.id,
        Resubmit(caller.user_id, card=engine_card(row), comment=request.comment),
        now,
    )
    return row, applied


def _loaded(ctx: Context, session: Session, row: models.Letter) -> Any:
    if row.instance_id is None:
        raise Conflict("the letter has no process")
    return ctx.host.load(session, row.instance_id)
