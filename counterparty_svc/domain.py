"""Counterparty rules in plain Python: what a card of each kind must hold, the
statutory-document checklist, staleness, and what a 1C catalogue item means
as a card. No nameko, no SQL, no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from counterparty_svc import numbers
from services.errors import FieldErrors, InvalidInput
from services.schemas import counterparty as schemas

REQUIRED_DOCUMENTS_FILE = Path(__file__).with_name("required_documents.yaml")


def card_errors(card: schemas.CardFields) -> FieldErrors:
    """Every rule the card breaks, as field errors (empty: the card is valid)."""
    errors: FieldErrors = []

    def bad(field: str | list[Any], msg: str) -> None:
        errors.append({"loc": field if isinstance(field, list) else [field], "msg": msg})

    kind = card.kind
    if kind in ("legal_entity", "government_body"):
        if not card.inn:
            bad("inn", f"a {kind} needs its INN")
        elif err := numbers.inn_error(card.inn, 10):
            bad("inn", err)
        if not card.kpp:
            bad("kpp", f"a {kind} needs its KPP")
        if kind == "legal_entity" and not card.ogrn:
            bad("ogrn", "a legal entity needs its OGRN")
        if card.ogrn and (err := numbers.ogrn_error(card.ogrn)):
            bad("ogrn", err)
    elif kind in ("sole_proprietor", "self_employed"):
        if not card.inn:
            bad("inn", f"a {kind} needs their INN")
        elif err := numbers.inn_error(card.inn, 12):
            bad("inn", err)
        if card.kpp:
            bad("kpp", "a person has no KPP")
        if kind == "self_employed" and card.ogrn:
            bad("ogrn", "a self-employed person is not registered as a sole proprietor (no OGRNIP)")
        elif card.ogrn and (err := numbers.ogrnip_error(card.ogrn)):
            bad("ogrn", err)
    else:  # foreign: a Russian INN only if registered with the Russian tax service
        if card.country == "RU":
            bad("country", "a foreign counterparty names its country of registration")
        if card.inn and (err := numbers.inn_error(card.inn, 10)):
            bad("inn", err)
        if card.ogrn:
            bad("ogrn", "a foreign company has no OGRN")
    if card.kpp and (err := numbers.kpp_error(card.kpp)):
        bad("kpp", err)
    for i, acc in enumerate(card.bank_accounts):
        if err := numbers.bik_error(acc.bik):
            bad(["bank_accounts", i, "bik"], err)
        if err := numbers.settlement_account_error(acc.account, acc.bik):
            bad(["bank_accounts", i, "account"], err)
        if acc.correspondent_account and (
            err := numbers.correspondent_account_error(acc.correspondent_account, acc.bik)
        ):
            bad(["bank_accounts", i, "correspondent_account"], err)
    return errors


def check_card(card: schemas.CardFields) -> None:
    errors = card_errors(card)
    if errors:
        raise InvalidInput("The counterparty card is not valid: " + errors[0]["msg"], errors)


def is_stale(verified_at: datetime | None, now: datetime, max_age: timedelta) -> bool:
    return verified_at is None or now - verified_at > max_age


# --- statutory documents ---------------------------------------------------------


@dataclass(frozen=True)
class DocumentType:
    code: str
    title: str
    valid_days: int | None


@dataclass(frozen=True)
class Package:
    types: dict[str, DocumentType]
    required: dict[str, list[str]]

    def title(self, code: str) -> str:
        found = self.types.get(code)
        return found.title if found else code

    def default_expiry(self, code: str, issued_on: date) -> date | None:
        found = self.types.get(code)
        if found is None or found.valid_days is None:
            return None
        return issued_on + timedelta(days=found.valid_days)


def load_package(data: dict[str, Any]) -> Package:
    types = {
        code: DocumentType(code, str(spec["title"]), spec.get("valid_days"))
        for code, spec in data["document_types"].items()
    }
    required = {kind: list(codes) for kind, codes in data["required"].items()}
    unknown = {c for codes in required.values() for c in codes} - set(types)
    if unknown:
        raise ValueError(f"required documents of unknown types: {sorted(unknown)}")
    return Package(types, required)


@lru_cache(maxsize=1)
def package() -> Package:
    return load_package(yaml.safe_load(REQUIRED_DOCUMENTS_FILE.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class HeldDocument:
    id: str
    doc_type: str
    issued_on: date
    expires_on: date | None


def is_expired(doc: HeldDocument, on: date) -> bool:
    """A document is current through its expiry date and expired the day after."""
    return doc.expires_on is not None and doc.expires_on < on


def checklist(
    pkg: Package, kind: str, held: list[HeldDocument], on: date
) -> list[schemas.ChecklistLine]:
    """Per required type: present (a current one), expired (only expired ones), or missing."""
    lines = []
    for code in pkg.required.get(kind, []):
        mine = sorted(
            (d for d in held if d.doc_type == code),
            key=lambda d: (d.expires_on or date.max, d.issued_on),
            reverse=True,
        )
        current = [d for d in mine if not is_expired(d, on)]
        if current:
            best, status = current[0], "present"
        elif mine:
            best, status = mine[0], "expired"
        else:
            lines.append(
                schemas.ChecklistLine(
                    doc_type=code,
                    title=pkg.title(code),
                    status="missing",
                    document_id=None,
                    expires_on=None,
                )
            )
            continue
        lines.append(
            schemas.ChecklistLine(
                doc_type=code,
                title=pkg.title(code),
                status=status,  # type: ignore[arg-type]
                document_id=best.id,
                expires_on=best.expires_on,
            )
        )
    return lines


# --- 1C -------------------------------------------------------------------------

ONEC_LEGAL = "ЮридическоеЛицо"
ONEC_PERSON = "ФизическоеЛицо"


def kind_from_onec(item: dict[str, Any]) -> str:
    """Our kind for a 1C:Бухгалтерия catalogue item (its attributes cannot tell a
    self-employed person from a sole proprietor: people become sole proprietors)."""
    inn = str(item.get("ИНН") or "")
    if item.get("ГосударственныйОрган"):
        return "government_body"
    if item.get("ЮридическоеФизическоеЛицо") == ONEC_PERSON or len(inn) == 12:
        return "sole_proprietor"
    if not inn:
        return "foreign"
    return "legal_entity"


def card_from_onec(item: dict[str, Any], category: str | None) -> dict[str, Any]:
    """A card draft (NewCounterparty fields) from a Catalog_Контрагенты item; 1C knows
    no routing category, so the caller gives it (None: the draft leaves it out)."""
    kind = kind_from_onec(item)
    addresses: list[dict[str, str]] = []
    contacts: list[dict[str, str]] = []
    for line in item.get("КонтактнаяИнформация") or []:
        text = str(line.get("Представление") or "").strip()
        if not text:
            continue
        kind_1c = line.get("Тип")
        if kind_1c == "Адрес":
            addresses.append({"kind": "legal" if not addresses else "actual", "text": text})
        elif kind_1c == "Телефон":
            contacts.append({"phone": text})
        elif kind_1c == "АдресЭлектроннойПочты":
            contacts.append({"email": text})
    card: dict[str, Any] = {
        "kind": kind,
        "category": category,
        "inn": (item.get("ИНН") or None),
        "kpp": (item.get("КПП") or None) if kind in ("legal_entity", "government_body") else None,
        "ogrn": (item.get("РегистрационныйНомер") or None),
        "full_name": str(item.get("НаименованиеПолное") or item.get("Description") or "").strip(),
        "short_name": str(item.get("Description") or "").strip(),
        "addresses": addresses,
        "contacts": contacts,
    }
    if category is None:
        del card["category"]
    if kind == "foreign":
        card["country"] = str(item.get("СтранаРегистрацииКод") or "ZZ")
    return card


#: Card fields 1C is the source of truth for (verification refreshes them).
ONEC_FIELDS = ("inn", "kpp", "ogrn", "full_name", "short_name")


def onec_changes(current: dict[str, Any], from_onec: dict[str, Any]) -> dict[str, Any]:
    """The 1C-owned fields whose value in 1C differs from the card (empty 1C values ignored)."""
    return {
        f: from_onec[f]
        for f in ONEC_FIELDS
        if from_onec.get(f) and from_onec.get(f) != current.get(f)
    }
