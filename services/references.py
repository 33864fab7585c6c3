"""Checking that a card's references to other services' records hold.

A contract, a payment request and a letter each name a counterparty and
archive files. The owning service answers NotFound for something unknown (or
not readable by the caller); for the card being written that is the caller's
mistake in one field, so it becomes a 422 naming that field, before anything
is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from services.errors import InvalidInput, NotFound

Fetch = Callable[[str], dict[str, Any]]


def require_file(fetch: Fetch, file_id: str, loc: list[Any]) -> None:
    """The file is in the archive and the caller may read it."""
    try:
        fetch(file_id)
    except NotFound:
        raise InvalidInput(
            f"file {file_id} is not in the archive (or not yours to attach)",
            [{"loc": loc, "msg": "unknown file"}],
        ) from None


def require_files(fetch: Fetch, files: Iterable[tuple[list[Any], str]]) -> None:
    for loc, file_id in files:
        require_file(fetch, file_id, loc)


def require_counterparty(fetch: Fetch, counterparty_id: str) -> dict[str, Any]:
    """The counterparty's card from counterparty_svc."""
    try:
        return fetch(counterparty_id)
    except NotFound:
        raise InvalidInput(
            f"counterparty {counterparty_id} does not exist",
            [{"loc": ["counterparty_id"], "msg": "unknown counterparty"}],
        ) from None


def display_name(card: dict[str, Any]) -> str:
    """How cards and letters name a counterparty: the short name, else the full one."""
    return str(card.get("short_name") or card.get("full_name"))


def require_employee(fetch: Fetch, user_id: str, field: str) -> dict[str, Any]:
    """An active person of the org directory, named in ``field`` of the card."""
    try:
        user: dict[str, Any] | None = fetch(user_id)
    except NotFound:
        user = None
    if user is None or not user.get("active", True):
        raise InvalidInput(
            f"{field}: no active employee {user_id}",
            [{"loc": [field], "msg": "unknown or inactive employee"}],
        )
    return user
