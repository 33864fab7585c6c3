"""Test data for counterparty tests: unique valid numbers, cards, 1C items, stub controls."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx

from counterparty_svc.stubs.onec_odata import data_version, inn10, inn12, ogrn13, ogrnip15
from services.devstack import Stack

_rng = random.Random()


def digits(n: int) -> str:
    return "".join(str(_rng.randint(0, 9)) for _ in range(n))


def legal_entity(**overrides: Any) -> dict[str, Any]:
    inn = inn10("7" + digits(8))
    card = {
        "kind": "legal_entity",
        "category": "supplier",
        "inn": inn,
        "kpp": inn[:4] + "01001",
        "ogrn": ogrn13("1" + digits(11)),
        "full_name": f"Общество с ограниченной ответственностью «Тест {inn}»",
        "short_name": f"ООО «Тест {inn}»",
        "bank_accounts": [
            {
                "bik": "044525225",
                "bank_name": "ПАО Сбербанк",
                "account": "40702810938000000001",
                "correspondent_account": "30101810400000000225",
            }
        ],
    }
    return card | overrides


def sole_proprietor(**overrides: Any) -> dict[str, Any]:
    inn = inn12("50" + digits(8))
    card = {
        "kind": "sole_proprietor",
        "category": "contractor",
        "inn": inn,
        "ogrn": ogrnip15("3" + digits(13)),
        "full_name": f"Индивидуальный предприниматель Тестов {inn}",
        "short_name": f"ИП Тестов {inn}",
    }
    return card | overrides


def onec_item(
    card: dict[str, Any], description: str | None = None, version: int = 1
) -> dict[str, Any]:
    """The 1C catalogue item that corresponds to ``card``."""
    person = card["kind"] in ("sole_proprietor", "self_employed")
    return {
        "Ref_Key": str(uuid.uuid4()),
        "DataVersion": data_version(version),
        "DeletionMark": False,
        "Parent_Key": "00000000-0000-0000-0000-000000000000",
        "IsFolder": False,
        "Code": f"T-{digits(6)}",
        "Description": description or card["short_name"],
        "НаименованиеПолное": card["full_name"],
        "ИНН": card["inn"],
        "КПП": card.get("kpp") or "",
        "РегистрационныйНомер": card.get("ogrn") or "",
        "ЮридическоеФизическоеЛицо": "ФизическоеЛицо" if person else "ЮридическоеЛицо",
        "ГосударственныйОрган": False,
        "КонтактнаяИнформация": [
            {"LineNumber": "1", "Тип": "Адрес", "Представление": "г. Москва, ул. Тестовая, 1"}
        ],
    }


class OneCStub:
    """The test controls of the 1C stand-in the suite started (never part of 1C)."""

    def __init__(self, suite: Stack) -> None:
        self.odata_url = suite.extra_env["DOCFLOW_ONEC_ODATA_URL"]
        self.base = self.odata_url.removesuffix("/odata/standard.odata")
        self.auth = (
            suite.extra_env["DOCFLOW_ONEC_USERNAME"],
            suite.extra_env["DOCFLOW_ONEC_PASSWORD"],
        )

    def add(self, *items: dict[str, Any]) -> None:
        httpx.post(f"{self.base}/_stub/records", json=list(items)).raise_for_status()

    def mode(self, **mode: Any) -> dict[str, Any]:
        answer = httpx.post(f"{self.base}/_stub/mode", json=mode)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.base}/_stub/stats").json()
        return result

    def catalogue_size(self) -> int:
        """How many non-group items 1C holds, asked the OData way."""
        answer = httpx.get(
            f"{self.odata_url}/Catalog_Контрагенты",
            params={
                "$format": "json",
                "$filter": "IsFolder eq false",
                "$top": "0",
                "$inlinecount": "allpages",
            },
            auth=self.auth,
        )
        answer.raise_for_status()
        return int(answer.json()["odata.count"])
