"""Work that leaves the database: sending an outgoing letter by e-mail, and filing a
letter's files into the archive when work on it ends.

The decision to do it is a ``letter_jobs`` row written in the deciding
transaction (with a ``letter.job_pending`` event through the outbox as the
wake-up call). The work itself happens after commit, outside any transaction:

1. ``claim`` takes due jobs with ``FOR UPDATE SKIP LOCKED``, marks them
   running and commits, so two workers (replicas, the event handler and the
   timer) never perform one job at the same time;
2. ``perform`` talks to SMTP / the archive;
3. ``record_done`` / ``record_failure`` commit the outcome. A job recorded as
   done is never claimed again, so a retry never sends a sent letter twice.
   A failure waits with back-off and is retried; after the configured number
   of attempts the job is ``failed`` and the card shows it.

The e-mail's Message-ID is fixed when the job is made: should a worker die
between the SMTP server's "250 accepted" and recording it (the one window no
protocol without two-phase commit closes), the repeated message carries the
same Message-ID, which mail clients and servers use to drop duplicates.
Filing passes an Idempotency-Key per file to the archive, so a retried file is
not filed twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from minio import Minio
from minio.commonconfig import CopySource
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from mail_svc import domain, models
from services.outbox import OutboxWriter
from services.schemas import letters as schemas
from services.smtp import Attachment, Mail

CLAIM_BATCH = 20


@dataclass(frozen=True)
class Outside:
    """What a job needs of the world (built by the service from its dependencies)."""

    #: RPC as the system: ``call(service, method, idempotency_key=None, **kwargs)``.
    call: Callable[..., Any]
    s3: Minio
    #: services.smtp.send with the service's SMTP settings; returns the Message-ID.
    send: Callable[[Mail], str]
    events: OutboxWriter
    max_attempts: int
    lease: timedelta


@dataclass
class Claimed:
    id: uuid.UUID
    kind: str
    letter_id: uuid.UUID
    message_id: str | None
    attempts: int
    progress: dict[str, Any] = field(default_factory=dict)


def enqueue(
    session: Session, events: OutboxWriter, row: models.Letter, kind: str, now: datetime
) -> None:
    """Decide the job in the caller's transaction (once per letter and kind)."""
    job_id = uuid.uuid4()
    message_id = f"<letter-{row.id.hex}.{job_id.hex[:12]}@docflow>" if kind == "email" else None
    inserted = session.execute(
        insert(models.LetterJob)
        .values(
            id=job_id,
            letter_id=row.id,
            kind=kind,
            state="pending",
            message_id=message_id,
            attempts=0,
            # Due at once, also when the deciding change ran in simulated time.
            next_attempt_at=min(now, datetime.now(UTC)),
            progress={},
        )
        .on_conflict_do_nothing(index_elements=["letter_id", "kind"])
        .returning(models.LetterJob.id)
    ).first()
    if inserted is not None:
        events.add(session, "letter.job_pending", {"letter_id": str(row.id), "kind": kind})


def announce_sent(
    session: Session, events: OutboxWriter, row: models.Letter, message_id: str | None
) -> None:
    from mail_svc.usecases import label  # the card's label; usecases imports this module

    card = label(row)
    events.add(
        session,
        "letter.sent",
        schemas.LetterSent(
            letter_id=str(row.id),
            number=row.journal_number,
            channel="email" if message_id else "post",
            message_id=message_id,
            email_to=list(row.email_to) if message_id else [],
            responsible_id=row.responsible_id,
            title=card.title,
            link=card.link,
        ).model_dump(mode="json"),
    )


def claim(factory: sessionmaker[Session], now: datetime, lease: timedelta) -> list[Claimed]:
    """Take the due jobs (and those whose worker vanished) and mark them running.

    ``now`` may be simulated (tests and demos move it forward to reach retries);
    whether a running job's worker vanished is judged on the real clock, so a
    simulated time never takes a job from a worker that is still sending it.
    """
    real_now = datetime.now(UTC)
    job = models.LetterJob
    with factory() as session:
        rows = list(
            session.scalars(
                select(job)
                .where(
                    or_(
                        and_(job.state == "pending", job.next_attempt_at <= now),
                        and_(job.state == "running", job.claimed_at < real_now - lease),
                    )
                )
                .order_by(job.next_attempt_at)
                .limit(CLAIM_BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        claimed = []
        for row in rows:
            row.state, row.claimed_at, row.attempts = "running", real_now, row.attempts + 1
            claimed.append(
                Claimed(row.id, row.kind, row.letter_id, row.message_id, row.attempts, row.progress)
            )
        session.commit()
    return claimed


def run_due(factory: sessionmaker[Session], now: datetime, outside: Outside) -> int:
    """Claim and perform every due job; returns how many were done."""
    done = 0
    for job in claim(factory, now, outside.lease):
        try:
            perform(factory, job, outside)
        except Exception as exc:
            record_failure(factory, job, exc, now, outside.max_attempts)
        else:
            done += 1
    return done


def perform(factory: sessionmaker[Session], job: Claimed, outside: Outside) -> None:
    with factory() as session:
        letter = session.get(models.Letter, job.letter_id)
        assert letter is not None
        session.expunge(letter)
    if job.kind == "email":
        message_id = outside.send(build_mail(letter, job, outside))
        record_sent(factory, job, message_id, outside)
    else:
        file_letter(factory, letter, job, outside)


# --- e-mail ------------------------------------------------------------------------------


def letter_files(letter: models.Letter) -> list[str]:
    ids = [letter.scan_file_id, letter.letter_file_id, *letter.file_ids]
    return list(dict.fromkeys(i for i in ids if i))


def read_file(outside: Outside, file_id: str) -> tuple[dict[str, Any], bytes]:
    ticket = outside.call("archive", "open_file", file_id=file_id)
    answer = outside.s3.get_object(
        ticket["bucket"], ticket["key"], version_id=ticket.get("s3_version_id")
    )
    try:
        return ticket, answer.read()
    finally:
        answer.close()
        answer.release_conn()


def build_mail(letter: models.Letter, job: Claimed, outside: Outside) -> Mail:
    attachments = []
    for file_id in letter_files(letter):
        ticket, content = read_file(outside, file_id)
        attachments.append(Attachment(ticket["original_name"], content, ticket["content_type"]))
    number = letter.journal_number or "б/н"
    return Mail(
        to=list(letter.email_to),
        subject=f"Исх. № {number}: {letter.subject}"[:250],
        text=domain.email_text(
            {
                "journal_number": letter.journal_number,
                "subject": letter.subject,
                "legal_entity_name": letter.legal_entity_name,
            }
        ),
        attachments=attachments,
        message_id=job.message_id,
    )


def record_sent(
    factory: sessionmaker[Session], job: Claimed, message_id: str, outside: Outside
) -> None:
    with factory() as session:
        row = session.get(models.LetterJob, job.id, with_for_update=True)
        letter = session.get(models.Letter, job.letter_id, with_for_update=True)
        assert row is not None and letter is not None
        row.state, row.done_at, row.last_error = "done", datetime.now(UTC), None
        row.message_id = message_id
        letter.version += 1
        announce_sent(session, outside.events, letter, message_id)
        session.commit()


# --- filing ----------------------------------------------------------------------------


def folder_context(letter: models.Letter) -> dict[str, Any]:
    return {
        "department_id": letter.department_id,
        "counterparty_id": str(letter.counterparty_id),
        "counterparty_name": letter.counterparty_name,
        "letter_id": str(letter.id),
    }


def file_letter(
    factory: sessionmaker[Session], letter: models.Letter, job: Claimed, outside: Outside
) -> None:
    """Copy every file of the letter into department / counterparty / letter folder.

    archive_svc has no "file this existing file into that folder" call yet, so the
    copy is made with the calls it has: ``open_file`` (where the source is),
    ``begin_upload`` (a key in the letter's folder, folders created on the way),
    a server-side S3 copy (the bytes never pass through here) and
    ``complete_upload``. Each file's archive id is saved as soon as it exists.
    """
    context = folder_context(letter)
    progress = dict(job.progress)
    folder_path = progress.get("_folder")
    for file_id in letter_files(letter):
        if file_id in progress:
            continue
        key = f"letter-filing:{job.id}:{file_id}"
        ticket = outside.call("archive", "open_file", file_id=file_id)
        upload = outside.call(
            "archive",
            "begin_upload",
            idempotency_key=f"{key}:begin",
            data={
                "folder": context,
                "original_name": ticket["original_name"],
                "declared_size": ticket["size"],
            },
        )
        outside.s3.copy_object(
            upload["bucket"],
            upload["key"],
            CopySource(ticket["bucket"], ticket["key"], version_id=ticket.get("s3_version_id")),
        )
        stored = outside.call(
            "archive",
            "complete_upload",
            idempotency_key=f"{key}:complete",
            data={
                "upload_id": upload["upload_id"],
                "size": ticket["size"],
                "sha256": ticket["sha256"],
                "content_type": ticket["content_type"],
                "card": {
                    "title": letter.subject[:500],
                    "number": letter.journal_number,
                    "doc_type": domain.PROCESS_OF[letter.direction],
                    "document_date": _day(
                        letter.document_date or letter.received_date or letter.registered_at
                    ),
                    "description": f"{letter.counterparty_name}; {ticket['original_name']}",
                },
            },
        )
        progress[file_id] = stored["id"]
        folder_path = progress["_folder"] = stored["folder_path"]
        _save_progress(factory, job, progress)
    people = sorted({letter.created_by, letter.responsible_id, *letter.participants})
    outside.call(
        "archive",
        "grant",
        idempotency_key=f"letter-filing:{job.id}:grant",
        target={"folder": context},
        user_ids=[p for p in people if _is_uuid(p)],
    )
    with factory() as session:
        row = session.get(models.LetterJob, job.id, with_for_update=True)
        card = session.get(models.Letter, job.letter_id, with_for_update=True)
        assert row is not None and card is not None
        now = datetime.now(UTC)
        row.state, row.done_at, row.last_error = "done", now, None
        filed = [v for k, v in progress.items() if k != "_folder"]
        card.archive_folder = folder_path
        card.archived_file_ids = filed
        card.filed_at = now
        card.version += 1
        outside.events.add(
            session,
            "letter.filed",
            schemas.LetterFiled(
                letter_id=str(card.id), folder_path=folder_path or "", file_ids=filed
            ).model_dump(mode="json"),
        )
        session.commit()


def _day(moment: date | datetime | None) -> str | None:
    if isinstance(moment, datetime):
        moment = moment.date()
    return moment.isoformat() if moment else None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _save_progress(factory: sessionmaker[Session], job: Claimed, progress: dict[str, Any]) -> None:
    with factory() as session:
        row = session.get(models.LetterJob, job.id, with_for_update=True)
        assert row is not None
        row.progress = dict(progress)
        session.commit()


def record_failure(
    factory: sessionmaker[Session], job: Claimed, error: Exception, now: datetime, attempts: int
) -> None:
    with factory() as session:
        row = session.get(models.LetterJob, job.id, with_for_update=True)
        assert row is not None
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts >= attempts:
            row.state = "failed"
        else:
            row.state = "pending"
            row.next_attempt_at = domain.retry_at(now, row.attempts)
        row.claimed_at = None
        session.commit()
