"""The registry's bank export: 1CClientBankExchange 1.03 read back field by field, and CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from payments_svc.bank_export import Party, Payment, parse_1c, to_1c, to_csv

PAYER = Party(
    name="ООО «Гостиница Северная»",
    inn="7812345671",
    kpp="781001001",
    account="40702810970000000001",
    bank_name="ПАО Сбербанк",
    bank_city="г. Москва",
    bik="044525225",
    correspondent_account="30101810400000000225",
)


def payee(n: int) -> Party:
    return Party(
        name=f"Общество с ограниченной ответственностью «Поставщик {n}»",
        inn=f"77070838{n:02d}",
        kpp="773601001",
        account=f"4070281093800000000{n}",
        bank_name="АО «Альфа-Банк»",
        bank_city="",
        bik="044525593",
        correspondent_account="30101810200000000593",
    )


PAYMENTS = [
    Payment(
        "17", date(2026, 12, 4), Decimal("148500.00"), PAYER, payee(1), "Оплата по счёту № 1187"
    ),
    Payment("18", date(2026, 12, 4), Decimal("0.5"), PAYER, payee(2), "Аренда\nза декабрь"),
]
CREATED = datetime(2026, 12, 3, 16, 5, 9, tzinfo=ZoneInfo("Europe/Moscow"))


def exported() -> bytes:
    return to_1c(PAYMENTS, account=PAYER.account, sender="Docflow", created=CREATED)


def test_the_file_is_windows_1251_key_value_lines_with_the_standard_frame() -> None:
    data = exported()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp1251")
    lines = text.split("\r\n")
    assert lines[:3] == ["1CClientBankExchange", "ВерсияФормата=1.03", "Кодировка=Windows"]
    assert lines[-2:] == ["КонецФайла", ""]  # CRLF after the last line too
    assert lines.count("СекцияДокумент=Платежное поручение") == 2
    assert lines.count("КонецДокумента") == 2
    assert all(
        "=" in line
        for line in lines
        if line not in {"1CClientBankExchange", "КонецДокумента", "КонецФайла", ""}
    )


def test_every_payment_reads_back_with_its_sums_and_details() -> None:
    parsed = parse_1c(exported())
    header = parsed["header"]
    assert header["Отправитель"] == "Docflow"
    assert header["ДатаСоздания"] == "03.12.2026" and header["ВремяСоздания"] == "16:05:09"
    assert header["ДатаНачала"] == header["ДатаКонца"] == "04.12.2026"
    assert header["РасчСчет"] == PAYER.account
    docs = parsed["documents"]
    assert [d["Номер"] for d in docs] == ["17", "18"]
    assert [Decimal(d["Сумма"]) for d in docs] == [Decimal("148500.00"), Decimal("0.50")]
    assert sum(Decimal(d["Сумма"]) for d in docs) == Decimal("148500.50")
    assert docs[1]["Сумма"] == "0.50"
    first = docs[0]
    expected = {
        "СекцияДокумент": "Платежное поручение",
        "Дата": "04.12.2026",
        "ПлательщикСчет": PAYER.account,
        "Плательщик": PAYER.name,
        "ПлательщикИНН": PAYER.inn,
        "ПлательщикКПП": PAYER.kpp,
        "Плательщик1": PAYER.name,
        "ПлательщикРасчСчет": PAYER.account,
        "ПлательщикБанк1": PAYER.bank_name,
        "ПлательщикБанк2": PAYER.bank_city,
        "ПлательщикБИК": PAYER.bik,
        "ПлательщикКорсчет": PAYER.correspondent_account,
        "ПолучательСчет": payee(1).account,
        "Получатель": payee(1).name,
        "ПолучательИНН": payee(1).inn,
        "ПолучательКПП": payee(1).kpp,
        "Получатель1": payee(1).name,
        "ПолучательРасчСчет": payee(1).account,
        "ПолучательБанк1": payee(1).bank_name,
        "ПолучательБИК": payee(1).bik,
        "ПолучательКорсчет": payee(1).correspondent_account,
        "ВидПлатежа": "электронно",
        "ВидОплаты": "01",
        "Очередность": "5",
        "НазначениеПлатежа": "Оплата по счёту № 1187",
    }
    assert {k: first[k] for k in expected} == expected
    # A line break in the purpose would end the value: it becomes a space.
    assert docs[1]["НазначениеПлатежа"] == "Аренда за декабрь"


def test_a_character_windows_1251_lacks_does_not_break_the_file() -> None:
    odd = Payment("1", date(2026, 12, 4), Decimal("1"), PAYER, payee(3), "Оплата 😀 ✓")
    parsed = parse_1c(to_1c([odd], account=PAYER.account, sender="Docflow", created=CREATED))
    assert parsed["documents"][0]["НазначениеПлатежа"] == "Оплата ? ?"


def test_a_truncated_file_is_refused_by_the_reader() -> None:
    data = exported()
    with pytest.raises(ValueError, match="КонецФайла"):
        parse_1c(data[: data.rindex("КонецФайла".encode("cp1251"))])
    with pytest.raises(ValueError, match="1CClientBankExchange"):
        parse_1c("ВерсияФормата=1.03\r\n".encode("cp1251"))


def test_the_csv_lists_the_same_payments() -> None:
    data = to_csv(PAYMENTS)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Номер", "Дата", "Сумма"]
    assert [(r[0], r[2], r[4]) for r in rows[1:]] == [
        ("17", "148500,00", payee(1).inn),
        ("18", "0,50", payee(2).inn),
    ]
