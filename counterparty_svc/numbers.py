"""Russian registration and bank numbers: INN, KPP, OGRN, OGRNIP, BIK, accounts.

Each check returns None when the number is right, else a sentence for the
person who typed it. python-stdnum validates INN and the 13-digit OGRN; its
OGRNIP check compares the control digit with ``int(first 14) % 13`` and so
refuses every valid OGRNIP whose remainder is 10..12 (the rule takes the last
digit of the remainder: ``% 13 % 10``), hence our own OGRNIP check. KPP has no
stdnum module; its format is ``NNNNPPNNN`` where PP (the reason code) may
hold capital Latin letters since 2013.
"""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError
from stdnum.ru import inn as stdnum_inn
from stdnum.ru import ogrn as stdnum_ogrn

KPP_FORMAT = re.compile(r"^\d{4}[\dA-Z]{2}\d{3}$")
ACCOUNT_WEIGHTS = (7, 1, 3)


def inn_error(inn: str, length: int | None = None) -> str | None:
    """None when ``inn`` is a valid INN (of ``length`` digits if given)."""
    if not inn.isdigit() or len(inn) not in (10, 12):
        return "INN has 10 digits (organisation) or 12 digits (person)"
    if length is not None and len(inn) != length:
        return f"INN of this kind has {length} digits"
    try:
        stdnum_inn.validate(inn)
    except ValidationError:
        return "INN control digits do not match: the number is mistyped"
    return None


def kpp_error(kpp: str) -> str | None:
    if not KPP_FORMAT.match(kpp):
        return "KPP is 9 characters: 4 digits, 2 digits or capital letters, 3 digits"
    return None


def ogrnip_check_digit(first14: str) -> str:
    """The control digit of an OGRNIP: the last digit of (first 14 digits mod 13)."""
    return str(int(first14) % 13 % 10)


def ogrn_error(ogrn: str) -> str | None:
    """None when ``ogrn`` is a valid OGRN (13 digits, organisations)."""
    if not ogrn.isdigit() or len(ogrn) != 13:
        return "OGRN has 13 digits"
    try:
        stdnum_ogrn.validate(ogrn)
    except ValidationError:
        return "OGRN control digit does not match: the number is mistyped"
    return None


def ogrnip_error(ogrnip: str) -> str | None:
    """None when ``ogrnip`` is a valid OGRNIP (15 digits, sole proprietors)."""
    if not ogrnip.isdigit() or len(ogrnip) != 15:
        return "OGRNIP has 15 digits"
    if ogrnip[0] not in "34":
        return "OGRNIP starts with 3 or 4"
    if ogrnip[-1] != ogrnip_check_digit(ogrnip[:14]):
        return "OGRNIP control digit does not match: the number is mistyped"
    return None


def bik_error(bik: str) -> str | None:
    if not (bik.isdigit() and len(bik) == 9):
        return "BIK has 9 digits"
    return None


def _key_ok(digits: str) -> bool:
    total = sum(int(d) * ACCOUNT_WEIGHTS[i % 3] for i, d in enumerate(digits))
    return total % 10 == 0


def settlement_account_error(account: str, bik: str) -> str | None:
    """The control key of a settlement account against its bank's BIK (last 3 digits)."""
    if not (account.isdigit() and len(account) == 20):
        return "an account has 20 digits"
    if bik_error(bik):
        return None  # the BIK is reported on its own
    if not _key_ok(bik[-3:] + account):
        return "the account does not match the BIK (control key): check both"
    return None


def correspondent_account_error(account: str, bik: str) -> str | None:
    """The control key of a correspondent account: "0" + BIK digits 5-6 + the account."""
    if not (account.isdigit() and len(account) == 20):
        return "an account has 20 digits"
    if bik_error(bik):
        return None
    if not account.startswith("301"):
        return "a correspondent account starts with 301"
    if not _key_ok("0" + bik[4:6] + account):
        return "the correspondent account does not match the BIK (control key)"
    return None
