"""Notifications as a SPA sees them: the inbox, channel settings and the live feed over HTTP.

Domain events are published onto the real broker as the producers publish them; the
reminder queue is driven through ``POST /api/v1/admin/timers/run`` in simulated time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from notify_svc.testing import EventPublisher, TelegramStub, card, envelope, new_chat_id
from services.auth import Identity
from services.devstack import Stack
from services.testing.plugin import eventually

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def publish(suite: Stack) -> EventPublisher:
    return EventPublisher(suite.amqp_uri)


def completed(person: Identity, about: dict[str, Any]) -> dict[str, Any]:
    return envelope("instance.completed", {**about, "initiator_id": person.user_id})


def inbox(gateway: httpx.Client, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = gateway.get("/api/v1/notifications", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_channels_are_read_and_set_over_http(gateway: httpx.Client, token_for: Headers) -> None:
    headers = token_for("junior.accountant")
    current = gateway.get("/api/v1/me/channels", headers=headers)
    assert current.status_code == 200, current.text
    assert current.json()["email"] == "junior.accountant@docflow.example"
    assert current.json()["working_hours_only"] == ["reminder", "escalation", "overdue"]

    chat_id = new_chat_id()
    changed = gateway.put(
        "/api/v1/me/channels",
        headers=headers,
        json={"telegram_chat_id": chat_id, "preferences": {"reminder": ["telegram"]}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["telegram_chat_id"] == chat_id
    assert changed.json()["preferences"]["reminder"] == ["telegram"]
    assert gateway.get("/api/v1/me/channels", headers=headers).json() == changed.json()

    bad = gateway.put(
        "/api/v1/me/channels",
        headers=headers,
        json={"telegram_chat_id": "@someone", "preferences": {"reminder": ["pigeon"]}},
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    assert {tuple(e["loc"][-2:]) for e in bad.json()["errors"]} >= {
        ("body", "telegram_chat_id"),
    }
    assert gateway.get("/api/v1/me/channels").status_code == 401
    assert gateway.put("/api/v1/me/channels", json={}).status_code == 401


def test_the_inbox_pages_filters_and_marks_read_only_for_its_owner(
    gateway: httpx.Client, token_for: Headers, people: dict[str, Identity], publish: EventPublisher
) -> None:
    owner, headers = people["chief.accountant"], token_for("chief.accountant")
    cards = [card() for _ in range(3)]
    for about in cards:
        publish(completed(owner, about))
    ids = {c["card_id"] for c in cards}
    eventually(lambda: ids <= {n["card_id"] for n in inbox(gateway, headers, limit=500)["items"]})

    first = inbox(gateway, headers, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = inbox(gateway, headers, limit=2, cursor=first["next_cursor"])
    seen = [n["id"] for n in first["items"] + second["items"]]
    assert len(seen) == len(set(seen))
    times = [n["created_at"] for n in first["items"] + second["items"]]
    assert times == sorted(times, reverse=True)

    note = next(n for n in first["items"] if n["card_id"] in ids)
    unread_before = first["unread"]
    stranger = gateway.post(
        f"/api/v1/notifications/{note['id']}/read", headers=token_for("accountant")
    )
    assert stranger.status_code == 404 and stranger.headers["content-type"] == PROBLEM
    unknown = gateway.post("/api/v1/notifications/not-an-id/read", headers=headers)
    assert unknown.status_code == 404

    read = gateway.post(f"/api/v1/notifications/{note['id']}/read", headers=headers)
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None
    unread = inbox(gateway, headers, unread="true", limit=500)
    assert note["id"] not in [n["id"] for n in unread["items"]]
    assert unread["unread"] == unread_before - 1

    assert gateway.get("/api/v1/notifications").status_code == 401
    assert gateway.post(f"/api/v1/notifications/{note['id']}/read").status_code == 401


def test_a_night_reminder_goes_out_at_the_next_working_moment(
    suite: Stack,
    gateway: httpx.Client,
    token_for: Headers,
    people: dict[str, Identity],
    publish: EventPublisher,
) -> None:
    telegram = TelegramStub(suite)
    person = people["junior.accountant"]
    chat_id = new_chat_id()
    gateway.put(
        "/api/v1/me/channels",
        headers=token_for("junior.accountant"),
        json={"telegram_chat_id": chat_id},
    ).raise_for_status()
    about = card()
    publish(
        envelope(
            "task.reminder",
            {**about, "task_id": "t-9", "step_id": "s", "assignee_id": person.user_id},
            occurred_at=datetime.fromisoformat("2031-01-04T23:30:00+03:00"),  # a holiday
        )
    )
    headers = token_for("junior.accountant")
    eventually(
        lambda: any(
            n["card_id"] == about["card_id"] for n in inbox(gateway, headers, limit=50)["items"]
        )
    )
    admin = token_for("admin")
    url = "/api/v1/admin/timers/run"
    still_holidays = gateway.post(url, headers=admin, json={"now": "2031-01-08T12:00:00+03:00"})
    assert still_holidays.status_code == 200, still_holidays.text
    assert telegram.messages(chat_id) == []

    # 2031-01-09 is the first working day after the New Year holidays.
    working = gateway.post(url, headers=admin, json={"now": "2031-01-09T10:00:00+03:00"})
    assert working.json()["fired"]["notify"] >= 1
    sent = telegram.messages(chat_id)
    assert len(sent) == 1 and sent[0]["text"].startswith("Напоминание: ")


class FeedReader:
    """A real HTTP client on GET /api/v1/events, parsing SSE frames in a thread."""

    def __init__(self, base_url: str, **request: Any) -> None:
        self.frames: list[dict[str, str]] = []
        self.comments: list[str] = []
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=60))
        self._request = request
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(15), "the feed did not answer"

    def _run(self) -> None:
        try:
            with self._client.stream("GET", "/api/v1/events", **self._request) as response:
                self.status, self.headers = response.status_code, response.headers
                if response.status_code != 200:
                    self._ready.set()
                    return
                frame: dict[str, str] = {}
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments.append(line)
                        self._ready.set()
                    elif line == "":
                        if frame:
                            self.frames.append(frame)
                        frame = {}
                    else:
                        key, _, value = line.partition(":")
                        frame[key] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        finally:
            self._ready.set()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first frame (with its ``data`` parsed as ``json``) that matches."""

        def found() -> dict[str, Any] | None:
            for frame in list(self.frames):
                parsed = {**frame, "json": json.loads(frame["data"])} if "data" in frame else {}
                if parsed and predicate(parsed):
                    return parsed
            return None

        frame = eventually(found, seconds=15)
        assert frame, f"no matching event; got {self.frames}"
        return frame

    def close(self) -> None:
        self._client.close()


@pytest.fixture
def feeds(suite: Stack) -> Iterator[Callable[..., FeedReader]]:
    opened: list[FeedReader] = []

    def open_feed(**request: Any) -> FeedReader:
        reader = FeedReader(suite.gateway_url, **request)
        opened.append(reader)
        return reader

    yield open_feed
    for reader in opened:
        reader.close()


def test_the_live_feed_streams_the_callers_notifications_and_card_changes(
    gateway: httpx.Client,
    token_for: Headers,
    people: dict[str, Identity],
    publish: EventPublisher,
    feeds: Callable[..., FeedReader],
) -> None:
    initiator, approver = people["sales.head"], people["findir"]
    mine = feeds(headers=token_for("sales.head"))
    assert mine.status == 200 and mine.headers is not None
    assert mine.headers["content-type"].startswith("text/event-stream")
    theirs = feeds(headers=token_for("reception"))

    about = card()
    publish(
        envelope(
            "task.assigned",
            {**about, "assignee_id": approver.user_id, "initiator_id": initiator.user_id},
        )
    )
    event = publish(completed(initiator, about))

    created = mine.wait_for(
        lambda f: f["event"] == "notification.created" and f["json"]["card_id"] == about["card_id"]
    )
    assert created["id"]  # resumable: every event has an id
    assert created["json"]["title"].startswith("Согласование завершено")
    changed = mine.wait_for(
        lambda f: f["event"] == "card.changed" and f["json"]["event_type"] == "instance.completed"
    )
    assert changed["json"]["card_id"] == about["card_id"]
    assert changed["id"] != event["event_id"]  # notify's own event, not the producer's

    note_id = created["json"]["id"]
    gateway.post(f"/api/v1/notifications/{note_id}/read", headers=token_for("sales.head"))
    mine.wait_for(
        lambda f: f["event"] == "notification.read" and f["json"]["notification_id"] == note_id
    )
    time.sleep(0.5)  # what reception would have got has had time to arrive
    assert not [f for f in theirs.frames if about["card_id"] in f.get("data", "")]


def test_the_live_feed_takes_the_token_in_the_query_and_resumes(
    token_for: Headers,
    people: dict[str, Identity],
    publish: EventPublisher,
    feeds: Callable[..., FeedReader],
) -> None:
    person = people["director"]
    token = token_for("director")["Authorization"].removeprefix("Bearer ")
    first = feeds(params={"access_token": token})
    assert first.status == 200
    one, two = card(), card()
    publish(completed(person, one))
    seen = first.wait_for(lambda f: f["json"].get("card_id") == one["card_id"])
    first.close()
    publish(completed(person, two))

    resumed = feeds(params={"access_token": token}, headers={"Last-Event-ID": seen["id"]})
    resumed.wait_for(
        lambda f: f["event"] == "notification.created" and f["json"]["card_id"] == two["card_id"]
    )
    unknown = feeds(params={"access_token": token}, headers={"Last-Event-ID": "forgotten"})
    unknown.wait_for(lambda f: f["event"] == "resync")


def test_the_live_feed_needs_a_valid_token(
    feeds: Callable[..., FeedReader], gateway: httpx.Client
) -> None:
    assert feeds().status == 401
    assert feeds(params={"access_token": "not-a-jwt"}).status == 401
    answer = gateway.get("/api/v1/events")
    assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM


def test_a_person_links_their_telegram_chat_by_pressing_start(
    gateway: httpx.Client, token_for: Headers, suite: Stack
) -> None:
    telegram = TelegramStub(suite)
    link = gateway.post("/api/v1/me/telegram-link", headers=token_for("accountant"))
    assert link.status_code == 200, link.text
    body = link.json()
    assert body["url"] == f"https://t.me/docflow_bot?start={body['token']}"
    chat = new_chat_id()
    # A stranger's /start with a made-up token and the right one from the person's phone.
    telegram.person_writes(new_chat_id(), "/start not-a-token-we-ever-gave-out")
    telegram.person_writes(chat, f"/start {body['token']}")

    def linked() -> Any:
        channels = gateway.get("/api/v1/me/channels", headers=token_for("accountant")).json()
        return channels if channels["telegram_chat_id"] == chat else None

    assert eventually(linked, seconds=20)["telegram_chat_id"] == chat
    assert any("Готово" in m["text"] for m in eventually(lambda: telegram.messages(chat)))
    # The token works once: replayed from another chat it changes nothing.
    telegram.person_writes(new_chat_id(), f"/start {body['token']}")
    run = gateway.post("/api/v1/admin/timers/run", headers=token_for("admin"), json={})
    assert run.status_code == 200, run.text
    channels = gateway.get("/api/v1/me/channels", headers=token_for("accountant")).json()
    assert channels["telegram_chat_id"] == chat
