"""Counterparty rules without I/O: numbers, kinds, the checklist, 1C items as cards."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from stdnum.ru import ogrn as stdnum_ogrn

from counterparty_svc import domain, numbers
from services.errors import InvalidInput
from services.schemas import counterparty as schemas

# Real, public numbers: Sberbank's INN, KPP, OGRN, BIK and correspondent account.
SBER = {"inn": "7707083893", "kpp": "773601001", "ogrn": "1027700132195"}
SBER_BIK, SBER_CORR = "044525225", "30101810400000000225"
# A person's INN: 500304567878 (control digits 7, 8 computed by hand from 5003045678).
PERSON_INN = "500304567878"
# OGRNIPs: 30477000000001|9 has remainder 9; 30477000000002|0 has remainder 10 (-> 0).
OGRNIP_REMAINDER_9 = "304770000000019"
OGRNIP_REMAINDER_10 = "304770000000020"


def card(**fields: Any) -> schemas.CardFields:
    base: dict[str, Any] = {"kind": "legal_entity", "category": "supplier", "full_name": "ПАО"}
    return schemas.CardFields.model_validate(base | SBER | fields)


def locs(c: schemas.CardFields) -> list[list[Any]]:
    return [e["loc"] for e in domain.card_errors(c)]


@pytest.mark.parametrize("inn", ["7707083893", PERSON_INN])
def test_valid_inns_pass(inn: str) -> None:
    assert numbers.inn_error(inn) is None


@pytest.mark.parametrize(
    "inn", ["7707083894", "500304567870", "500304567808", "12345", "77070838a3"]
)
def test_mistyped_inns_are_refused(inn: str) -> None:
    assert numbers.inn_error(inn) is not None


def test_an_inn_of_the_wrong_length_for_the_kind_is_refused() -> None:
    assert numbers.inn_error(PERSON_INN, 10) == "INN of this kind has 10 digits"


def test_ogrn_checksum() -> None:
    assert numbers.ogrn_error(SBER["ogrn"]) is None
    assert numbers.ogrn_error("1027700132196") is not None
    assert numbers.ogrn_error("102770013219") is not None


def test_ogrnip_with_a_remainder_of_10_is_valid_though_stdnum_refuses_it() -> None:
    assert int(OGRNIP_REMAINDER_10[:14]) % 13 == 10
    assert not stdnum_ogrn.is_valid(OGRNIP_REMAINDER_10)  # the library's omission
    assert numbers.ogrnip_error(OGRNIP_REMAINDER_10) is None
    assert numbers.ogrnip_error(OGRNIP_REMAINDER_9) is None
    assert stdnum_ogrn.is_valid(OGRNIP_REMAINDER_9)


@pytest.mark.parametrize(
    "ogrnip", ["304770000000021", "304770000000010", "504770000000020", "30477000000002"]
)
def test_wrong_ogrnips_are_refused(ogrnip: str) -> None:
    assert numbers.ogrnip_error(ogrnip) is not None


@pytest.mark.parametrize(
    "kpp,ok",
    [
        ("773601001", True),
        ("7736AB001", True),
        ("7736ab001", False),
        ("77360100", False),
        ("A73601001", False),
    ],
)
def test_kpp_format(kpp: str, ok: bool) -> None:
    assert (numbers.kpp_error(kpp) is None) is ok


def test_accounts_are_checked_against_the_bik() -> None:
    assert numbers.correspondent_account_error(SBER_CORR, SBER_BIK) is None
    assert numbers.correspondent_account_error("30101810400000000226", SBER_BIK) is not None
    # Sberbank's North-West bank (St Petersburg): its own pair is right, Moscow's is not.
    assert numbers.correspondent_account_error("30101810500000000653", "044030653") is None
    assert numbers.correspondent_account_error(SBER_CORR, "044030653") is not None
    assert numbers.settlement_account_error("40702810938000000001", SBER_BIK) is None
    assert numbers.settlement_account_error("40702810038000000001", SBER_BIK) is not None
    assert numbers.bik_error("04452522") is not None


def test_a_legal_entity_needs_inn_kpp_and_ogrn() -> None:
    assert locs(card()) == []
    assert locs(card(kpp=None, ogrn=None)) == [["kpp"], ["ogrn"]]
    assert locs(card(inn=PERSON_INN)) == [["inn"]]


def test_a_sole_proprietor_has_a_12_digit_inn_and_no_kpp() -> None:
    base = {"kind": "sole_proprietor", "inn": PERSON_INN, "kpp": None, "ogrn": OGRNIP_REMAINDER_10}
    assert locs(card(**base)) == []
    assert locs(card(**(base | {"kpp": "773601001"}))) == [["kpp"]]
    assert locs(card(**(base | {"inn": SBER["inn"]}))) == [["inn"]]
    assert locs(card(**(base | {"ogrn": "304770000000021"}))) == [["ogrn"]]


def test_a_self_employed_person_has_no_ogrnip() -> None:
    base = {"kind": "self_employed", "inn": PERSON_INN, "kpp": None, "ogrn": None}
    assert locs(card(**base)) == []
    assert locs(card(**(base | {"ogrn": OGRNIP_REMAINDER_9}))) == [["ogrn"]]


def test_a_foreign_company_may_lack_an_inn_but_names_its_country() -> None:
    base = {"kind": "foreign", "inn": None, "kpp": None, "ogrn": None, "country": "DE"}
    assert locs(card(**base)) == []
    assert locs(card(**(base | {"country": "RU"}))) == [["country"]]


def test_bank_account_errors_carry_their_path() -> None:
    bad = card(
        bank_accounts=[
            {"bik": SBER_BIK, "account": "40702810038000000001", "correspondent_account": SBER_CORR}
        ]
    )
    assert locs(bad) == [["bank_accounts", 0, "account"]]
    with pytest.raises(InvalidInput) as caught:
        domain.check_card(bad)
    assert caught.value.errors[0]["loc"] == ["bank_accounts", 0, "account"]


def test_an_unknown_kind_is_refused_by_the_contract() -> None:
    with pytest.raises(ValueError):
        card(kind="partnership")


PKG = domain.load_package(
    {
        "document_types": {
            "egrip_extract": {"title": "ЕГРИП", "valid_days": 30},
            "passport": {"title": "Паспорт"},
        },
        "required": {"sole_proprietor": ["egrip_extract", "passport"]},
    }
)


def held(i: int, doc_type: str, issued: date, expires: date | None) -> domain.HeldDocument:
    return domain.HeldDocument(f"d{i}", doc_type, issued, expires)


def statuses(docs: list[domain.HeldDocument], on: date) -> dict[str, tuple[str, str | None]]:
    return {
        line.doc_type: (line.status, line.document_id)
        for line in domain.checklist(PKG, "sole_proprietor", docs, on)
    }


def test_the_checklist_says_missing_present_and_expired() -> None:
    on = date(2026, 11, 23)
    assert statuses([], on) == {"egrip_extract": ("missing", None), "passport": ("missing", None)}
    docs = [
        held(1, "egrip_extract", date(2026, 9, 1), date(2026, 10, 1)),
        held(2, "passport", date(2015, 1, 1), None),
    ]
    assert statuses(docs, on) == {"egrip_extract": ("expired", "d1"), "passport": ("present", "d2")}
    # A newer extract arrives later: the current one counts.
    docs.append(held(3, "egrip_extract", date(2026, 11, 20), date(2026, 12, 20)))
    assert statuses(docs, on)["egrip_extract"] == ("present", "d3")


def test_a_document_is_current_through_its_expiry_date() -> None:
    doc = held(1, "passport", date(2020, 1, 1), date(2026, 11, 23))
    assert not domain.is_expired(doc, date(2026, 11, 23))
    assert domain.is_expired(doc, date(2026, 11, 24))


def test_a_type_with_usual_validity_gets_a_default_expiry() -> None:
    assert PKG.default_expiry("egrip_extract", date(2026, 1, 1)) == date(2026, 1, 31)
    assert PKG.default_expiry("passport", date(2026, 1, 1)) is None


def test_the_shipped_package_covers_every_kind() -> None:
    shipped = domain.package()
    assert set(shipped.required) == {
        "legal_entity",
        "sole_proprietor",
        "self_employed",
        "foreign",
        "government_body",
    }


def test_a_package_naming_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError):
        domain.load_package({"document_types": {}, "required": {"foreign": ["visa"]}})


def test_a_1c_item_becomes_a_card_draft() -> None:
    item = {
        "Ref_Key": "4f6a1c2e-0000-4000-8000-000000000001",
        "Description": "ИП Иванов",
        "НаименованиеПолное": "Индивидуальный предприниматель Иванов Иван Иванович",
        "ИНН": PERSON_INN,
        "КПП": "",
        "РегистрационныйНомер": OGRNIP_REMAINDER_10,
        "ЮридическоеФизическоеЛицо": "ФизическоеЛицо",
        "КонтактнаяИнформация": [
            {"Тип": "Адрес", "Представление": "г. Тверь, ул. Советская, 1"},
            {"Тип": "Телефон", "Представление": "+7 4822 00-00-00"},
        ],
    }
    draft = domain.card_from_onec(item, "contractor")
    assert draft["kind"] == "sole_proprietor" and draft["kpp"] is None
    assert draft["addresses"] == [{"kind": "legal", "text": "г. Тверь, ул. Советская, 1"}]
    assert domain.card_errors(schemas.CardFields.model_validate(draft)) == []
    assert "category" not in domain.card_from_onec(item, None)
    assert domain.kind_from_onec({"ИНН": "", "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо"}) == (
        "foreign"
    )
    assert domain.kind_from_onec({"ИНН": SBER["inn"], "ГосударственныйОрган": True}) == (
        "government_body"
    )
