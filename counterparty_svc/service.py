"""counterparty_svc entrypoints: counterparties, 1C lookup and import, statutory
documents, the product and service catalogue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nameko.timer import timer

from counterparty_svc import catalog, importer, usecases
from counterparty_svc.dependencies import ImportRunner, OneCProvider, ServiceSettingsProvider
from counterparty_svc.onec_client import OneCClient
from counterparty_svc.settings import Settings
from services.auth import ADMIN_ROLE, require_role
from services.base import ServiceBase
from services.entrypoints import rpc
from services.errors import Forbidden
from services.idempotency import idempotent
from services.schemas import counterparty as schemas
from services.validation import dump, parse, parse_moment

#: The expiry sweep is idempotent (each document is announced once), so running
#: it hourly instead of once a day only makes announcements timelier.
DOCUMENTS_SWEEP_SECONDS = 3600


class CounterpartyService(ServiceBase):
    name = "counterparty"

    settings: Settings = ServiceSettingsProvider()
    onec: OneCClient = OneCProvider()
    import_runner: ImportRunner = ImportRunner()

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _max_age(self) -> timedelta:
        return timedelta(hours=self.settings.reverify_after_hours)

    # --- cards -------------------------------------------------------------

    @rpc
    @idempotent
    def create_counterparty(self, data: dict[str, Any]) -> dict[str, Any]:
        new = parse(schemas.NewCounterparty, data)
        out = usecases.create_counterparty(self.db, self.caller, self.events, new)
        self.db.commit()
        return dump(out)

    @rpc
    def get_counterparty(self, counterparty_id: str) -> dict[str, Any]:
        return dump(usecases.get_counterparty(self.db, counterparty_id))

    @rpc
    def list_counterparties(
        self,
        inn: str | None = None,
        q: str | None = None,
        kind: str | None = None,
        category: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        return usecases.list_counterparties(self.db, inn, q, kind, category, limit, cursor)

    @rpc
    @idempotent
    def update_counterparty(
        self, counterparty_id: str, data: dict[str, Any], expected_version: int | None = None
    ) -> dict[str, Any]:
        patch = parse(schemas.CounterpartyPatch, data)
        out = usecases.update_counterparty(
            self.db, self.caller, self.events, counterparty_id, patch, expected_version
        )
        self.db.commit()
        return dump(out)

    @rpc
    @idempotent
    def lookup(self, inn: str) -> dict[str, Any]:
        found = parse(schemas.LookupRequest, {"inn": inn})
        out = usecases.lookup(
            self.db, self.caller, self.events, self.onec, found.inn, self._now(), self._max_age()
        )
        self.db.commit()
        return dump(out)

    @rpc
    @idempotent
    def verify(self, counterparty_id: str) -> dict[str, Any]:
        out = usecases.verify(
            self.db, self.caller, self.events, self.onec, counterparty_id, self._now()
        )
        self.db.commit()
        return dump(out)

    # --- 1C import ----------------------------------------------------------

    @rpc
    @idempotent
    def start_import(self, data: dict[str, Any] | None = None) -> dict[str, Any]:
        out = importer.start_import(self.db, self.caller, parse(schemas.ImportRequest, data or {}))
        self.db.commit()
        self.import_runner.kick()
        return dump(out)

    @rpc
    def get_import(self, job_id: str) -> dict[str, Any]:
        return dump(importer.get_import(self.db, job_id))

    # --- statutory documents ------------------------------------------------

    @rpc
    @idempotent
    def add_document(self, counterparty_id: str, data: dict[str, Any]) -> dict[str, Any]:
        new = parse(schemas.NewDocument, data)
        out = usecases.add_document(self.db, self.caller, self.events, counterparty_id, new)
        self.db.commit()
        return dump(out)

    @rpc
    def documents(self, counterparty_id: str, on: str | None = None) -> dict[str, Any]:
        moment = parse_moment(on, "on") or self._now()
        day = moment.astimezone(ZoneInfo(self.settings.timezone)).date()
        return dump(usecases.documents(self.db, counterparty_id, day))

    @rpc
    def sweep_expired_documents(self, now: str | None = None) -> dict[str, Any]:
        """The daily sweep on demand; an explicit ``now`` only where simulated time is allowed."""
        require_role(self.caller, (ADMIN_ROLE,), "Running the document sweep")
        moment = parse_moment(now, "now")
        if moment is not None and not self.settings.allow_simulated_time:
            raise Forbidden("an explicit time is allowed only with DOCFLOW_ALLOW_SIMULATED_TIME")
        out = self._sweep(moment or self._now())
        return dump(out)

    @timer(interval=DOCUMENTS_SWEEP_SECONDS)  # type: ignore[untyped-decorator]
    def sweep_documents_on_schedule(self) -> None:
        self._sweep(self._now())

    def sweep_due(self, now: datetime) -> int:
        """Part of ``run_timers`` (``POST /api/v1/admin/timers/run``)."""
        return len(self._sweep(now).announced)

    def _sweep(self, moment: datetime) -> schemas.SweepResult:
        day = moment.astimezone(ZoneInfo(self.settings.timezone)).date()
        out = usecases.sweep_expired_documents(self.db, self.events, day, moment)
        self.db.commit()
        return out

    # --- catalogue ------------------------------------------------------------

    @rpc
    def list_sections(self) -> list[dict[str, Any]]:
        return dump(catalog.section_tree(self.db))  # type: ignore[arg-type,no-any-return]

    @rpc
    @idempotent
    def create_section(self, data: dict[str, Any]) -> dict[str, Any]:
        out = catalog.create_section(
            self.db, self.caller, self.events, parse(schemas.NewSection, data)
        )
        self.db.commit()
        return dump(out)

    @rpc
    @idempotent
    def update_section(self, section_id: str, data: dict[str, Any]) -> dict[str, Any]:
        out = catalog.update_section(
            self.db, self.caller, section_id, parse(schemas.SectionPatch, data)
        )
        self.db.commit()
        return dump(out)

    @rpc
    @idempotent
    def delete_section(self, section_id: str) -> None:
        catalog.delete_section(self.db, self.caller, section_id)
        self.db.commit()

    @rpc
    def list_items(
        self,
        section_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        return catalog.list_items(self.db, section_id, q, limit, cursor)

    @rpc
    def get_item(self, item_id: str) -> dict[str, Any]:
        return dump(catalog.get_item(self.db, item_id))

    @rpc
    @idempotent
    def create_item(self, data: dict[str, Any]) -> dict[str, Any]:
        out = catalog.create_item(self.db, self.caller, self.events, parse(schemas.NewItem, data))
        self.db.commit()
        return dump(out)

    @rpc
    @idempotent
    def update_item(
        self, item_id: str, data: dict[str, Any], expected_version: int | None = None
    ) -> dict[str, Any]:
        patch = parse(schemas.ItemPatch, data)
        out = catalog.update_item(self.db, self.caller, item_id, patch, expected_version)
        self.db.commit()
        return dump(out)

    @rpc
    @idempotent
    def delete_item(self, item_id: str) -> None:
        catalog.delete_item(self.db, self.caller, item_id)
        self.db.commit()
