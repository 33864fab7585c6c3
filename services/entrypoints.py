"""Entrypoint decorators every service uses instead of nameko's bare ones.

``rpc`` refuses a call that carries no caller identity (401) before any worker
runs, and marks every ``DocflowError`` as expected so nameko does not log
business refusals as crashes. ``rpc(public=True)`` is for health checks only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from nameko.rpc import Rpc

from services.errors import DocflowError, Unauthenticated


class AuthenticatedRpc(Rpc):  # type: ignore[misc]
    def __init__(self, public: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("expected_exceptions", (DocflowError,))
        super().__init__(**kwargs)
        self.public = public

    def handle_message(self, body: Any, message: Any) -> None:
        if not self.public:
            context = self.unpack_message_headers(message)
            if not context.get("user_id"):
                # Raised here, RpcConsumer replies with the error; no worker starts.
                raise Unauthenticated(
                    f"{self.container.service_name}.{self.method_name} needs a caller identity"
                )
        super().handle_message(body, message)


F = TypeVar("F", bound=Callable[..., Any])


@overload
def rpc(fn: F) -> F: ...


@overload
def rpc(*, public: bool = False) -> Callable[[F], F]: ...


def rpc(fn: F | None = None, *, public: bool = False) -> F | Callable[[F], F]:
    """``@rpc`` or ``@rpc(public=True)``: nameko's RPC entrypoint, authenticated."""
    if fn is not None:
        registered: F = AuthenticatedRpc.decorator(fn)
        return registered
    decorate: Callable[[F], F] = AuthenticatedRpc.decorator(public=public)
    return decorate
