"""The Docflow gateway: the one HTTP door for company systems and SPA frontends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gateway import errors
from gateway.auth import Authenticator
from gateway.observability import CORRELATION_HEADER, Observe
from gateway.routers import (
    admin,
    catalog,
    contracts,
    counterparties,
    events,
    files,
    health,
    letters,
    me,
    notifications,
    org,
    payments,
    tasks,
)
from gateway.routers.events import EventHub
from gateway.rpc import RpcClient
from gateway.settings import GatewaySettings
from services import logs, storage

DESCRIPTION = """
Docflow automates a company's document workflows: counterparties, contract
approval, payment requests, correspondence, the archive and notifications.

Authenticate with `Authorization: Bearer <JWT>`. On a demo setup get a token
from `POST /api/v1/auth/token` with a seeded person (for example
`{"username": "lawyer", "password": "docflow-demo"}`). Errors are
`application/problem+json`.
"""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure("gateway", settings.log_level)
        await app.state.rpc.connect()
        await app.state.event_hub.start()  # the one consumer behind GET /api/v1/events
        app.state.s3 = storage.make_client(settings)  # archive uploads/downloads stream here
        app.state.s3_public = storage.make_client(settings, public=True)  # presigned URLs
        try:
            yield
        finally:
            await app.state.event_hub.stop()
            await app.state.rpc.close()

    app = FastAPI(
        title="Docflow API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.rpc = RpcClient(settings.amqp_uri, settings.rpc_timeout_seconds)
    app.state.event_hub = EventHub(settings.amqp_uri)
    app.state.authenticator = Authenticator(settings)
    errors.install(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[CORRELATION_HEADER],
    )
    app.add_middleware(Observe)
    for module in (
        health,
        me,
        org,
        counterparties,
        catalog,
        files,
        contracts,
        letters,
        payments,
        tasks,
        notifications,
        events,
        admin,
    ):
        app.include_router(module.router)
    return app


app = create_app()
