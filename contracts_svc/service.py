"""contracts_svc entrypoints: contract cards, approval on the route engine, the
contract register, paper originals and the missing-documents letter."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from nameko.rpc import RpcProxy
from sqlalchemy.orm import Session

from contracts_svc import domain, letters, models, usecases
from contracts_svc.settings import Settings
from services.base import ServiceBase
from services.entrypoints import rpc
from services.errors import InvalidInput, ask
from services.idempotency import idempotent
from services.processes import ProcessService
from services.schemas import contracts as schemas
from services.validation import dump, parse
from services.workflow.host import Applied, ProcessHost
from services.workflow.validation import load_route

ROUTES = Path(__file__).parent / "routes"


def load_routes(extra_dir: str = "") -> list[Any]:
    """The shipped routes, replaced by id by files in ``extra_dir`` (company overrides)."""
    found = {}
    for directory in (ROUTES, Path(extra_dir) if extra_dir else None):
        if directory is None:
            continue
        for path in sorted(directory.glob("*.yaml")):
            route = load_route(yaml.safe_load(path.read_text(encoding="utf-8")))
            found[route.id] = route
    return list(found.values())


def make_host(settings: Settings | None = None) -> ProcessHost:
    host = ProcessHost("contracts", models.WORKFLOW)
    host.register(usecases.PROCESS, *load_routes(settings.contracts_routes_dir if settings else ""))
    return host


class ContractsService(ProcessService, ServiceBase):
    name = "contracts"

    settings: Settings
    host = make_host(Settings(service_name="contracts_svc"))
    counterparty = RpcProxy("counterparty")
    archive = RpcProxy("archive")

    def directory(self) -> usecases.Directory:
        return usecases.Directory(
            counterparty=lambda cid: ask(self.counterparty.get_counterparty, counterparty_id=cid),
            documents=lambda cid: ask(self.counterparty.documents, counterparty_id=cid),
            file=lambda fid: ask(self.archive.get_file, file_id=fid),
            user=lambda uid: ask(self.org.get_user, user_id=uid),
        )

    # --- ProcessService hooks -------------------------------------------------------

    def card_visible(self, process: str, card_id: str) -> bool:
        row = self.db.get(models.Contract, uuid.UUID(card_id))
        return row is not None and domain.may_view(self.caller, usecases.access(row))

    def on_change(self, session: Session, applied: Applied) -> None:
        usecases.on_change(session, self.events, self.settings, applied)

    # --- cards --------------------------------------------------------------------

    def _out(self, row: models.Contract) -> dict[str, Any]:
        process = None
        if row.instance_id is not None:
            process = self.host.progress(self.host.load(self.db, row.instance_id), self.now())
        out: dict[str, Any] = dump(usecases.contract_out(row, process))
        return out

    @rpc
    @idempotent
    def create_contract(self, data: dict[str, Any]) -> dict[str, Any]:
        new = parse(schemas.NewContract, data)
        row = usecases.create_contract(self.db, self.caller, self.settings, self.directory(), new)
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    def get_contract(self, contract_id: str) -> dict[str, Any]:
        return self._out(usecases.load(self.db, self.caller, contract_id))

    @rpc
    def list_contracts(
        self,
        status: str | None = None,
        counterparty_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        return usecases.list_contracts(
            self.db, self.caller, status, counterparty_id, q, limit, cursor
        )

    @rpc
    @idempotent
    def update_contract(
        self, contract_id: str, data: dict[str, Any], expected_version: int | None = None
    ) -> dict[str, Any]:
        patch = parse(schemas.ContractPatch, data)
        row = usecases.update_contract(
            self.db, self.caller, self.directory(), contract_id, patch, expected_version
        )
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    @idempotent
    def submit_contract(
        self, contract_id: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        request = parse(schemas.SubmitRequest, data or {})
        row = usecases.submit(
            self.db,
            self.caller,
            self.events,
            self.org_lookup(),
            self.host,
            self.settings,
            self.directory(),
            contract_id,
            request.comment,
            self.now(),
        )
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    def contract_timeline(self, contract_id: str) -> list[dict[str, Any]]:
        row = usecases.load(self.db, self.caller, contract_id)
        if row.instance_id is None:
            return []
        return self.host.timeline(self.db, row.instance_id)

    @rpc
    def contract_register(self, year: int) -> dict[str, Any]:
        if not isinstance(year, int) or not 2000 <= year <= 2100:
            raise InvalidInput("year is a year", [{"loc": ["year"], "msg": "2000..2100"}])
        out: dict[str, Any] = dump(usecases.contract_register(self.db, self.caller, year))
        return out

    @rpc
    def missing_documents_letter(self, contract_id: str, format: str = "text") -> dict[str, Any]:
        """The letter asking the counterparty for what is missing or expired."""
        if format not in ("text", "html", "docx"):
            raise InvalidInput(
                "format is text, html or docx", [{"loc": ["format"], "msg": "unknown format"}]
            )
        row = usecases.load(self.db, self.caller, contract_id)
        counterparty = ask(
            self.counterparty.get_counterparty, counterparty_id=str(row.counterparty_id)
        )
        check = ask(self.counterparty.documents, counterparty_id=str(row.counterparty_id))
        curator = ask(self.org.get_user, user_id=row.curator_id)
        entities = ask(self.org.list_legal_entities)
        company = next(
            (e["name"] for e in entities if e["id"] == row.legal_entity_id),
            entities[0]["name"] if entities else "",
        )
        data = letters.LetterData(
            counterparty=counterparty,
            contract={"number": row.number, "subject": row.subject},
            curator=curator,
            company=company,
            lines=domain.blocking_documents(check),
            today=self.now().astimezone(ZoneInfo(self.settings.timezone)).date(),
        )
        out: dict[str, Any] = {"format": format, "missing": len(data.lines)}
        if format == "docx":
            out["content_base64"] = base64.b64encode(letters.render_docx(data)).decode()
            out["content_type"] = letters.DOCX_TYPE
            out["filename"] = f"zapros-dokumentov-{row.id}.docx"
        elif format == "html":
            out["content"] = letters.render_html(data)
            out["content_type"] = "text/html; charset=utf-8"
        else:
            out["content"] = letters.render_text(data)
            out["content_type"] = "text/plain; charset=utf-8"
        return out
