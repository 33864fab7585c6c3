"""SQL side of counterparty_svc: finding rows, and rows as contract models."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from counterparty_svc import domain, models
from services.errors import NotFound
from services.ids import parse_id
from services.schemas import counterparty as schemas


def counterparty(
    session: Session, counterparty_id: str, *, lock: bool = False
) -> models.Counterparty:
    stmt = select(models.Counterparty).where(
        models.Counterparty.id == parse_id(counterparty_id, "counterparty")
    )
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"counterparty {counterparty_id} does not exist")
    return found


def by_inn_kpp(session: Session, inn: str, kpp: str | None) -> models.Counterparty | None:
    return session.scalar(
        select(models.Counterparty).where(
            models.Counterparty.inn == inn,
            func.coalesce(models.Counterparty.kpp, "") == (kpp or ""),
        )
    )


def by_onec_ref(session: Session, ref: str) -> models.Counterparty | None:
    try:
        key = uuid.UUID(ref)
    except ValueError:
        return None
    return session.scalar(select(models.Counterparty).where(models.Counterparty.onec_ref == key))


def by_inn(session: Session, inn: str) -> list[models.Counterparty]:
    return list(
        session.scalars(
            select(models.Counterparty)
            .where(models.Counterparty.inn == inn)
            .order_by(models.Counterparty.kpp)
        )
    )


def counterparty_out(row: models.Counterparty) -> schemas.Counterparty:
    return schemas.Counterparty(
        id=str(row.id),
        kind=row.kind,  # type: ignore[arg-type]
        category=row.category,  # type: ignore[arg-type]
        inn=row.inn,
        kpp=row.kpp,
        ogrn=row.ogrn,
        full_name=row.full_name,
        short_name=row.short_name,
        country=row.country,
        addresses=[schemas.Address.model_validate(a) for a in row.addresses or []],
        bank_accounts=[schemas.BankAccount.model_validate(a) for a in row.bank_accounts or []],
        contacts=[schemas.Contact.model_validate(c) for c in row.contacts or []],
        onec_ref=str(row.onec_ref) if row.onec_ref else None,
        onec_data_version=row.onec_data_version,
        verified_at=row.verified_at,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def card_fields(row: models.Counterparty) -> dict[str, Any]:
    """The row's card as ``CardFields`` input (for validating a merged change)."""
    return {
        "kind": row.kind,
        "category": row.category,
        "inn": row.inn,
        "kpp": row.kpp,
        "ogrn": row.ogrn,
        "full_name": row.full_name,
        "short_name": row.short_name,
        "country": row.country,
        "addresses": row.addresses or [],
        "bank_accounts": row.bank_accounts or [],
        "contacts": row.contacts or [],
    }


def apply_card(row: models.Counterparty, card: schemas.CardFields) -> None:
    row.kind = card.kind
    row.category = card.category
    row.inn = card.inn
    row.kpp = card.kpp
    row.ogrn = card.ogrn
    row.full_name = card.full_name
    row.short_name = card.short_name or card.full_name[:300]
    row.country = card.country
    row.addresses = [a.model_dump() for a in card.addresses]
    row.bank_accounts = [a.model_dump() for a in card.bank_accounts]
    row.contacts = [c.model_dump() for c in card.contacts]


def document_out(row: models.StatutoryDocument) -> schemas.StatutoryDocument:
    return schemas.StatutoryDocument(
        id=str(row.id),
        counterparty_id=str(row.counterparty_id),
        doc_type=row.doc_type,
        title=domain.package().title(row.doc_type),
        number=row.number,
        issued_on=row.issued_on,
        expires_on=row.expires_on,
        file_id=row.file_id,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
    )


def import_job_out(row: models.ImportJob) -> schemas.ImportJob:
    return schemas.ImportJob(
        id=str(row.id),
        state=row.state,  # type: ignore[arg-type]
        category=row.category,  # type: ignore[arg-type]
        page_size=row.page_size,
        total=row.total,
        done=row.done,
        created=row.created,
        updated=row.updated,
        unchanged=row.unchanged,
        failed=row.failed,
        position=row.position,
        errors=row.errors or [],
        started_by=row.started_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )
