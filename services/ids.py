"""Ids on the wire are UUID strings; a malformed one names nothing we know."""

from __future__ import annotations

import uuid

from services.errors import NotFound


def parse_id(value: object, what: str) -> uuid.UUID:
    """The UUID in ``value``, or NotFound: to a caller a malformed id is an unknown one."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"{what} {value!s:.60} does not exist") from None
