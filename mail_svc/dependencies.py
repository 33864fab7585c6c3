"""nameko dependencies of mail_svc: RPC as the system, and the outside world of a
letter job (SMTP and the archive's bucket).

Jobs (sending a letter, filing its files) run after the deciding transaction
committed, on whatever worker claims them: a person's RPC, an event handler or
the timer. They act as the system, not as whoever happened to be calling, so
``SystemRpc`` sends the system's identity whatever the worker's caller is, and
may add an ``Idempotency-Key`` so a retried step is not done twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minio import Minio
from nameko.extensions import DependencyProvider
from nameko.rpc import MethodProxy, ReplyListener

from mail_svc.settings import Settings
from services import storage
from services.auth import SYSTEM
from services.errors import ask


def settings_of(container: Any) -> Settings:
    found = container.config.get("SETTINGS")
    if isinstance(found, Settings):
        return found
    return Settings(service_name="mail_svc")


@dataclass(frozen=True)
class _SystemContext:
    """What nameko's MethodProxy reads of a worker context: the container and the headers."""

    container: Any
    context_data: dict[str, Any]


class SystemCaller:
    """``call("archive", "open_file", file_id=...)`` as the system; Docflow errors come back
    as ours (services.errors.ask)."""

    def __init__(self, worker_ctx: Any, reply_listener: ReplyListener) -> None:
        self._worker_ctx = worker_ctx
        self._listener = reply_listener

    def call(
        self, service: str, method: str, idempotency_key: str | None = None, **kwargs: Any
    ) -> Any:
        context = SYSTEM.to_context(self._worker_ctx.context_data.get("correlation_id"))
        if idempotency_key:
            context["idempotency_key"] = idempotency_key
        shim = _SystemContext(self._worker_ctx.container, context)
        proxy = MethodProxy(shim, service, method, self._listener)
        return ask(proxy, **kwargs)


class SystemRpc(DependencyProvider):  # type: ignore[misc]
    rpc_reply_listener = ReplyListener()

    def get_dependency(self, worker_ctx: Any) -> SystemCaller:
        return SystemCaller(worker_ctx, self.rpc_reply_listener)


class ObjectStorage(DependencyProvider):  # type: ignore[misc]
    """One minio client for all workers (thread-safe: a urllib3 pool underneath)."""

    def setup(self) -> None:
        self.client = storage.make_client(settings_of(self.container))

    def get_dependency(self, worker_ctx: Any) -> Minio:
        return self.client
