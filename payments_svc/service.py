"""payments_svc entrypoints: payment requests on the route engine (with the Frozen
and Documents requested stages) and the payment registry with its bank export."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from nameko.rpc import RpcProxy
from sqlalchemy.orm import Session

from payments_svc import domain, models, registries, stages, usecases
from payments_svc.settings import Settings
from services.base import ServiceBase
from services.entrypoints import rpc
from services.errors import Forbidden, ask
from services.idempotency import idempotent
from services.ids import parse_filter_id
from services.processes import ProcessService
from services.schemas import payments as schemas
from services.validation import dump, parse
from services.workflow.host import Applied, ProcessHost
from services.workflow.routes import Route
from services.workflow.validation import load_route

ROUTES = Path(__file__).parent / "routes"


def load_routes(settings: Settings) -> list[Route]:
    """The shipped routes, replaced by id by files in the routes directory setting,
    with the configured cut-off of the accountants' deadline."""
    found: dict[str, Route] = {}
    extra = Path(settings.payments_routes_dir) if settings.payments_routes_dir else None
    for directory in (ROUTES, extra):
        if directory is None:
            continue
        for path in sorted(directory.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            route = load_route(domain.with_cutoff(data, settings.payments_cutoff))
            found[route.id] = route
    return list(found.values())


def make_host(settings: Settings) -> ProcessHost:
    host = ProcessHost("payments", models.WORKFLOW)
    routes = load_routes(settings)
    host.register(usecases.PROCESS, *[r for r in routes if r.id != registries.ROUTE])
    host.register(registries.PROCESS, *[r for r in routes if r.id == registries.ROUTE])
    return host


class PaymentsService(ProcessService, ServiceBase):
    name = "payments"

    settings: Settings
    host = make_host(Settings(service_name="payments_svc"))
    counterparty = RpcProxy("counterparty")
    archive = RpcProxy("archive")

    def directory(self) -> usecases.Directory:
        return usecases.Directory(
            counterparty=lambda cid: ask(self.counterparty.get_counterparty, counterparty_id=cid),
            file=lambda fid: ask(self.archive.get_file, file_id=fid),
            legal_entities=lambda: ask(self.org.list_legal_entities),
        )

    # --- ProcessService hooks -------------------------------------------------------

    def card_visible(self, process: str, card_id: str) -> bool:
        if process == registries.PROCESS:
            registry = self.db.get(models.PaymentRegistry, uuid.UUID(card_id))
            return registry is not None and domain.may_view(
                self.caller, registries.access(registry)
            )
        row = self.db.get(models.PaymentRequest, uuid.UUID(card_id))
        return row is not None and domain.may_view(self.caller, usecases.access(row))

    def on_change(self, session: Session, applied: Applied) -> None:
        if applied.before.process == registries.PROCESS:
            registries.on_change(session, applied)
            return
        # Timers have no caller to ask the archive as; only people complete subtasks.
        directory = None if self.caller.is_system else self.directory()
        usecases.on_change(session, self.events, directory, applied)

    @rpc
    def card_files(self, card_id: str) -> list[str]:
        """The archive files of a request (invoice, requested documents, payment order), for
        archive_svc to let the request's approvers read them; the system only."""
        if not self.caller.is_system:
            raise Forbidden("only the system lists a request's files")
        row = self.db.get(models.PaymentRequest, parse_filter_id(card_id, "card_id"))
        if row is None:
            return []
        found = [row.invoice_file_id, *row.document_file_ids, row.payment_order_file_id]
        return [f for f in found if f]

    # --- payment requests -----------------------------------------------------------

    def _out(self, row: models.PaymentRequest) -> dict[str, Any]:
        process = None
        if row.instance_id is not None:
            process = self.host.progress(self.host.load(self.db, row.instance_id), self.now())
        return dump(usecases.request_out(row, process))  # type: ignore[no-any-return]

    @rpc
    @idempotent
    def create_request(self, data: dict[str, Any]) -> dict[str, Any]:
        """Save a payment request; its approval starts at once."""
        new = parse(schemas.NewPaymentRequest, data)
        row = usecases.create_request(
            self.db,
            self.caller,
            self.events,
            self.org_lookup(),
            self.host,
            self.settings,
            self.directory(),
            new,
            self.now(),
        )
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    def get_request(self, request_id: str) -> dict[str, Any]:
        return self._out(usecases.load(self.db, self.caller, request_id))

    @rpc
    def list_requests(
        self,
        status: str | None = None,
        counterparty_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        return usecases.list_requests(self.db, self.caller, status, counterparty_id, limit, cursor)

    @rpc
    def request_timeline(self, request_id: str) -> list[dict[str, Any]]:
        row = usecases.load(self.db, self.caller, request_id)
        return usecases.timeline(self.db, self.host, row)

    @rpc
    @idempotent
    def freeze(self, request_id: str, data: dict[str, Any]) -> dict[str, Any]:
        body = parse(schemas.StageRequest, data)
        row = stages.freeze(
            self.db,
            self.caller,
            self.events,
            self.org_lookup(),
            self.host,
            request_id,
            body.comment,
            self.now(),
        )
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    @idempotent
    def unfreeze(self, request_id: str, data: dict[str, Any]) -> dict[str, Any]:
        body = parse(schemas.StageRequest, data)
        row = stages.unfreeze(
            self.db,
            self.caller,
            self.events,
            self.org_lookup(),
            self.host,
            request_id,
            body.comment,
            self.now(),
        )
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    @idempotent
    def request_documents(self, request_id: str, data: dict[str, Any]) -> dict[str, Any]:
        body = parse(schemas.StageRequest, data)
        row = stages.request_documents(
            self.db,
            self.caller,
            self.events,
            self.org_lookup(),
            self.host,
            request_id,
            body.comment,
            self.now(),
        )
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    @idempotent
    def provide_documents(self, request_id: str, data: dict[str, Any]) -> dict[str, Any]:
        body = parse(schemas.ProvideDocuments, data)
        row = stages.provide_documents(
            self.db,
            self.caller,
            self.events,
            self.org_lookup(),
            self.host,
            self.directory(),
            request_id,
            body,
            self.now(),
        )
        out = self._out(row)
        self.db.commit()
        return out

    # --- payment registries -----------------------------------------------------------

    def _registry_out(self, row: models.PaymentRegistry) -> dict[str, Any]:
        process = None
        if row.instance_id is not None:
            process = self.host.progress(self.host.load(self.db, row.instance_id), self.now())
        return dump(registries.registry_out(self.db, row, process))  # type: ignore[no-any-return]

    @rpc
    @idempotent
    def create_registry(self, data: dict[str, Any]) -> dict[str, Any]:
        new = parse(schemas.NewRegistry, data)
        row = registries.create_registry(
            self.db,
            self.caller,
            self.org_lookup(),
            self.settings,
            self.directory(),
            new,
            self.now(),
        )
        out = self._registry_out(row)
        self.db.commit()
        return out

    @rpc
    def get_registry(self, registry_id: str) -> dict[str, Any]:
        return self._registry_out(registries.load(self.db, self.caller, registry_id))

    @rpc
    @idempotent
    def submit_registry(self, registry_id: str) -> dict[str, Any]:
        row = registries.submit(
            self.db,
            self.caller,
            self.events,
            self.org_lookup(),
            self.host,
            registry_id,
            self.now(),
        )
        out = self._registry_out(row)
        self.db.commit()
        return out

    @rpc
    @idempotent
    def compose_registry(self, registry_id: str, data: dict[str, Any]) -> dict[str, Any]:
        body = parse(schemas.ComposeRegistry, data)
        row = registries.compose(self.db, self.caller, self.host, registry_id, body)
        out = self._registry_out(row)
        self.db.commit()
        return out

    @rpc
    def registry_timeline(self, registry_id: str) -> list[dict[str, Any]]:
        row = registries.load(self.db, self.caller, registry_id)
        return [] if row.instance_id is None else self.host.timeline(self.db, row.instance_id)

    @rpc
    def export_registry(self, registry_id: str, format: str = "1c") -> dict[str, Any]:
        out = registries.export(
            self.db,
            self.caller,
            self.settings,
            self.directory(),
            registry_id,
            format,
            self.now().astimezone(ZoneInfo(self.settings.timezone)),
        )
        return dump(out)  # type: ignore[no-any-return]
