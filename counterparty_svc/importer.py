"""Bulk import of 1C's counterparty catalogue, page by page, resumable and idempotent.

A job is a row (``onec_import_jobs``): the RPC creates it queued; a runner
(``counterparty_svc.dependencies.ImportRunner``, a managed thread of the
service) claims it with a lease, reads page after page (``$top``/``$skip`` in
``Ref_Key`` order), and commits each page together with the job's progress
and ``position``. A crash loses at most the page in hand: after a restart (or
when the lease lapses) the job continues from ``position``. Re-reading items
is harmless: an item is matched by its 1C ``Ref_Key``, else by INN+KPP, and
only updated when its ``DataVersion`` changed - never duplicated.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from counterparty_svc import domain, models
from counterparty_svc import repository as repo
from counterparty_svc.onec_client import Page
from counterparty_svc.usecases import IMPORTERS
from services.auth import Identity, require_role
from services.errors import FieldErrors, NotFound
from services.ids import parse_id
from services.outbox import OutboxWriter
from services.schemas import counterparty as schemas

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
#: Errors kept on the job (the first ones; the count is in ``failed``).
MAX_KEPT_ERRORS = 100
#: A job whose 1C stays unreachable this many times in a row is marked failed.
MAX_ATTEMPTS = 20


class OneCPages(Protocol):
    def page(self, skip: int, top: int) -> Page: ...


def start_import(
    session: Session, caller: Identity, data: schemas.ImportRequest
) -> schemas.ImportJob:
    require_role(caller, IMPORTERS, "Importing counterparties from 1C")
    job = models.ImportJob(
        category=data.category, page_size=data.page_size, started_by=caller.user_id, errors=[]
    )
    session.add(job)
    session.flush()
    return repo.import_job_out(job)


def get_import(session: Session, job_id: str) -> schemas.ImportJob:
    job = session.get(models.ImportJob, parse_id(job_id, "import job"))
    if job is None:
        raise NotFound(f"import job {job_id} does not exist")
    return repo.import_job_out(job)


def claim(session: Session, now: datetime) -> models.ImportJob | None:
    """Take the oldest job nobody holds (queued, or running with a lapsed lease)."""
    job = models.ImportJob
    found = session.scalar(
        select(job)
        .where(
            job.state.in_(("queued", "running")),
            (job.lease_until.is_(None)) | (job.lease_until < now),
        )
        .order_by(job.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if found is None:
        return None
    found.state = "running"
    found.lease_until = now + LEASE
    session.flush()
    return found


def release(session: Session, job_id: Any, now: datetime) -> None:
    """Give a job back (graceful stop): the next runner takes it at once."""
    session.execute(
        update(models.ImportJob)
        .where(models.ImportJob.id == job_id, models.ImportJob.state == "running")
        .values(lease_until=now)
    )


def import_item(
    session: Session,
    events: OutboxWriter,
    item: dict[str, Any],
    category: str,
    now: datetime,
    imported_by: str,
) -> tuple[str, FieldErrors]:
    """One 1C item into our cards: ('created'|'updated'|'unchanged'|'failed', errors)."""
    if item.get("IsFolder"):
        return "unchanged", []
    ref = str(item.get("Ref_Key") or "")
    existing = repo.by_onec_ref(session, ref)
    draft = domain.card_from_onec(item, category)
    try:
        card = schemas.NewCounterparty.model_validate(draft)
    except ValueError as exc:  # pydantic's ValidationError
        return "failed", [{"loc": ["card"], "msg": str(exc).splitlines()[0]}]
    if errors := domain.card_errors(card):
        return "failed", errors
    if existing is None and card.inn:
        existing = repo.by_inn_kpp(session, card.inn, card.kpp)
    if existing is None:
        if item.get("DeletionMark"):
            return "unchanged", []  # marked for deletion in 1C: not worth a new card
        row = models.Counterparty(created_by=imported_by)
        repo.apply_card(row, card)
        row.onec_ref = ref  # type: ignore[assignment]
        row.onec_data_version = item.get("DataVersion")
        row.verified_at = now
        session.add(row)
        session.flush()
        events.add(
            session,
            "counterparty.created",
            schemas.CounterpartyCreated(
                counterparty=repo.counterparty_out(row), origin="onec_import"
            ).model_dump(mode="json"),
        )
        return "created", []
    if existing.onec_data_version == item.get("DataVersion") and existing.onec_ref is not None:
        return "unchanged", []
    changes = domain.onec_changes(repo.card_fields(existing), draft)
    if changes:
        repo.apply_card(
            existing, schemas.CardFields.model_validate(repo.card_fields(existing) | changes)
        )
    existing.onec_ref = ref  # type: ignore[assignment]
    existing.onec_data_version = item.get("DataVersion")
    existing.verified_at = now
    session.flush()
    return "updated", []


def run_page(
    session: Session,
    events: OutboxWriter,
    onec: OneCPages,
    job: models.ImportJob,
    now: datetime,
) -> bool:
    """Import the page at the job's position and advance it; True when the job is done.
    The caller commits (page and progress together)."""
    page = onec.page(job.position, job.page_size)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    kept = list(job.errors or [])
    for item in page.items:
        try:
            with session.begin_nested():
                outcome, errors = import_item(
                    session, events, item, job.category, now, f"import:{job.started_by}"
                )
        except IntegrityError:  # a card of the same INN+KPP arrived concurrently
            outcome, errors = "failed", [{"loc": ["inn"], "msg": "duplicate INN+KPP"}]
        counts[outcome] += 1
        if errors and len(kept) < MAX_KEPT_ERRORS:
            kept.append(
                {
                    "ref_key": item.get("Ref_Key"),
                    "code": item.get("Code"),
                    "inn": item.get("ИНН"),
                    "errors": errors,
                }
            )
    job.created += counts["created"]
    job.updated += counts["updated"]
    job.unchanged += counts["unchanged"]
    job.failed += counts["failed"]
    job.done += len(page.items)
    job.position += len(page.items)
    job.errors = kept
    job.total = page.total if page.total is not None else job.total
    job.attempts = 0
    job.last_error = ""
    job.lease_until = now + LEASE
    finished = len(page.items) < job.page_size or (
        job.total is not None and job.position >= job.total
    )
    if finished:
        job.state = "completed"
        job.finished_at = now
        job.lease_until = None
    session.flush()
    return finished


def note_unavailable(session: Session, job: models.ImportJob, now: datetime, error: str) -> None:
    """1C did not answer: try again later (backing off), give up after MAX_ATTEMPTS."""
    job.attempts += 1
    job.last_error = error[:2000]
    if job.attempts >= MAX_ATTEMPTS:
        job.state = "failed"
        job.finished_at = now
        job.lease_until = None
    else:
        job.lease_until = now + timedelta(seconds=min(300, 2**job.attempts))
    session.flush()
