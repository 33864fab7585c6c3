"""Telegram Bot API: a client for ``sendMessage`` and ``getUpdates``, and the local
stand-in the dev run and the tests use.

The client speaks the real Bot API: ``POST {base}/bot<token>/sendMessage`` with a JSON
body; Telegram answers ``{"ok": true, "result": {...}}`` or ``{"ok": false,
"error_code": 429, "description": "...", "parameters": {"retry_after": N}}``. What a
caller must tell apart, and why:

- ``TelegramRetryAfter`` (429, flood control): wait ``retry_after`` seconds, then the
  same message may go; sending earlier only prolongs the ban;
- ``TelegramUnavailable`` (no answer, 5xx): try again later with backoff;
- ``TelegramRefused`` (400 chat not found, 403 blocked by the user, 401 bad token):
  retrying will not help; the person has to press /start again or fix the chat id.

Settings (environment): ``DOCFLOW_TELEGRAM_API_URL`` (``https://api.telegram.org`` in
production), ``DOCFLOW_TELEGRAM_BOT_TOKEN`` and ``DOCFLOW_TELEGRAM_BOT_USERNAME``.
Where no API URL is configured, the stand-in is started (``services/standins.py``).

The stand-in is NOT Telegram. It answers ``sendMessage``, ``getUpdates`` and ``getMe``
for its one token like the Bot API does, and keeps what it was sent. Test controls under
``/_stub/`` (never part of the Bot API): ``GET /_stub/messages`` (``?chat_id=``),
``POST /_stub/mode`` (``{"down": bool, "fail_next": n, "fail_status": 500|429,
"retry_after": s}``; down drops connections unanswered), ``POST /_stub/updates``
(``{"chat_id", "text"}``: a person writes to the bot; ``getUpdates`` returns it),
``POST /_stub/reset``.
Run: ``python -m services.telegram --port 8092``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import requests
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from services.standins import StandIn

STUB_TOKEN = "123456:stub-only-token"


class TelegramSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCFLOW_TELEGRAM_", extra="ignore")

    #: Empty: Telegram is not configured and nothing is sent there.
    api_url: str = ""
    bot_token: str = ""
    #: The bot's @username: linking a person's chat goes through t.me/<username>?start=<token>.
    bot_username: str = "docflow_bot"
    connect_timeout: float = 3.0
    read_timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.api_url and self.bot_token)


class TelegramError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TelegramUnavailable(TelegramError):
    """No answer, or a 5xx: the same message may be tried again later."""


class TelegramRetryAfter(TelegramError):
    """429: flood control; Telegram names how long to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, 429)
        self.retry_after = retry_after


class TelegramRefused(TelegramError):
    """Telegram refused for good (chat not found, bot blocked, bad token)."""


@dataclass(frozen=True)
class SentMessage:
    message_id: int
    chat_id: str


class TelegramClient:
    """One per worker or loop: a ``requests.Session`` is not shared between greenthreads."""

    def __init__(self, settings: TelegramSettings, session: requests.Session | None = None):
        if not settings.enabled:
            raise ValueError("Telegram is not configured (DOCFLOW_TELEGRAM_API_URL, _BOT_TOKEN)")
        self.settings = settings
        self.session = session or requests.Session()

    def _method_url(self, method: str) -> str:
        return f"{self.settings.api_url.rstrip('/')}/bot{self.settings.bot_token}/{method}"

    def call(self, method: str, payload: dict[str, Any]) -> Any:
        """One Bot API call; the ``result`` on success, else one of the errors above."""
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            response = self.session.post(self._method_url(method), json=payload, timeout=timeout)
        except requests.RequestException as exc:
            # Never echo the URL: it carries the bot token.
            raise TelegramUnavailable(f"Telegram did not answer: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        status = response.status_code
        description = ""
        parameters: dict[str, Any] = {}
        if isinstance(body, dict):
            status = int(body.get("error_code") or status)
            description = str(body.get("description") or "")
            parameters = body.get("parameters") or {}
        message = f"Telegram {method}: {status} {description}".strip()
        if status == 429:
            raise TelegramRetryAfter(message, float(parameters.get("retry_after") or 1))
        if status >= 500 or body is None:
            raise TelegramUnavailable(message, status)
        raise TelegramRefused(message, status)

    def send_message(self, chat_id: str, text: str, **options: Any) -> SentMessage:
        """``sendMessage`` as plain text (no parse mode: our texts need no escaping)."""
        result = self.call(
            "sendMessage",
            {"chat_id": chat_id, "text": text, "disable_web_page_preview": True, **options},
        )
        chat = (result or {}).get("chat") or {}
        return SentMessage(int((result or {}).get("message_id") or 0), str(chat.get("id", "")))

    def get_updates(self, offset: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """``getUpdates`` without waiting: messages people sent the bot since ``offset``.

        Passing the last ``update_id`` + 1 as the next offset tells Telegram the
        earlier ones were handled (it then forgets them).
        """
        payload: dict[str, Any] = {"timeout": 0, "limit": limit, "allowed_updates": ["message"]}
        if offset is not None:
            payload["offset"] = offset
        result = self.call("getUpdates", payload)
        return list(result or [])


# --- the stand-in ----------------------------------------------------------------


class StubState:
    def __init__(self, token: str) -> None:
        self.lock = threading.Lock()
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.down = False
        self.fail_next = 0
        self.fail_status = 500
        self.retry_after = 1
        self.requests = 0
        self.next_id = 1
        #: Messages "people" sent the bot (``POST /_stub/updates``), for ``getUpdates``.
        self.updates: list[dict[str, Any]] = []


def make_handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "DocflowTelegramStub/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write("telegram-stub: " + (format % args).replace(state.token, "***") + "\n")

        def _send(self, status: int, body: Any) -> None:
            raw = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _fail(self, status: int, description: str, **parameters: Any) -> None:
            body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
            if parameters:
                body["parameters"] = parameters
            self._send(status, body)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                return dict(parse_qsl(raw.decode()))
            return json.loads(raw or b"{}")

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            if split.path == "/_stub/messages":
                wanted = dict(parse_qsl(split.query)).get("chat_id")
                with state.lock:
                    found = [
                        m for m in state.messages if wanted is None or str(m["chat_id"]) == wanted
                    ]
                    self._send(200, {"messages": found, "requests": state.requests})
                return
            self._api(split.path, {})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            try:
                data = self._body()
            except ValueError:
                self._fail(400, "Bad Request: can't parse JSON")
                return
            if path == "/_stub/mode":
                with state.lock:
                    state.down = bool(data.get("down", state.down))
                    state.fail_next = int(data.get("fail_next", state.fail_next))
                    state.fail_status = int(data.get("fail_status", state.fail_status))
                    state.retry_after = int(data.get("retry_after", state.retry_after))
                    self._send(200, {"down": state.down, "fail_next": state.fail_next})
                return
            if path == "/_stub/updates":
                with state.lock:
                    update = {
                        "update_id": 1000 + len(state.updates),
                        "message": {
                            "message_id": state.next_id,
                            "date": int(time.time()),
                            "chat": {"id": int(data["chat_id"]), "type": "private"},
                            "from": {"id": int(data["chat_id"]), "is_bot": False},
                            "text": str(data.get("text", "")),
                        },
                    }
                    state.next_id += 1
                    state.updates.append(update)
                    self._send(200, {"ok": True, "result": update})
                return
            if path == "/_stub/reset":
                with state.lock:
                    state.updates.clear()
                    state.messages.clear()
                    state.down, state.fail_next, state.requests = False, 0, 0
                    self._send(200, {"ok": True})
                return
            self._api(path, data)

        def _api(self, path: str, data: dict[str, Any]) -> None:
            with state.lock:
                state.requests += 1
                if state.down:
                    self.close_connection = True
                    return  # no answer at all: the client sees the connection dropped
                if state.fail_next > 0:
                    state.fail_next -= 1
                    if state.fail_status == 429:
                        wait = state.retry_after
                        self._fail(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
                    else:
                        self._fail(state.fail_status, "Internal Server Error (stub)")
                    return
            prefix = f"/bot{state.token}/"
            if not path.startswith(prefix):
                self._fail(401 if path.startswith("/bot") else 404, "Unauthorized")
                return
            method = path[len(prefix) :]
            if method == "getMe":
                bot = {"id": 123456, "is_bot": True, "first_name": "Docflow", "username": "stub"}
                self._send(200, {"ok": True, "result": bot})
            elif method == "sendMessage":
                self._send_message(data)
            elif method == "getUpdates":
                offset = int(data.get("offset") or 0)
                with state.lock:
                    # Like Telegram: an offset confirms (and drops) every earlier update.
                    state.updates = [u for u in state.updates if u["update_id"] >= offset]
                    found = state.updates[: int(data.get("limit") or 100)]
                self._send(200, {"ok": True, "result": found})
            else:
                self._fail(404, "Not Found: method not found")

        def _send_message(self, data: dict[str, Any]) -> None:
            chat_id, text = data.get("chat_id"), data.get("text")
            if chat_id in (None, "") or not text:
                self._fail(400, "Bad Request: chat_id and text are required")
                return
            if not str(chat_id).lstrip("-").isdigit():
                self._fail(400, "Bad Request: chat not found")
                return
            with state.lock:
                message = {
                    "message_id": state.next_id,
                    "date": int(time.time()),
                    "chat": {"id": int(chat_id), "type": "private"},
                    "text": text,
                }
                state.next_id += 1
                state.messages.append({"chat_id": str(chat_id), **data, "result": message})
            self._send(200, {"ok": True, "result": message})

    return Handler


def serve(port: int, token: str, host: str = "127.0.0.1") -> None:
    server = ThreadingHTTPServer((host, port), make_handler(StubState(token)))
    sys.stderr.write(f"Telegram Bot API STAND-IN (not Telegram) on http://{host}:{port}\n")
    server.serve_forever()


def stand_in(env: dict[str, str]) -> StandIn | None:
    """``services.standins`` factory: the stub unless a real Bot API URL is configured."""
    from services.standins import StandIn

    if env.get("DOCFLOW_TELEGRAM_API_URL"):
        return None
    return StandIn(
        name="telegram",
        command=[sys.executable, "-m", "services.telegram", "--port", "{port}"],
        env={
            "DOCFLOW_TELEGRAM_API_URL": "http://127.0.0.1:{port}",
            "DOCFLOW_TELEGRAM_BOT_TOKEN": STUB_TOKEN,
        },
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Stand-in for the Telegram Bot API")
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 inside a container")
    parser.add_argument("--token", default=STUB_TOKEN)
    args = parser.parse_args(argv)
    serve(args.port, args.token, args.host)


if __name__ == "__main__":
    main()
