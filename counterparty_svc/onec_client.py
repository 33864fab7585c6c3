"""A client of 1C:Enterprise's standard OData interface (OData v3), read only.

What it relies on, as 1C publishes it (``/odata/standard.odata/``):
- JSON only when asked: ``$format=json`` (1C answers Atom XML otherwise);
- OData **v3** syntax: ``$filter=ИНН eq '7707083893'``, ``$inlinecount=allpages``
  -> ``"odata.count"``, keys as ``Catalog_Контрагенты(guid'…')``; generic v4
  clients break on these;
- every catalogue item has ``Ref_Key`` and ``DataVersion`` (changes when the
  item changes: what the import compares);
- errors are ``{"odata.error": {"code", "message": {"lang", "value"}}}``;
- only objects published in the infobase's OData composition are visible.

Network failures and 5xx answers are retried with exponential backoff; after
the last try ``OneCUnavailable`` is raised. Any other refusal is ``OneCError``
with 1C's own message. Writes are deliberately absent: OData writes bypass 1C's
business logic.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

log = logging.getLogger(__name__)

COUNTERPARTIES = "Catalog_Контрагенты"
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class OneCError(Exception):
    """1C answered, but refused the request (bad filter, not published, no rights)."""

    def __init__(self, message: str, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class OneCUnavailable(OneCError):
    """1C did not answer (connection refused or dropped, timeout, 5xx) after every retry."""


@dataclass(frozen=True)
class OneCConfig:
    #: Up to and including ``/odata/standard.odata``.
    base_url: str
    username: str = ""
    password: str = ""
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    #: Attempts after the first one, for network errors and 5xx.
    retries: int = 2
    backoff_seconds: float = 0.3


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int | None


def odata_string(value: str) -> str:
    """An OData v3 string literal: single quotes, an embedded quote doubled."""
    return "'" + value.replace("'", "''") + "'"


def parse_odata_error(response: requests.Response) -> tuple[str, str]:
    """(code, message) from 1C's ``odata.error`` body, or the raw text."""
    try:
        body = response.json()
        err = body["odata.error"]
        message = err.get("message") or {}
        text = message.get("value") if isinstance(message, dict) else str(message)
        return str(err.get("code") or ""), str(text or "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", response.text[:300]


class OneCClient:
    def __init__(self, config: OneCConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()
        if config.username:
            self.session.auth = (config.username, config.password)
        self.session.headers["Accept"] = "application/json"

    def _url(self, resource: str, params: dict[str, str]) -> str:
        query = "&".join(f"{k}={quote(v, safe=chr(39) + '(),')}" for k, v in params.items())
        return f"{self.config.base_url.rstrip('/')}/{quote(resource, safe=chr(39) + '()-')}?{query}"

    def _get(self, resource: str, params: dict[str, str]) -> requests.Response:
        url = self._url(resource, {"$format": "json", **params})
        attempts = self.config.retries + 1
        last: str = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.config.backoff_seconds * 2 ** (attempt - 1))
            try:
                response = self.session.get(
                    url, timeout=(self.config.connect_timeout, self.config.read_timeout)
                )
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
                log.warning("1C did not answer (try %d of %d): %s", attempt + 1, attempts, last)
                continue
            if response.status_code in RETRY_STATUSES:
                _code, message = parse_odata_error(response)
                last = f"HTTP {response.status_code} {message}".strip()
                log.warning("1C failed (try %d of %d): %s", attempt + 1, attempts, last)
                continue
            return response
        raise OneCUnavailable(f"1C is not answering ({last})")

    def _json(self, response: requests.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            code, message = parse_odata_error(response)
            raise OneCError(
                f"1C refused the request: HTTP {response.status_code} {message}".strip(),
                response.status_code,
                code,
            )
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise OneCError(
                "1C answered something that is not JSON", response.status_code
            ) from None
        return body

    def find_by_inn(self, inn: str) -> list[dict[str, Any]]:
        """Every counterparty (not groups) with this INN, deleted-marked ones included."""
        params = {"$filter": f"ИНН eq {odata_string(inn)} and IsFolder eq false"}
        body = self._json(self._get(COUNTERPARTIES, params))
        return list(body.get("value") or [])

    def get(self, ref_key: str) -> dict[str, Any] | None:
        """One item by its Ref_Key; None when 1C has no such item."""
        response = self._get(f"{COUNTERPARTIES}(guid'{ref_key}')", {})
        if response.status_code == 404:
            return None
        return self._json(response)

    def page(self, skip: int, top: int) -> Page:
        """One page of the catalogue in a stable order (by Ref_Key), groups left out."""
        params = {
            "$filter": "IsFolder eq false",
            "$orderby": "Ref_Key",
            "$top": str(top),
            "$skip": str(skip),
            "$inlinecount": "allpages",
        }
        body = self._json(self._get(COUNTERPARTIES, params))
        count = body.get("odata.count")
        return Page(list(body.get("value") or []), int(count) if count is not None else None)
