"""Ids on the wire are UUID strings; a malformed one names nothing we know."""

from __future__ import annotations

import uuid

from services.errors import InvalidInput, NotFound


def parse_id(value: object, what: str) -> uuid.UUID:
    """The UUID in ``value``, or NotFound: to a caller a malformed id is an unknown one."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"{what} {value!s:.60} does not exist") from None


def parse_filter_id(value: object, field: str) -> uuid.UUID:
    """An id used to filter a list: a malformed one is the caller's mistake (422), while
    a well-formed id of nothing simply matches nothing (an empty page, not 404)."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(
            f"{field} is not an id", [{"loc": [field], "msg": "not a UUID"}]
        ) from None
