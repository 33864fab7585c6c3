"""Keyset pagination: ``?limit=&cursor=`` in, ``{"items", "next_cursor"}`` out.

A cursor is the sort key of the last item seen, opaque to clients (URL-safe
base64 of JSON), so pages stay stable while rows are inserted.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from services.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor is not valid", [{"loc": ["cursor"], "msg": str(exc)}]) from exc
    if not isinstance(value, list):
        raise InvalidInput("cursor is not valid", [{"loc": ["cursor"], "msg": "not a key"}])
    return value


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_LIMIT}",
            [{"loc": ["limit"], "msg": f"must be between 1 and {MAX_LIMIT}"}],
        )
    return limit
