"""A local STAND-IN for 1C:Enterprise's standard OData interface (``Catalog_Контрагенты``).

NOT 1C. It speaks the part of 1C's OData v3 protocol Docflow uses, so the
client, the service, the tests and the dev run can work without an infobase:

- ``GET /odata/standard.odata/Catalog_Контрагенты?$format=json`` with
  ``$filter`` (``Field eq 'text'``, ``eq true|false``, ``eq guid'…'``, joined
  by ``and``), ``$top``, ``$skip``, ``$orderby=Ref_Key|Code``,
  ``$inlinecount=allpages`` (``"odata.count"``);
- ``GET …/Catalog_Контрагенты(guid'…')`` (404 ``odata.error`` when unknown);
- HTTP basic auth (401 with ``odata.error``);
- errors as ``{"odata.error": {"code", "message": {"lang", "value"}}}``.

It does not: answer Atom XML (a request without ``$format=json`` or a JSON
``Accept`` gets 415), serve ``$metadata``, ``$select``/``$expand``, other
catalogues or documents, or accept writes.

Test controls live under ``/_stub/`` (no auth; never part of 1C):
``POST /_stub/records`` (a list of items to add or replace by ``Ref_Key``),
``POST /_stub/mode`` (``{"down": bool, "fail_next": n, "fail_status": 503}``;
down drops every OData connection unanswered), ``GET /_stub/stats``.

Run: ``python -m counterparty_svc.stubs.onec_odata --port 8091``.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from services.standins import StandIn

PREFIX = "/odata/standard.odata/"
CATALOG = "Catalog_Контрагенты"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
STUB_NAMESPACE = uuid.UUID("7d9f6a2e-1c00-4d0c-9c1a-0d0cf1a0c0de")
DEFAULT_USERNAME = "docflow"
DEFAULT_PASSWORD = "stub-only-password"


# --- numbers with valid control digits (the stub's demo data) -----------------


def inn10(first9: str) -> str:
    w = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return first9 + str(sum(int(d) * k for d, k in zip(first9, w, strict=True)) % 11 % 10)


def inn12(first10: str) -> str:
    w1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    d11 = str(sum(int(d) * k for d, k in zip(first10, w1, strict=True)) % 11 % 10)
    w2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    first11 = first10 + d11
    return first11 + str(sum(int(d) * k for d, k in zip(first11, w2, strict=True)) % 11 % 10)


def ogrn13(first12: str) -> str:
    return first12 + str(int(first12) % 11 % 10)


def ogrnip15(first14: str) -> str:
    return first14 + str(int(first14) % 13 % 10)


def data_version(n: int) -> str:
    return base64.b64encode(n.to_bytes(8, "big")).decode()


def demo_records(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """Deterministic catalogue: legal entities, sole proprietors, one group, one bad INN."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = [
        {
            "Ref_Key": str(uuid.uuid5(STUB_NAMESPACE, "group-suppliers")),
            "DataVersion": data_version(1),
            "DeletionMark": False,
            "Parent_Key": ZERO_GUID,
            "IsFolder": True,
            "Code": "00-000000",
            "Description": "Поставщики",
        }
    ]
    for i in range(count):
        ref = str(uuid.uuid5(STUB_NAMESPACE, f"demo-{seed}-{i}"))
        region = f"{rng.randint(10, 79):02d}"
        if i % 5 == 4:
            inn = inn12(region + "".join(str(rng.randint(0, 9)) for _ in range(8)))
            ogrn = ogrnip15("3" + region[:2] + "".join(str(rng.randint(0, 9)) for _ in range(11)))
            name = f"ИП Демонстрационный {i}"
            full, kpp, legal = f"Индивидуальный предприниматель Демонстрационный {i}", "", False
        else:
            inn = inn10(region + "".join(str(rng.randint(0, 9)) for _ in range(7)))
            ogrn = ogrn13("1" + "".join(str(rng.randint(0, 9)) for _ in range(11)))
            kpp, legal = f"{region}{rng.randint(1, 99):02d}01001", True
            name = f"ООО «Демо {i}»"
            full = f"Общество с ограниченной ответственностью «Демо {i}»"
        if i == count - 1:  # one item with a mistyped INN: an import must count it failed
            inn = inn[:-1] + str((int(inn[-1]) + 1) % 10)
        items.append(
            {
                "Ref_Key": ref,
                "DataVersion": data_version(1),
                "DeletionMark": False,
                "Parent_Key": items[0]["Ref_Key"],
                "IsFolder": False,
                "Code": f"00-{i + 1:06d}",
                "Description": name,
                "НаименованиеПолное": full,
                "ИНН": inn,
                "КПП": kpp,
                "РегистрационныйНомер": ogrn,
                "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо" if legal else "ФизическоеЛицо",
                "ГосударственныйОрган": False,
                "КонтактнаяИнформация": [
                    {
                        "LineNumber": "1",
                        "Тип": "Адрес",
                        "Вид_Key": ZERO_GUID,
                        "Представление": f"г. Санкт-Петербург, ул. Демо, д. {i + 1}",
                    }
                ],
            }
        )
    return items


# --- the server ------------------------------------------------------------------

FILTER_TERM = re.compile(r"^\s*([\w\u0400-\u04ff]+)\s+eq\s+(.+?)\s*$")


class FilterError(ValueError):
    pass


def parse_filter(expr: str) -> list[tuple[str, Any]]:
    terms: list[tuple[str, Any]] = []
    for part in re.split(r"\s+and\s+", expr.strip()):
        found = FILTER_TERM.match(part)
        if not found:
            raise FilterError(f"the stub cannot evaluate {part!r}")
        field, raw = found.groups()
        value: Any
        if raw in ("true", "false"):
            value = raw == "true"
        elif raw.startswith("guid'") and raw.endswith("'"):
            value = raw[5:-1]
        elif raw.startswith("'") and raw.endswith("'"):
            value = raw[1:-1].replace("''", "'")
        else:
            raise FilterError(f"unsupported literal {raw!r}")
        terms.append((field, value))
    return terms


class State:
    def __init__(self, records: list[dict[str, Any]], username: str, password: str) -> None:
        self.lock = threading.Lock()
        self.records = {r["Ref_Key"]: r for r in records}
        self.username = username
        self.password = password
        self.down = False
        self.fail_next = 0
        self.fail_status = 503
        self.requests = 0
        self.failed = 0


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "DocflowOneCStub/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write("onec-stub: " + (format % args) + "\n")

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

        def _error(self, status: int, code: str, text: str, **headers: str) -> None:
            body = {"odata.error": {"code": code, "message": {"lang": "ru", "value": text}}}
            self._send(status, body, headers)

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"null")
            with state.lock:
                if path == "/_stub/records":
                    for item in data:
                        state.records[item["Ref_Key"]] = item
                    self._send(200, {"records": len(state.records)})
                elif path == "/_stub/mode":
                    state.down = bool(data.get("down", state.down))
                    state.fail_next = int(data.get("fail_next", state.fail_next))
                    state.fail_status = int(data.get("fail_status", state.fail_status))
                    self._send(200, {"down": state.down, "fail_next": state.fail_next})
                else:
                    self._error(405, "-1", "the stub accepts no writes to 1C")

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            path = unquote(split.path)
            if path == "/_stub/stats":
                with state.lock:
                    self._send(200, {"requests": state.requests, "failed": state.failed})
                return
            with state.lock:
                state.requests += 1
                if state.down:
                    state.failed += 1
                    self.close_connection = True
                    return  # no answer at all: the client sees the connection dropped
                if state.fail_next > 0:
                    state.fail_next -= 1
                    state.failed += 1
                    self._error(state.fail_status, "-1", "Сервис временно недоступен (stub)")
                    return
            if not path.startswith(PREFIX):
                self._error(404, "-1", "not an OData path")
                return
            if not self._authorised():
                self._error(
                    401,
                    "-1",
                    "Не пройдена аутентификация",
                    **{"WWW-Authenticate": 'Basic realm="1C"'},
                )
                return
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            wants_json = query.get("$format") == "json" or "json" in (
                self.headers.get("Accept") or ""
            )
            if not wants_json:
                self._error(415, "-1", "this stand-in answers JSON only: add $format=json")
                return
            resource = path[len(PREFIX) :]
            with state.lock:
                records = list(state.records.values())
            key = re.fullmatch(re.escape(CATALOG) + r"\(guid'([0-9a-fA-F-]{36})'\)", resource)
            if key:
                found = [r for r in records if r["Ref_Key"] == key.group(1).lower()]
                if not found:
                    self._error(404, "-1", "Объект не найден")
                    return
                self._send(200, {"odata.metadata": self._meta("/@Element"), **found[0]})
                return
            if resource != CATALOG:
                self._error(404, "-1", f"Не найден ресурс {resource} (не опубликован)")
                return
            self._list(records, query)

        def _meta(self, suffix: str = "") -> str:
            host = self.headers.get("Host") or "127.0.0.1"
            return f"http://{host}{PREFIX}$metadata#{CATALOG}{suffix}"

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization") or ""
            if not header.startswith("Basic "):
                return False
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
            return user == state.username and password == state.password

        def _list(self, records: list[dict[str, Any]], query: dict[str, str]) -> None:
            try:
                terms = parse_filter(query["$filter"]) if query.get("$filter") else []
                top = int(query.get("$top", "1000"))
                skip = int(query.get("$skip", "0"))
            except (FilterError, ValueError) as exc:
                self._error(400, "-1", f"Ошибка разбора запроса: {exc}")
                return
            rows = [r for r in records if all(r.get(f) == v for f, v in terms)]
            order = (query.get("$orderby") or "Code").split()[0]
            if order not in ("Ref_Key", "Code"):
                self._error(400, "-1", f"the stub orders by Ref_Key or Code, not {order}")
                return
            rows.sort(key=lambda r: str(r.get(order, "")))
            body: dict[str, Any] = {"odata.metadata": self._meta()}
            if query.get("$inlinecount") == "allpages":
                body["odata.count"] = str(len(rows))
            body["value"] = rows[skip : skip + top]
            self._send(200, body)

    return Handler


def serve(port: int, records: int, username: str, password: str, host: str = "127.0.0.1") -> None:
    state = State(demo_records(records), username, password)
    server = ThreadingHTTPServer((host, port), make_handler(state))
    sys.stderr.write(f"1C OData STAND-IN (not 1C) on http://{host}:{port}{PREFIX}\n")
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Stand-in for 1C's OData (tests, dev run)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 inside a container")
    parser.add_argument("--records", type=int, default=45)
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    args = parser.parse_args(argv)
    serve(args.port, args.records, args.username, args.password, args.host)


def stand_in(env: dict[str, str]) -> StandIn | None:
    """``services.standins`` factory: start this stub unless a real 1C is configured."""
    from services.standins import StandIn

    if env.get("DOCFLOW_ONEC_ODATA_URL"):
        return None
    return StandIn(
        name="onec-odata",
        command=[sys.executable, "-m", "counterparty_svc.stubs.onec_odata", "--port", "{port}"],
        env={
            "DOCFLOW_ONEC_ODATA_URL": "http://127.0.0.1:{port}/odata/standard.odata",
            "DOCFLOW_ONEC_USERNAME": DEFAULT_USERNAME,
            "DOCFLOW_ONEC_PASSWORD": DEFAULT_PASSWORD,
        },
    )


if __name__ == "__main__":
    main()
