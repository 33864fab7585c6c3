"""Keyset pagination: ``?limit=&cursor=`` in, ``{"items", "next_cursor"}`` out.

A cursor is the sort key of the last item seen, opaque to clients (URL-safe
base64 of JSON), so pages stay stable while rows are inserted.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

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


def escape_like(text: str) -> str:
    """``text`` with LIKE's pattern characters taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(text: str) -> str:
    """``%text%`` for ILIKE: rows whose column contains ``text`` as typed."""
    return f"%{escape_like(text)}%"


def newest_first(
    session: Session,
    stmt: Select[Any],
    created_at: Any,
    row_id: Any,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """One page of ``stmt`` ordered newest first by ``(created_at, id)``, and the cursor of
    the next page (None on the last). ``stmt`` selects one entity with its filters."""
    size = clamp_limit(limit)
    stmt = stmt.order_by(created_at.desc(), row_id.desc())
    after = decode_cursor(cursor)
    if after:
        try:
            moment = datetime.fromisoformat(str(after[0]))
            last = uuid.UUID(str(after[1]))
        except (ValueError, IndexError):
            raise InvalidInput(
                "cursor is not valid", [{"loc": ["cursor"], "msg": "not a key"}]
            ) from None
        stmt = stmt.where(tuple_(created_at, row_id) < tuple_(moment, last))
    rows = list(session.scalars(stmt.limit(size + 1)))
    page = rows[:size]
    if len(rows) <= size:
        return page, None
    return page, encode_cursor([page[-1].created_at.isoformat(), str(page[-1].id)])
