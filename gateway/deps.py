"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from gateway.auth import CurrentUser
from gateway.rpc import RpcClient
from gateway.settings import GatewaySettings
from services.auth import Identity


class ServiceCalls:
    """RPC on behalf of the authenticated caller: identity and correlation id travel along."""

    def __init__(
        self,
        rpc: RpcClient,
        identity: Identity,
        correlation_id: str,
        idempotency_key: str | None = None,
    ) -> None:
        self.rpc = rpc
        self.identity = identity
        self.context = identity.to_context(correlation_id)
        if idempotency_key:
            self.context["idempotency_key"] = idempotency_key

    async def __call__(self, service: str, method: str, **kwargs: Any) -> Any:
        return await self.rpc.call(service, method, self.context, **kwargs)


def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_calls(
    request: Request,
    identity: CurrentUser,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="Repeat a write safely: the same key and body within 24 h return "
            "the first result and change nothing more",
        ),
    ] = None,
) -> ServiceCalls:
    return ServiceCalls(
        request.app.state.rpc, identity, request.state.correlation_id, idempotency_key
    )


Calls = Annotated[ServiceCalls, Depends(get_calls)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]
