"""What counterparty_svc does with cards, 1C and statutory documents, one function
per use case. Each takes the session, the caller and the outbox writer (and the
1C client where it needs one); none commits: the entrypoint does, once.

Who may do what (documented in docs/counterparties.md):
- read cards, look up an INN, see documents: everybody signed in;
- create and change cards, verify, add documents: ``CARD_EDITORS``;
- bulk import from 1C: ``IMPORTERS``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from counterparty_svc import domain, models, numbers
from counterparty_svc import repository as repo
from counterparty_svc.onec_client import OneCError
from services.auth import ADMIN_ROLE, Identity, require_role
from services.errors import Conflict, InvalidInput, Unavailable
from services.ids import parse_id
from services.outbox import OutboxWriter
from services.pagination import clamp_limit, decode_cursor, encode_cursor, escape_like
from services.schemas import counterparty as schemas
from services.validation import parse

CARD_EDITORS = (
    ADMIN_ROLE,
    "curator",
    "lawyer",
    "office_manager",
    "accountant",
    "chief_accountant",
    "finance_manager",
)
IMPORTERS = (ADMIN_ROLE, "chief_accountant")


class OneC(Protocol):
    """What the use cases need of 1C (``OneCClient``; fakes in unit tests)."""

    def find_by_inn(self, inn: str) -> list[dict[str, Any]]: ...

    def get(self, ref_key: str) -> dict[str, Any] | None: ...


def ask_1c(call: Any, *args: Any) -> Any:
    """A 1C call; any failure of 1C is a 503 for our caller (nothing is written)."""
    try:
        return call(*args)
    except OneCError as exc:
        raise Unavailable(f"1C could not be asked: {exc}") from exc


def _duplicate(inn: str | None, kpp: str | None, existing: str | None = None) -> Conflict:
    where = f" (card {existing})" if existing else ""
    return Conflict(
        f"a counterparty with INN {inn} and KPP {kpp or '—'} already exists{where}",
        [{"loc": ["inn"], "msg": "duplicate INN+KPP"}],
    )


def create_counterparty(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    data: schemas.NewCounterparty,
    origin: str = "manual",
) -> schemas.Counterparty:
    require_role(caller, CARD_EDITORS, "Creating a counterparty")
    domain.check_card(data)
    if data.inn and (found := repo.by_inn_kpp(session, data.inn, data.kpp)) is not None:
        raise _duplicate(data.inn, data.kpp, str(found.id))
    row = models.Counterparty(created_by=caller.user_id)
    repo.apply_card(row, data)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert of the same INN+KPP
        raise _duplicate(data.inn, data.kpp) from exc
    out = repo.counterparty_out(row)
    events.add(
        session,
        "counterparty.created",
        schemas.CounterpartyCreated(counterparty=out, origin=origin).model_dump(mode="json"),
    )
    return out


def get_counterparty(session: Session, counterparty_id: str) -> schemas.Counterparty:
    return repo.counterparty_out(repo.counterparty(session, counterparty_id))


def list_counterparties(
    session: Session,
    inn: str | None = None,
    q: str | None = None,
    kind: str | None = None,
    category: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    size = clamp_limit(limit)
    table = models.Counterparty
    stmt = select(table).order_by(table.short_name, table.id)
    if inn:
        stmt = stmt.where(table.inn == inn)
    if kind:
        stmt = stmt.where(table.kind == kind)
    if category:
        stmt = stmt.where(table.category == category)
    if q:
        escaped = escape_like(q)
        pattern = f"%{escaped}%"
        stmt = stmt.where(
            or_(
                table.short_name.ilike(pattern),
                table.full_name.ilike(pattern),
                table.inn.like(f"{escaped}%"),
            )
        )
    after = decode_cursor(cursor)
    if after:
        if len(after) != 2:
            raise InvalidInput("cursor is not valid", [{"loc": ["cursor"], "msg": "not a key"}])
        key = parse_id(after[1], "cursor")
        stmt = stmt.where(tuple_(table.short_name, table.id) > tuple_(str(after[0]), key))
    rows = list(session.scalars(stmt.limit(size + 1)))
    page, more = rows[:size], len(rows) > size
    return {
        "items": [repo.counterparty_out(r).model_dump(mode="json") for r in page],
        "next_cursor": encode_cursor([page[-1].short_name, str(page[-1].id)]) if more else None,
    }


def update_counterparty(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    counterparty_id: str,
    patch: schemas.CounterpartyPatch,
    expected_version: int | None,
) -> schemas.Counterparty:
    require_role(caller, CARD_EDITORS, "Changing a counterparty")
    row = repo.counterparty(session, counterparty_id)
    if expected_version is not None and expected_version != row.version:
        raise Conflict(
            f"the card changed meanwhile: version {row.version}, not {expected_version}",
            [{"loc": ["version"], "msg": "stale"}],
        )
    merged = repo.card_fields(row) | patch.model_dump(exclude_unset=True, mode="json")
    card = parse(schemas.CardFields, merged)
    domain.check_card(card)
    if (card.inn, card.kpp) != (row.inn, row.kpp) and card.inn:
        found = repo.by_inn_kpp(session, card.inn, card.kpp)
        if found is not None and found.id != row.id:
            raise _duplicate(card.inn, card.kpp, str(found.id))
    repo.apply_card(row, card)
    try:
        session.flush()
    except StaleDataError as exc:  # another writer committed between our read and write
        raise Conflict("the card changed meanwhile: read it again") from exc
    except IntegrityError as exc:
        raise _duplicate(card.inn, card.kpp) from exc
    out = repo.counterparty_out(row)
    events.add(
        session,
        "counterparty.updated",
        {"schema_version": 1, "counterparty": out.model_dump(mode="json")},
    )
    return out


def _matching(records: list[dict[str, Any]], row: models.Counterparty) -> dict[str, Any] | None:
    """The 1C item that is this card: same Ref_Key, else same INN and KPP; live ones only."""
    live = [r for r in records if not r.get("DeletionMark") and not r.get("IsFolder")]
    if row.onec_ref:
        for r in live:
            if str(r.get("Ref_Key", "")).lower() == str(row.onec_ref):
                return r
    for r in live:
        if r.get("ИНН") == row.inn and (r.get("КПП") or None) == (row.kpp or None):
            return r
    return None


def _confirm(
    session: Session,
    events: OutboxWriter,
    row: models.Counterparty,
    item: dict[str, Any],
    now: datetime,
) -> list[str]:
    """Refresh the card from its 1C item, mark it verified, announce it."""
    current = repo.card_fields(row)
    changes = domain.onec_changes(current, domain.card_from_onec(item, row.category))
    if changes:
        merged = schemas.CardFields.model_validate(current | changes)
        if domain.card_errors(merged):  # 1C holds something we would refuse: keep ours
            changes = {}
        else:
            repo.apply_card(row, merged)
    row.onec_ref = item["Ref_Key"]
    row.onec_data_version = item.get("DataVersion")
    row.verified_at = now
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict("the card changed meanwhile: try again") from exc
    except IntegrityError as exc:
        raise _duplicate(row.inn, row.kpp) from exc
    changed = sorted(changes)
    events.add(
        session,
        "counterparty.verified",
        schemas.CounterpartyVerified(
            counterparty_id=str(row.id),
            inn=row.inn,
            kpp=row.kpp,
            verified_at=now,
            source="1c",
            changed_fields=changed,
        ).model_dump(mode="json"),
    )
    return changed


def lookup(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    onec: OneC,
    inn: str,
    now: datetime,
    max_age: timedelta,
) -> schemas.LookupResult:
    """What 1C and our records know of an INN. A stored card older than ``max_age``
    is re-verified against 1C before it is offered for reuse."""
    if err := numbers.inn_error(inn):
        raise InvalidInput(err, [{"loc": ["inn"], "msg": err}])
    records = [r for r in ask_1c(onec.find_by_inn, inn) if not r.get("IsFolder")]
    known: list[schemas.KnownCard] = []
    for row in repo.by_inn(session, inn):
        stale = domain.is_stale(row.verified_at, now, max_age)
        reverified, reusable, note = False, not stale, ""
        if stale:
            item = _matching(records, row)
            if item is not None:
                _confirm(session, events, row, item, now)
                reverified = reusable = True
                note = "re-verified against 1C"
            else:
                note = "stale and not found in 1C: check the card before reuse"
        known.append(
            schemas.KnownCard(
                counterparty=repo.counterparty_out(row),
                was_stale=stale,
                reverified=reverified,
                reusable=reusable,
                note=note,
            )
        )
    onec_out = [
        schemas.OneCRecord(
            ref_key=str(r.get("Ref_Key")),
            data_version=r.get("DataVersion"),
            code=str(r.get("Code") or ""),
            deletion_mark=bool(r.get("DeletionMark")),
            card={k: v for k, v in domain.card_from_onec(r, None).items() if v not in (None, [])},
        )
        for r in records
    ]
    return schemas.LookupResult(inn=inn, onec=onec_out, known=known)


def verify(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    onec: OneC,
    counterparty_id: str,
    now: datetime,
) -> schemas.VerifyResult:
    require_role(caller, CARD_EDITORS, "Verifying a counterparty")
    row = repo.counterparty(session, counterparty_id)
    records: list[dict[str, Any]] = []
    if row.onec_ref:
        item = ask_1c(onec.get, str(row.onec_ref))
        records = [item] if item else []
    if not records and row.inn:
        records = ask_1c(onec.find_by_inn, row.inn)
    if not records and not row.inn and not row.onec_ref:
        raise InvalidInput(
            "the card has neither an INN nor a 1C reference to verify by",
            [{"loc": ["inn"], "msg": "missing"}],
        )
    item = _matching(records, row)
    if item is None:
        return schemas.VerifyResult(
            counterparty=repo.counterparty_out(row), outcome="not_found", changed_fields=[]
        )
    changed = _confirm(session, events, row, item, now)
    return schemas.VerifyResult(
        counterparty=repo.counterparty_out(row), outcome="confirmed", changed_fields=changed
    )


# --- statutory documents ---------------------------------------------------------


def add_document(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    counterparty_id: str,
    data: schemas.NewDocument,
) -> schemas.StatutoryDocument:
    require_role(caller, CARD_EDITORS, "Adding a statutory document")
    row = repo.counterparty(session, counterparty_id)
    pkg = domain.package()
    if data.doc_type not in pkg.types:
        raise InvalidInput(
            f"unknown document type {data.doc_type}",
            [{"loc": ["doc_type"], "msg": f"one of: {', '.join(sorted(pkg.types))}"}],
        )
    expires_on = data.expires_on or pkg.default_expiry(data.doc_type, data.issued_on)
    if expires_on is not None and expires_on < data.issued_on:
        raise InvalidInput(
            "a document cannot expire before it was issued",
            [{"loc": ["expires_on"], "msg": "before issued_on"}],
        )
    doc = models.StatutoryDocument(
        counterparty_id=row.id,
        doc_type=data.doc_type,
        number=data.number,
        issued_on=data.issued_on,
        expires_on=expires_on,
        file_id=data.file_id,
        uploaded_by=caller.user_id,
    )
    session.add(doc)
    session.flush()
    out = repo.document_out(doc)
    events.add(
        session, "counterparty.document_added", {"schema_version": 1, **out.model_dump(mode="json")}
    )
    return out


def documents(session: Session, counterparty_id: str, on: date) -> schemas.DocumentsView:
    row = repo.counterparty(session, counterparty_id)
    docs = list(
        session.scalars(
            select(models.StatutoryDocument)
            .where(models.StatutoryDocument.counterparty_id == row.id)
            .order_by(models.StatutoryDocument.doc_type, models.StatutoryDocument.issued_on)
        )
    )
    held = [domain.HeldDocument(str(d.id), d.doc_type, d.issued_on, d.expires_on) for d in docs]
    lines = domain.checklist(domain.package(), row.kind, held, on)
    return schemas.DocumentsView(
        counterparty_id=str(row.id),
        kind=row.kind,  # type: ignore[arg-type]
        on=on,
        complete=all(line.status == "present" for line in lines),
        checklist=lines,
        documents=[repo.document_out(d) for d in docs],
    )


def sweep_expired_documents(
    session: Session, events: OutboxWriter, on: date, now: datetime
) -> schemas.SweepResult:
    """Announce every document expired by ``on`` not announced yet: one
    counterparty.documents_expired per counterparty, each document once."""
    doc = models.StatutoryDocument
    due = list(
        session.scalars(
            select(doc)
            .where(
                doc.expires_on.is_not(None), doc.expires_on < on, doc.expiry_announced_at.is_(None)
            )
            .order_by(doc.counterparty_id, doc.expires_on)
            .with_for_update(skip_locked=True)
        )
    )
    by_owner: dict[Any, list[models.StatutoryDocument]] = {}
    for d in due:
        by_owner.setdefault(d.counterparty_id, []).append(d)
        d.expiry_announced_at = now
    announced = []
    for owner_id, docs in by_owner.items():
        owner = session.get(models.Counterparty, owner_id)
        assert owner is not None
        data = schemas.DocumentsExpired(
            counterparty_id=str(owner_id),
            inn=owner.inn,
            short_name=owner.short_name,
            documents=[
                schemas.ExpiredDocument(
                    document_id=str(d.id),
                    doc_type=d.doc_type,
                    expires_on=d.expires_on,  # type: ignore[arg-type]
                )
                for d in docs
            ],
        ).model_dump(mode="json")
        events.add(session, "counterparty.documents_expired", data)
        announced.append(data)
    session.flush()
    return schemas.SweepResult(on=on, announced=announced)
