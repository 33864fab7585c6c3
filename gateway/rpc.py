"""An asyncio client of nameko's AMQP RPC protocol (aio-pika).

nameko 2.14's protocol: publish ``{"args": [...], "kwargs": {...}}`` as JSON to
the topic exchange ``nameko-rpc`` with routing key ``<service>.<method>``,
``reply_to`` naming our reply queue's routing key and a ``correlation_id``;
context data travels as ``nameko.<key>`` headers. The service replies to the
same exchange with ``{"result", "error"}``. One connection, one channel with
publisher confirms and one reply queue serve every concurrent request: the
standalone ``ClusterRpcProxy`` is not safe to share and a pool of them was
slower (see bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import DeliveryError
from aiormq.exceptions import ChannelInvalidStateError

RPC_EXCHANGE = "nameko-rpc"


class RemoteCallError(Exception):
    """The service answered with an error (``exc_type`` names it)."""

    def __init__(self, service: str, method: str, error: dict[str, Any]) -> None:
        self.service = service
        self.method = method
        self.exc_type: str = error.get("exc_type") or "RemoteError"
        args = error.get("exc_args") or []
        self.detail: str = str(args[0]) if args else str(error.get("value") or self.exc_type)
        self.errors: list[Any] = args[1] if len(args) > 1 and isinstance(args[1], list) else []
        super().__init__(f"{service}.{method}: {self.exc_type}: {self.detail}")


class ServiceUnavailable(Exception):
    """No service instance is listening, the broker is away, or it did not answer in time."""


class RpcClient:
    def __init__(self, amqp_uri: str, timeout: float = 10.0) -> None:
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._reply_key = f"rpc.reply-gateway-{uuid.uuid4()}"

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self.amqp_uri)
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await channel.declare_exchange(
            RPC_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(self._reply_key, exclusive=True, auto_delete=True)
        await queue.bind(self._exchange, routing_key=self._reply_key)
        await queue.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ServiceUnavailable("the gateway is shutting down"))
        if self._connection is not None:
            await self._connection.close()

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is not None and not future.done():
            future.set_result(json.loads(message.body))

    async def call(
        self,
        service: str,
        method: str,
        context: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        if self._exchange is None:
            raise ServiceUnavailable("the gateway is not connected to the broker")
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        message = aio_pika.Message(
            json.dumps({"args": [], "kwargs": kwargs}, default=str).encode(),
            content_type="application/json",
            content_encoding="utf-8",
            correlation_id=correlation_id,
            reply_to=self._reply_key,
            headers={f"nameko.{k}": v for k, v in (context or {}).items() if v},
        )
        try:
            await self._exchange.publish(message, routing_key=f"{service}.{method}", mandatory=True)
            reply = await asyncio.wait_for(future, timeout or self.timeout)
        except DeliveryError as exc:
            raise ServiceUnavailable(f"{service} is not running") from exc
        except TimeoutError as exc:
            raise ServiceUnavailable(f"{service}.{method} did not answer in time") from exc
        except (aio_pika.exceptions.AMQPError, ChannelInvalidStateError) as exc:
            # While the robust connection reconnects, its channel is closed: publishing
            # raises ChannelInvalidStateError, a RuntimeError rather than an AMQPError.
            raise ServiceUnavailable(f"the broker is unavailable: {exc}") from exc
        finally:
            self._pending.pop(correlation_id, None)
        if reply.get("error"):
            raise RemoteCallError(service, method, reply["error"])
        return reply.get("result")
