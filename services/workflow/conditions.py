"""Reading card fields: condition cases, and the dates that waits and deadlines use.

Cards arrive as JSON, so amounts are often decimal strings and dates ISO
strings; comparisons follow the type of the value written in the route.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from services.workflow.routes import Case

MISSING = object()


def card_value(card: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of the card, or MISSING."""
    current: Any = card
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return MISSING
        current = current[part]
    return MISSING if current is None else current


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return result if result.is_finite() else None


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _key(expected: Any, actual: Any) -> tuple[Any, Any] | None:
    """Both sides in the expected value's type, or None when they do not compare."""
    if isinstance(expected, bool):
        return (expected, actual) if isinstance(actual, bool) else None
    if isinstance(expected, int | float):
        number = _number(actual)
        return None if number is None else (Decimal(str(expected)), number)
    if isinstance(expected, date):
        day = _day(actual)
        return None if day is None else (_day(expected), day)
    if isinstance(expected, str) and isinstance(actual, str):
        return expected, actual
    return None


def _equal(expected: Any, actual: Any) -> bool:
    pair = _key(expected, actual)
    return pair is not None and pair[0] == pair[1]


def matches(case: Case, card: Mapping[str, Any], default_field: str) -> bool:
    """Whether the card satisfies the case; a missing field matches only ``exists: false``."""
    operator, expected = case.operator()
    value = card_value(card, case.field or default_field)
    if operator == "exists":
        return (value is not MISSING) == bool(expected)
    if value is MISSING:
        return False
    if operator == "equals":
        return _equal(expected, value)
    if operator == "not_equals":
        return not _equal(expected, value)
    if operator == "in":
        return any(_equal(option, value) for option in expected)
    if operator == "not_in":
        return not any(_equal(option, value) for option in expected)
    pair = _key(expected, value)
    if pair is None:
        return False
    wanted, actual = pair
    if operator == "gt":
        return bool(actual > wanted)
    if operator == "gte":
        return bool(actual >= wanted)
    if operator == "lt":
        return bool(actual < wanted)
    return bool(actual <= wanted)


def card_moment(value: Any, tz: ZoneInfo) -> date | datetime | None:
    """A card field as a date or an aware datetime; None when it is neither.

    A datetime without an offset is read in the calendar's zone: card fields are
    filled from forms, and the company's own time is what a person meant.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                return date.fromisoformat(text)
            except ValueError:
                return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
