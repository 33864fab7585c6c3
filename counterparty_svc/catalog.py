"""The product and service catalogue (Каталог товаров): sections as a tree, items
with an OKEI unit and a price (Decimal, with its currency).

Everybody signed in reads it; ``CATALOG_EDITORS`` change it.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from counterparty_svc import models
from services.auth import ADMIN_ROLE, Identity, require_role
from services.errors import Conflict, InvalidInput, NotFound
from services.ids import parse_filter_id, parse_id
from services.outbox import OutboxWriter
from services.pagination import clamp_limit, contains_pattern, decode_cursor, encode_cursor
from services.schemas import counterparty as schemas

CATALOG_EDITORS = (ADMIN_ROLE, "chief_accountant", "accountant", "office_manager")


def _section(session: Session, section_id: str, field: str = "section_id") -> models.CatalogSection:
    found = session.get(models.CatalogSection, parse_id(section_id, "section"))
    if found is None:
        raise NotFound(f"catalogue section {section_id} does not exist")
    return found


def _item(session: Session, item_id: str) -> models.CatalogItem:
    found = session.get(models.CatalogItem, parse_id(item_id, "item"))
    if found is None:
        raise NotFound(f"catalogue item {item_id} does not exist")
    return found


def item_out(row: models.CatalogItem) -> schemas.Item:
    return schemas.Item(
        id=str(row.id),
        section_id=str(row.section_id),
        name=row.name,
        item_type=row.item_type,
        sku=row.sku,
        unit=schemas.Unit(code=row.unit_code, name=row.unit_name),
        price=str(Decimal(row.price).quantize(Decimal("0.01"))),
        currency=row.currency,
        vat_rate=row.vat_rate,
        version=row.version,
    )


def section_tree(session: Session) -> list[schemas.Section]:
    rows = list(session.scalars(select(models.CatalogSection).order_by(models.CatalogSection.name)))
    nodes = {r.id: schemas.Section(id=str(r.id), name=r.name, parent_id=None) for r in rows}
    roots: list[schemas.Section] = []
    for r in rows:
        node = nodes[r.id]
        if r.parent_id is not None and r.parent_id in nodes:
            node.parent_id = str(r.parent_id)
            nodes[r.parent_id].children.append(node)
        else:
            roots.append(node)
    return roots


def create_section(
    session: Session, caller: Identity, events: OutboxWriter, data: schemas.NewSection
) -> schemas.Section:
    require_role(caller, CATALOG_EDITORS, "Changing the catalogue")
    parent = _section(session, data.parent_id, "parent_id") if data.parent_id else None
    row = models.CatalogSection(name=data.name, parent_id=parent.id if parent else None)
    session.add(row)
    session.flush()
    return schemas.Section(
        id=str(row.id), name=row.name, parent_id=str(parent.id) if parent else None
    )


def update_section(
    session: Session, caller: Identity, section_id: str, patch: schemas.SectionPatch
) -> schemas.Section:
    require_role(caller, CATALOG_EDITORS, "Changing the catalogue")
    row = _section(session, section_id)
    if patch.name is not None:
        row.name = patch.name
    if "parent_id" in patch.model_fields_set:
        if patch.parent_id is None:
            row.parent_id = None
        else:
            parent = _section(session, patch.parent_id, "parent_id")
            # Moving a section under itself or its own descendant would cut it off the tree.
            cursor: models.CatalogSection | None = parent
            while cursor is not None:
                if cursor.id == row.id:
                    raise InvalidInput(
                        "a section cannot move under itself",
                        [{"loc": ["parent_id"], "msg": "cycle"}],
                    )
                cursor = (
                    session.get(models.CatalogSection, cursor.parent_id)
                    if cursor.parent_id
                    else None
                )
            row.parent_id = parent.id
    session.flush()
    return schemas.Section(
        id=str(row.id), name=row.name, parent_id=str(row.parent_id) if row.parent_id else None
    )


def delete_section(session: Session, caller: Identity, section_id: str) -> None:
    require_role(caller, CATALOG_EDITORS, "Changing the catalogue")
    row = _section(session, section_id)
    busy = session.scalar(
        select(
            exists().where(models.CatalogSection.parent_id == row.id)
            | exists().where(models.CatalogItem.section_id == row.id)
        )
    )
    if busy:
        raise Conflict("the section still holds sections or items")
    session.delete(row)
    session.flush()


def create_item(
    session: Session, caller: Identity, events: OutboxWriter, data: schemas.NewItem
) -> schemas.Item:
    require_role(caller, CATALOG_EDITORS, "Changing the catalogue")
    section = _section(session, data.section_id)
    row = models.CatalogItem(
        section_id=section.id,
        name=data.name,
        item_type=data.item_type,
        sku=data.sku,
        unit_code=data.unit.code,
        unit_name=data.unit.name,
        price=data.price,
        currency=data.currency,
        vat_rate=data.vat_rate,
    )
    session.add(row)
    session.flush()
    out = item_out(row)
    events.add(
        session, "catalog.item_created", {"schema_version": 1, **out.model_dump(mode="json")}
    )
    return out


def get_item(session: Session, item_id: str) -> schemas.Item:
    return item_out(_item(session, item_id))


def list_items(
    session: Session,
    section_id: str | None = None,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    size = clamp_limit(limit)
    table = models.CatalogItem
    stmt = select(table).order_by(table.name, table.id)
    if section_id:
        stmt = stmt.where(table.section_id == parse_filter_id(section_id, "section_id"))
    if q:
        stmt = stmt.where(table.name.ilike(contains_pattern(q)) | (table.sku == q))
    after = decode_cursor(cursor)
    if after:
        if len(after) != 2:
            raise InvalidInput("cursor is not valid", [{"loc": ["cursor"], "msg": "not a key"}])
        stmt = stmt.where(
            tuple_(table.name, table.id) > tuple_(str(after[0]), uuid.UUID(str(after[1])))
        )
    rows = list(session.scalars(stmt.limit(size + 1)))
    page, more = rows[:size], len(rows) > size
    return {
        "items": [item_out(r).model_dump(mode="json") for r in page],
        "next_cursor": encode_cursor([page[-1].name, str(page[-1].id)]) if more else None,
    }


def update_item(
    session: Session,
    caller: Identity,
    item_id: str,
    patch: schemas.ItemPatch,
    expected_version: int | None,
) -> schemas.Item:
    require_role(caller, CATALOG_EDITORS, "Changing the catalogue")
    row = _item(session, item_id)
    if expected_version is not None and expected_version != row.version:
        raise Conflict(f"the item changed meanwhile: version {row.version}, not {expected_version}")
    if patch.section_id is not None:
        row.section_id = _section(session, patch.section_id).id
    for field in ("name", "item_type", "sku", "price", "currency", "vat_rate"):
        value = getattr(patch, field)
        if value is not None:
            setattr(row, field, value)
    if patch.unit is not None:
        row.unit_code, row.unit_name = patch.unit.code, patch.unit.name
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict("the item changed meanwhile: read it again") from exc
    return item_out(row)


def delete_item(session: Session, caller: Identity, item_id: str) -> None:
    require_role(caller, CATALOG_EDITORS, "Changing the catalogue")
    session.delete(_item(session, item_id))
    session.flush()
