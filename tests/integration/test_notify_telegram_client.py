"""The Telegram Bot API client against the stand-in over real HTTP (a local server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import httpx
import pytest

from services.devstack import free_port
from services.telegram import (
    STUB_TOKEN,
    StubState,
    TelegramClient,
    TelegramRefused,
    TelegramRetryAfter,
    TelegramSettings,
    TelegramUnavailable,
    make_handler,
    stand_in,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stub() -> Iterator[str]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(StubState(STUB_TOKEN)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def client(base: str, token: str = STUB_TOKEN) -> TelegramClient:
    return TelegramClient(
        TelegramSettings(api_url=base, bot_token=token, connect_timeout=1, read_timeout=2)
    )


def test_send_message_reaches_the_chat(stub: str) -> None:
    sent = client(stub).send_message("123456789", "Привет")
    assert sent.chat_id == "123456789" and sent.message_id >= 1
    messages = httpx.get(f"{stub}/_stub/messages", params={"chat_id": "123456789"}).json()
    assert [m["text"] for m in messages["messages"]] == ["Привет"]


def test_flood_control_carries_retry_after(stub: str) -> None:
    httpx.post(f"{stub}/_stub/mode", json={"fail_next": 1, "fail_status": 429, "retry_after": 9})
    with pytest.raises(TelegramRetryAfter) as caught:
        client(stub).send_message("1", "x")
    assert caught.value.retry_after == 9
    client(stub).send_message("1", "x")  # the next call goes through


def test_server_errors_and_silence_are_unavailable_refusals_are_final(stub: str) -> None:
    httpx.post(f"{stub}/_stub/mode", json={"fail_next": 1, "fail_status": 502})
    with pytest.raises(TelegramUnavailable):
        client(stub).send_message("1", "x")
    httpx.post(f"{stub}/_stub/mode", json={"down": True})
    with pytest.raises(TelegramUnavailable) as caught:
        client(stub).send_message("1", "x")
    assert STUB_TOKEN not in str(caught.value)  # the token never leaks into errors
    httpx.post(f"{stub}/_stub/mode", json={"down": False})
    with pytest.raises(TelegramRefused) as refused:
        client(stub, token="999:wrong").send_message("1", "x")
    assert refused.value.status == 401
    with pytest.raises(TelegramRefused):
        client(stub).send_message("@nobody", "x")


def test_the_stand_in_starts_only_without_a_real_api_url() -> None:
    assert stand_in({"DOCFLOW_TELEGRAM_API_URL": "https://api.telegram.org"}) is None
    found = stand_in({})
    assert found is not None and found.env["DOCFLOW_TELEGRAM_BOT_TOKEN"] == STUB_TOKEN
    assert TelegramSettings(api_url="", bot_token="").enabled is False
