"""The approved registry as files for the bank and for 1C.

``to_1c`` writes the "1CClientBankExchange" text format, version 1.03, of the
1C:Enterprise standard "Стандарт обмена с системами «Клиент банка»"
(https://v8.1c.ru/tekhnologii/obmen-dannymi-i-integratsiya/standarty-i-formaty/standart-obmena-s-sistemami-klient-banka/formaty-obmena/):
Windows-1251, CRLF lines of ``key=value``; a header, one
``СекцияДокумент=Платежное поручение`` … ``КонецДокумента`` block per payment,
``КонецФайла`` last. ``parse_1c`` reads such a file back (our tests, and anyone
who wants to check a file before sending it). ``to_csv`` is the same list for
people: UTF-8 with a BOM and ``;`` separators, as spreadsheet programs in Russia
expect.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

ENCODING = "cp1251"
DOCUMENT_KIND = "Платежное поручение"


@dataclass(frozen=True)
class Party:
    name: str
    inn: str
    kpp: str
    account: str
    bank_name: str
    bank_city: str
    bik: str
    correspondent_account: str


@dataclass(frozen=True)
class Payment:
    number: str
    on: date
    amount: Decimal
    payer: Party
    payee: Party
    purpose: str
    #: ВидПлатежа: how the bank sends it ("электронно", "срочно", or empty).
    kind: str = "электронно"
    #: Очередность платежа: 5 is every ordinary supplier payment (Civil Code art. 855).
    priority: int = 5


def _value(value: Any) -> str:
    """One line per key: the format has no escaping, so line breaks become spaces."""
    text = str(value if value is not None else "")
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _sum(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _party(prefix: str, party: Party) -> list[tuple[str, str]]:
    return [
        (f"{prefix}Счет", party.account),
        (prefix, party.name),
        (f"{prefix}ИНН", party.inn),
        (f"{prefix}КПП", party.kpp),
        (f"{prefix}1", party.name),
        (f"{prefix}РасчСчет", party.account),
        (f"{prefix}Банк1", party.bank_name),
        (f"{prefix}Банк2", party.bank_city),
        (f"{prefix}БИК", party.bik),
        (f"{prefix}Корсчет", party.correspondent_account),
    ]


def document_lines(payment: Payment) -> list[tuple[str, str]]:
    return [
        ("СекцияДокумент", DOCUMENT_KIND),
        ("Номер", payment.number),
        ("Дата", _day(payment.on)),
        ("Сумма", _sum(payment.amount)),
        *_party("Плательщик", payment.payer),
        *_party("Получатель", payment.payee),
        ("ВидПлатежа", payment.kind),
        ("ВидОплаты", "01"),
        ("Очередность", str(payment.priority)),
        ("НазначениеПлатежа", payment.purpose),
    ]


def to_1c(
    payments: Sequence[Payment],
    *,
    account: str,
    sender: str,
    receiver: str = "",
    created: datetime,
) -> bytes:
    """The file; characters Windows-1251 lacks become ``?`` (the bank could not read them)."""
    days = [p.on for p in payments] or [created.date()]
    lines: list[str] = ["1CClientBankExchange"]
    header = [
        ("ВерсияФормата", "1.03"),
        ("Кодировка", "Windows"),
        ("Отправитель", sender),
        ("Получатель", receiver),
        ("ДатаСоздания", _day(created.date())),
        ("ВремяСоздания", created.strftime("%H:%M:%S")),
        ("ДатаНачала", _day(min(days))),
        ("ДатаКонца", _day(max(days))),
        ("РасчСчет", account),
        ("Документ", DOCUMENT_KIND),
    ]
    lines += [f"{key}={_value(value)}" for key, value in header]
    for payment in payments:
        lines += [f"{key}={_value(value)}" for key, value in document_lines(payment)]
        lines.append("КонецДокумента")
    lines.append("КонецФайла")
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING, errors="replace")


def parse_1c(data: bytes) -> dict[str, Any]:
    """``{"header": {...}, "documents": [{...}, ...]}``; ValueError when malformed."""
    lines = [line for line in data.decode(ENCODING).splitlines() if line.strip()]
    if not lines or lines[0] != "1CClientBankExchange":
        raise ValueError("not a 1CClientBankExchange file")
    if lines[-1] != "КонецФайла":
        raise ValueError("КонецФайла is missing")
    header: dict[str, str] = {}
    documents: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in lines[1:-1]:
        if line == "КонецДокумента":
            if current is None:
                raise ValueError("КонецДокумента without СекцияДокумент")
            documents.append(current)
            current = None
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"not a key=value line: {line!r}")
        if key == "СекцияДокумент":
            current = {key: value}
        elif current is not None:
            current[key] = value
        else:
            header[key] = value
    if current is not None:
        raise ValueError("a document is not closed with КонецДокумента")
    return {"header": header, "documents": documents}


CSV_COLUMNS = (
    "Номер",
    "Дата",
    "Сумма",
    "Получатель",
    "ИНН получателя",
    "КПП получателя",
    "Счёт получателя",
    "Банк получателя",
    "БИК",
    "Корр. счёт",
    "Назначение платежа",
)


def to_csv(payments: Iterable[Payment]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for p in payments:
        writer.writerow(
            (
                p.number,
                _day(p.on),
                _sum(p.amount).replace(".", ","),
                p.payee.name,
                p.payee.inn,
                p.payee.kpp,
                p.payee.account,
                p.payee.bank_name,
                p.payee.bik,
                p.payee.correspondent_account,
                _value(p.purpose),
            )
        )
    return out.getvalue().encode("utf-8-sig")
