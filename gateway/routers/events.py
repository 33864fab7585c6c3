"""GET /api/v1/events: the caller's live feed as server-sent events.

notify_svc announces ``notification.created``, ``notification.read`` and
``card.changed`` on its event exchange (``notify.events``). The gateway holds ONE
consumer of them (``EventHub``: an exclusive, auto-deleted queue of this gateway
process bound to those routing keys) and fans each event out to the connected
streams of the people it concerns. Nothing per client touches the broker.

The stream: ``retry:`` and a ``: connected`` comment first, then one SSE event per
change (``id:`` is the domain event id, ``event:`` its type, ``data:`` JSON), and a
``: heartbeat`` comment every 15 s so proxies keep the connection open. The hub keeps
the last events in memory: a client that reconnects with ``Last-Event-ID`` gets what
it missed; when that id is no longer known (another gateway process, or a restart) it
gets one ``resync`` event and should reload its inbox and cards.

``EventSource`` in browsers cannot send headers, so this one endpoint also takes the
token as ``?access_token=``. Prefer the header where the client can send it, and keep
such URLs out of logs (uvicorn's access log prints query strings: ``--no-access-log``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from gateway.auth import Authenticator, bearer
from gateway.errors import PROBLEM_RESPONSES
from gateway.rpc import ServiceUnavailable
from services.auth import Identity
from services.errors import Unauthenticated

log = logging.getLogger("docflow.gateway.events")

EXCHANGE = "notify.events"
ROUTING_KEYS = ("notification.created", "notification.read", "card.changed")
HEARTBEAT_SECONDS = 15.0
#: Events kept for ``Last-Event-ID`` resumes (all people together).
REPLAY_BUFFER = 2000
#: A client that falls this far behind is told to resync instead of growing memory.
CLIENT_QUEUE = 256

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@dataclass(frozen=True)
class FeedEvent:
    id: str
    type: str
    user_ids: frozenset[str]
    data: dict[str, Any]

    def encode(self) -> bytes:
        payload = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.type}\ndata: {payload}\n\n".encode()


RESYNC = b'event: resync\ndata: {"reason":"missed events are no longer known"}\n\n'


def feed_event(envelope: dict[str, Any]) -> FeedEvent | None:
    """The SSE form of one of notify_svc's events; None for anything else."""
    kind = envelope.get("event_type")
    data = envelope.get("data") or {}
    event_id = str(envelope.get("event_id") or "")
    if not event_id or not isinstance(data, dict):
        return None
    if kind == "notification.created" and isinstance(data.get("notification"), dict):
        return FeedEvent(event_id, kind, frozenset({str(data["user_id"])}), data["notification"])
    if kind == "notification.read":
        body = {"notification_id": data.get("notification_id"), "read_at": data.get("read_at")}
        return FeedEvent(event_id, kind, frozenset({str(data.get("user_id"))}), body)
    if kind == "card.changed":
        people = frozenset(str(u) for u in data.get("user_ids") or [])
        keys = ("process", "card_id", "title", "link", "event_type", "occurred_at")
        return FeedEvent(event_id, kind, people, {k: data.get(k) for k in keys})
    return None


class EventHub:
    """One broker consumer for the whole gateway process; streams subscribe per person."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._subscribers: dict[str, set[asyncio.Queue[FeedEvent | None]]] = {}
        self._recent: deque[FeedEvent] = deque(maxlen=REPLAY_BUFFER)

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.amqp_uri)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            f"gateway-events-{uuid.uuid4().hex}", exclusive=True, auto_delete=True
        )
        for key in ROUTING_KEYS:
            await queue.bind(exchange, routing_key=key)
        await queue.consume(self._on_message, no_ack=True)

    async def stop(self) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @property
    def running(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    def subscribe(self, user_id: str) -> asyncio.Queue[FeedEvent | None]:
        queue: asyncio.Queue[FeedEvent | None] = asyncio.Queue(CLIENT_QUEUE)
        self._subscribers.setdefault(user_id, set()).add(queue)
        return queue

    def unsubscribe(self, user_id: str, queue: asyncio.Queue[FeedEvent | None]) -> None:
        queues = self._subscribers.get(user_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[user_id]

    def since(self, user_id: str, last_event_id: str) -> list[FeedEvent] | None:
        """What this person missed after ``last_event_id``; None if that id is unknown."""
        recent = list(self._recent)
        for index, event in enumerate(recent):
            if event.id == last_event_id:
                return [e for e in recent[index + 1 :] if user_id in e.user_ids]
        return None

    def publish(self, event: FeedEvent) -> None:
        self._recent.append(event)
        for user_id in event.user_ids:
            for queue in list(self._subscribers.get(user_id, ())):
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:  # a stalled client: end its stream, it resyncs
                    queue.get_nowait()
                    queue.put_nowait(None)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = json.loads(message.body)
        except ValueError:
            log.warning("ignored a message on %s that is not JSON", EXCHANGE)
            return
        event = feed_event(envelope) if isinstance(envelope, dict) else None
        if event is not None:
            self.publish(event)


async def stream_identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    access_token: Annotated[
        str | None,
        Query(
            description="The bearer token, for EventSource clients that cannot send headers "
            "(this endpoint only)"
        ),
    ] = None,
) -> Identity:
    token = credentials.credentials if credentials is not None else access_token
    if not token:
        raise Unauthenticated("send a bearer token in the Authorization header or access_token")
    authenticator: Authenticator = request.app.state.authenticator
    identity = await authenticator.identify(token, request)
    request.state.identity = identity
    return identity


STREAM_EXAMPLE = (
    "retry: 3000\n: connected\n\n"
    "id: 0d6f…\nevent: notification.created\n"
    'data: {"id":"5b0e…","kind":"assignment","title":"На согласование: Договор Д-2026-0001",'
    '"link":"/contracts/7f1d…","read_at":null}\n\n'
    ": heartbeat\n\n"
)


@router.get(
    "/events",
    response_class=StreamingResponse,
    summary="The caller's live feed (server-sent events): new notifications, card changes",
    responses={
        200: {
            "description": "An endless `text/event-stream`; event types "
            "`notification.created`, `notification.read`, `card.changed`, `resync`",
            "content": {"text/event-stream": {"example": STREAM_EXAMPLE}},
        },
        401: PROBLEM_RESPONSES[401],
    },
)
async def events(
    request: Request,
    identity: Annotated[Identity, Depends(stream_identity)],
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=100,
            description="Sent by EventSource on reconnect: replay what was missed",
        ),
    ] = None,
) -> StreamingResponse:
    hub: EventHub | None = getattr(request.app.state, "event_hub", None)
    if hub is None or not hub.running:
        raise ServiceUnavailable("the live feed is not connected to the broker")
    user_id = identity.user_id
    queue = hub.subscribe(user_id)
    backlog = hub.since(user_id, last_event_id) if last_event_id else []

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield f"retry: 3000\n: connected as {user_id}\n\n".encode()
            sent: set[str] = set()
            if backlog is None:
                yield RESYNC
            else:
                for event in backlog:
                    sent.add(event.id)
                    yield event.encode()
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                if item is None:  # fell behind or the gateway stops: the client resyncs
                    yield RESYNC
                    return
                if item.id not in sent:
                    yield item.encode()
        finally:
            hub.unsubscribe(user_id, queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
