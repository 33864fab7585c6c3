"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.auth import CurrentUser
from gateway.rpc import RpcClient
from gateway.settings import GatewaySettings
from services.auth import Identity


class ServiceCalls:
    """RPC on behalf of the authenticated caller: identity and correlation id travel along."""

    def __init__(self, rpc: RpcClient, identity: Identity, correlation_id: str) -> None:
        self.rpc = rpc
        self.identity = identity
        self.context = identity.to_context(correlation_id)

    async def __call__(self, service: str, method: str, **kwargs: Any) -> Any:
        return await self.rpc.call(service, method, self.context, **kwargs)


def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_calls(request: Request, identity: CurrentUser) -> ServiceCalls:
    return ServiceCalls(request.app.state.rpc, identity, request.state.correlation_id)


Calls = Annotated[ServiceCalls, Depends(get_calls)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]
