"""The payment registry (Реестр платежей): approved requests collected as planned
payments, approved along their own route, exported for the bank and 1C.

A request sits in at most one live registry (``payment_requests.registry_id``):
dropping it from the final list or rejecting the registry frees it for the
next one. The registry plans and authorises the batch; each request is still
closed by its own payment task (the payment order with the bank's mark).
"""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments_svc import bank_export, domain, models
from payments_svc.settings import PayerAccount, Settings
from payments_svc.usecases import Directory, department_head, legal_entity, next_number
from services.auth import Identity
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.ids import parse_id
from services.outbox import OutboxWriter
from services.schemas import payments as schemas
from services.workflow.host import Applied, ProcessHost
from services.workflow.model import Instance, OrgLookup
from services.workflow.store import CardLabel

PROCESS = "payment_registry"
ROUTE = "payment_registry"
EXPORTABLE = ("approved", "paid")


def label(row: models.PaymentRegistry) -> CardLabel:
    return CardLabel(
        title=f"Реестр платежей {row.number} на {row.payment_date:%d.%m.%Y}",
        link=f"/payment-registries/{row.id}",
    )


def access(row: models.PaymentRegistry) -> domain.CardAccess:
    return domain.CardAccess(row.initiator_id, row.department_head_id, row.participants)


def load(
    session: Session, caller: Identity, registry_id: str, *, lock: bool = False
) -> models.PaymentRegistry:
    stmt = select(models.PaymentRegistry).where(
        models.PaymentRegistry.id == parse_id(registry_id, "payment registry")
    )
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None or not domain.may_view(caller, access(row)):
        raise NotFound(f"payment registry {registry_id} does not exist")
    return row


def items_of(
    session: Session, row: models.PaymentRegistry
) -> list[tuple[models.RegistryItem, models.PaymentRequest]]:
    return [
        (item, request)
        for item, request in session.execute(
            select(models.RegistryItem, models.PaymentRequest)
            .join(models.PaymentRequest, models.PaymentRequest.id == models.RegistryItem.request_id)
            .where(models.RegistryItem.registry_id == row.id)
            .order_by(models.RegistryItem.position)
        ).tuples()
    ]


def registry_out(
    session: Session, row: models.PaymentRegistry, process: dict[str, Any] | None = None
) -> schemas.PaymentRegistry:
    items = [
        schemas.RegistryItem(
            position=item.position,
            request_id=str(request.id),
            number=request.number,
            counterparty_id=str(request.counterparty_id),
            counterparty_name=request.counterparty_name,
            amount=request.amount,
            currency=request.currency,
            purpose=request.purpose,
            cost_item=request.cost_item,
            included=item.included,
            excluded_comment=item.excluded_comment,
        )
        for item, request in items_of(session, row)
    ]
    return schemas.PaymentRegistry(
        id=str(row.id),
        number=row.number,
        legal_entity_id=row.legal_entity_id,
        payment_date=row.payment_date,
        currency=row.currency,
        initiator_id=row.initiator_id,
        department_id=row.department_id,
        status=row.status,  # type: ignore[arg-type]
        responsible=list(row.responsible),
        items=items,
        total=sum((i.amount for i in items if i.included), Decimal("0.00")),
        paid_on=row.paid_on,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        process=process,  # type: ignore[arg-type]
    )


def create_registry(
    session: Session,
    caller: Identity,
    org: OrgLookup,
    settings: Settings,
    directory: Directory,
    new: schemas.NewRegistry,
    now: datetime,
) -> models.PaymentRegistry:
    """Collect approved requests (in payment, not in another registry) as a draft."""
    if not caller.roles & domain.REGISTRY_ROLES:
        raise Forbidden("finance and accounting collect payment registries")
    if not caller.department_id:
        raise InvalidInput(
            "your department is not known", [{"loc": ["department_id"], "msg": "required"}]
        )
    entity = legal_entity(directory, new.legal_entity_id, "legal_entity_id")
    if entity is None:
        raise InvalidInput(
            "no legal entity is configured to pay from",
            [{"loc": ["legal_entity_id"], "msg": "required"}],
        )
    r = models.PaymentRequest
    eligible = (
        select(r)
        .where(
            r.status == "in_payment",
            r.registry_id.is_(None),
            r.currency == new.currency,
            r.legal_entity_id == entity["id"],
        )
        .order_by(r.number_year, r.number_seq)
        .with_for_update()
    )
    if new.request_ids is None:
        chosen = list(session.scalars(eligible))
    else:
        wanted = [uuid.UUID(x) for x in new.request_ids]
        found = {x.id: x for x in session.scalars(eligible.where(r.id.in_(wanted)))}
        bad = [
            {"loc": ["request_ids", i], "msg": "not an approved request waiting for payment"}
            for i, x in enumerate(wanted)
            if x not in found
        ]
        if bad:
            raise InvalidInput(
                "some requests cannot be planned: they are not approved, already in a registry, "
                "in another currency or paid by another legal entity",
                bad,
            )
        chosen = [found[x] for x in dict.fromkeys(wanted)]
    if not chosen:
        raise InvalidInput(
            "there is no approved request waiting for payment to collect",
            [{"loc": ["request_ids"], "msg": "nothing to collect"}],
        )
    year, seq, number = next_number(
        session, "registry", settings.payments_registry_prefix, now, settings.timezone
    )
    row = models.PaymentRegistry(
        number=number,
        number_year=year,
        number_seq=seq,
        legal_entity_id=entity["id"],
        payment_date=new.payment_date,
        currency=new.currency,
        initiator_id=caller.user_id,
        department_id=caller.department_id,
        department_head_id=department_head(org, caller.user_id, now),
        status="draft",
        responsible=[caller.user_id],
        participants=[],
        version=1,
    )
    session.add(row)
    session.flush()
    for position, request in enumerate(chosen, start=1):
        session.add(
            models.RegistryItem(
                registry_id=row.id, request_id=request.id, position=position, included=True
            )
        )
        request.registry_id = row.id
        request.version += 1
    session.flush()
    session.refresh(row)
    return row


def submit(
    session: Session,
    caller: Identity,
    events: OutboxWriter,
    org: OrgLookup,
    host: ProcessHost,
    registry_id: str,
    now: datetime,
) -> models.PaymentRegistry:
    row = load(session, caller, registry_id, lock=True)
    if caller.user_id != row.initiator_id and not caller.has_role("admin"):
        raise Forbidden("the registry's initiator submits it")
    if row.status != "draft":
        raise Conflict(f"the registry is {row.status}; only a draft is submitted")
    total = sum((req.amount for item, req in items_of(session, row) if item.included), Decimal("0"))
    result = host.start(
        session,
        events,
        org,
        process=PROCESS,
        route=host.route(ROUTE),
        card_id=str(row.id),
        card={
            "registry_id": str(row.id),
            "initiator_id": row.initiator_id,
            "initiator_is_department_head": row.department_head_id == row.initiator_id,
            "total": str(total),
            "currency": row.currency,
        },
        initiator_id=row.initiator_id,
        now=now,
        label=label(row),
    )
    row.instance_id = result.instance.id
    mirror(row, result.instance)
    row.version += 1
    session.flush()
    return row


def compose(
    session: Session,
    caller: Identity,
    host: ProcessHost,
    registry_id: str,
    data: schemas.ComposeRegistry,
) -> models.PaymentRegistry:
    """The financial director's final list: drop items before completing the task."""
    row = load(session, caller, registry_id, lock=True)
    if row.status != "composing" or row.instance_id is None:
        raise Conflict(
            f"the registry is {row.status}; the list is composed at its composition step"
        )
    instance = host.load(session, row.instance_id).instance
    holders = {
        person
        for task in instance.open_tasks()
        if task.step_id == "composition"
        for person in (task.assignee_id, task.on_behalf_of, *task.escalated_to)
        if person
    }
    if caller.user_id not in holders:
        raise Forbidden("the financial director composes the final registry")
    items = {str(req.id): (item, req) for item, req in items_of(session, row)}
    bad = [
        {"loc": ["exclude", i], "msg": "not an item of this registry"}
        for i, x in enumerate(data.exclude)
        if str(uuid.UUID(x)) not in items
    ]
    if bad:
        raise InvalidInput("some requests are not in this registry", bad)
    dropping = {str(uuid.UUID(x)) for x in data.exclude}
    if all(key in dropping or not item.included for key, (item, _) in items.items()):
        raise InvalidInput(
            "the final registry cannot be empty: reject it instead",
            [{"loc": ["exclude"], "msg": "drops every item"}],
        )
    for key in dropping:
        item, request = items[key]
        if item.included:
            item.included = False
            item.excluded_by = caller.user_id
            item.excluded_comment = data.comment
            request.registry_id = None
            request.version += 1
    row.version += 1
    session.flush()
    return row


def mirror(row: models.PaymentRegistry, instance: Instance) -> None:
    row.status = domain.registry_status(instance)
    row.responsible = list(instance.responsible)
    row.participants = domain.participants_of(instance, row.participants)


def on_change(session: Session, applied: Applied) -> None:
    row = session.get(
        models.PaymentRegistry, uuid.UUID(applied.before.card_id), with_for_update=True
    )
    if row is None:  # pragma: no cover
        return
    instance = applied.instance
    mirror(row, instance)
    if instance.state in ("rejected", "cancelled"):
        for _item, request in items_of(session, row):
            if request.registry_id == row.id:
                request.registry_id = None
                request.version += 1
    if instance.state == "completed" and row.paid_on is None:
        paid = domain.completed_outputs(instance, "payment").get("payment_date")
        row.paid_on = date.fromisoformat(paid) if isinstance(paid, str) else row.payment_date
    row.version += 1


# --- export -----------------------------------------------------------------------------


def payer_party(entity: dict[str, Any], account: PayerAccount) -> bank_export.Party:
    return bank_export.Party(
        name=entity["name"],
        inn=entity["inn"],
        kpp=entity.get("kpp") or "",
        account=account.account,
        bank_name=account.bank_name,
        bank_city=account.bank_city,
        bik=account.bik,
        correspondent_account=account.correspondent_account,
    )


def payee_party(card: dict[str, Any], position: int) -> bank_export.Party:
    accounts = card.get("bank_accounts") or []
    if not accounts:
        raise Conflict(
            f"{card.get('short_name')} has no bank account: add one to the counterparty's card",
            [{"loc": ["items", position, "bank_accounts"], "msg": "missing"}],
        )
    bank = accounts[0]
    return bank_export.Party(
        name=card.get("full_name") or card.get("short_name") or "",
        inn=card.get("inn") or "",
        kpp=card.get("kpp") or "",
        account=bank["account"],
        bank_name=bank.get("bank_name") or "",
        bank_city="",
        bik=bank["bik"],
        correspondent_account=bank.get("correspondent_account") or "",
    )


def export(
    session: Session,
    caller: Identity,
    settings: Settings,
    directory: Directory,
    registry_id: str,
    fmt: str,
    now: datetime,
) -> schemas.RegistryExport:
    if fmt not in ("1c", "csv"):
        raise InvalidInput("format is 1c or csv", [{"loc": ["format"], "msg": "unknown format"}])
    row = load(session, caller, registry_id)
    if row.status not in EXPORTABLE:
        raise Conflict(
            f"the registry is {row.status}; only an approved registry is exported",
            [{"loc": ["status"], "msg": row.status}],
        )
    entity = legal_entity(directory, row.legal_entity_id, "legal_entity_id")
    assert entity is not None
    account = settings.payments_payer_accounts.get(entity["inn"], settings.payments_default_account)
    payer = payer_party(entity, account)
    payments = [
        bank_export.Payment(
            number=str(request.number_seq),
            on=row.payment_date,
            amount=request.amount,
            payer=payer,
            payee=payee_party(directory.counterparty(str(request.counterparty_id)), item.position),
            purpose=request.purpose,
        )
        for item, request in items_of(session, row)
        if item.included
    ]
    if fmt == "1c":
        content = bank_export.to_1c(
            payments, account=account.account, sender=settings.payments_export_sender, created=now
        )
        return schemas.RegistryExport(
            format="1c",
            filename=f"1c_to_kl_{row.number_year}_{row.number_seq:04d}.txt",
            content_type="text/plain; charset=windows-1251",
            content_base64=base64.b64encode(content).decode(),
        )
    return schemas.RegistryExport(
        format="csv",
        filename=f"registry_{row.number_year}_{row.number_seq:04d}.csv",
        content_type="text/csv; charset=utf-8",
        content_base64=base64.b64encode(bank_export.to_csv(payments)).decode(),
    )
