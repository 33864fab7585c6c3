"""mail_svc entrypoints: incoming and outgoing letters on the route engine, their
journals, sending by e-mail and filing into the archive."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from minio import Minio
from nameko.events import event_handler
from nameko.rpc import RpcProxy
from sqlalchemy.orm import Session, sessionmaker

from mail_svc import domain, jobs, models, usecases
from mail_svc.dependencies import ObjectStorage, SystemCaller, SystemRpc
from mail_svc.settings import Settings
from services import smtp
from services.base import ServiceBase
from services.entrypoints import rpc
from services.errors import NotFound, ask
from services.idempotency import idempotent
from services.processes import ProcessService
from services.schemas import letters as schemas
from services.validation import dump, parse
from services.workflow.host import Applied, ProcessHost
from services.workflow.routes import Route
from services.workflow.validation import load_route

ROUTES = Path(__file__).parent / "routes"


def load_routes(extra_dir: str = "") -> list[Route]:
    """The shipped routes, replaced by id by files in ``extra_dir`` (company overrides)."""
    found: dict[str, Route] = {}
    for directory in (ROUTES, Path(extra_dir) if extra_dir else None):
        if directory is None:
            continue
        for path in sorted(directory.glob("*.yaml")):
            route = load_route(yaml.safe_load(path.read_text(encoding="utf-8")))
            found[route.id] = route
    return list(found.values())


def make_host(settings: Settings | None = None) -> ProcessHost:
    host = ProcessHost("mail", models.WORKFLOW)
    routes = {r.id: r for r in load_routes(settings.mail_routes_dir if settings else "")}
    host.register(domain.INCOMING, routes[domain.INCOMING])
    host.register(domain.OUTGOING, routes[domain.OUTGOING])
    return host


class MailService(ProcessService, ServiceBase):
    name = "mail"

    settings: Settings
    host = make_host(Settings(service_name="mail_svc"))
    counterparty = RpcProxy("counterparty")
    archive = RpcProxy("archive")
    system: SystemCaller = SystemRpc()
    s3: Minio = ObjectStorage()

    # --- wiring -------------------------------------------------------------------

    def directory(self) -> usecases.Directory:
        """Look-ups as the system (anyone may name a counterparty or a colleague);
        the archive file is read as the caller, who must be allowed to attach it."""
        return usecases.Directory(
            counterparty=lambda cid: self.system.call(
                "counterparty", "get_counterparty", counterparty_id=cid
            ),
            legal_entities=lambda: self.system.call("org", "list_legal_entities"),
            user=lambda uid: self.system.call("org", "get_user", user_id=uid),
            file=lambda fid: ask(self.archive.get_file, file_id=fid),
        )

    def context(self) -> usecases.Context:
        return usecases.Context(
            events=self.events,
            org=self.org_lookup(),
            host=self.host,
            settings=self.settings,
            directory=self.directory(),
        )

    def outside(self) -> jobs.Outside:
        return jobs.Outside(
            call=self.system.call,
            s3=self.s3,
            send=smtp.send,
            events=self.events,
            max_attempts=self.settings.mail_job_attempts,
            lease=timedelta(seconds=self.settings.mail_job_lease_seconds),
        )

    def factory(self) -> sessionmaker[Session]:
        return sessionmaker(self.db.get_bind(), expire_on_commit=False)

    # --- ProcessService hooks -------------------------------------------------------

    def card_visible(self, process: str, card_id: str) -> bool:
        try:
            usecases.load(self.db, self.caller, card_id)
        except NotFound:
            return False
        return True

    def on_change(self, session: Session, applied: Applied) -> None:
        usecases.on_change(session, self.context(), applied)

    def sweep_due(self, now: datetime) -> int:
        """Timers of the routes (waits, reminders), then due jobs (retries of e-mails
        and filing)."""
        fired = super().sweep_due(now)
        return fired + jobs.run_due(self.factory(), now, self.outside())

    @event_handler("mail", "letter.job_pending")  # type: ignore[untyped-decorator]
    def on_job_pending(self, envelope: dict[str, Any]) -> None:
        """A job was decided and committed: do it now rather than at the next sweep."""
        jobs.run_due(self.factory(), self.now(), self.outside())

    # --- cards --------------------------------------------------------------------

    def _out(self, row: models.Letter) -> dict[str, Any]:
        process = None
        if row.instance_id is not None:
            process = self.host.progress(self.host.load(self.db, row.instance_id), self.now())
        out: dict[str, Any] = dump(
            usecases.letter_out(row, process, usecases.email_job(self.db, row))
        )
        return out

    @rpc
    @idempotent
    def register_incoming(self, data: dict[str, Any]) -> dict[str, Any]:
        new = parse(schemas.NewIncomingLetter, data)
        row = usecases.register_incoming(self.db, self.caller, self.context(), new, self.now())
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    @idempotent
    def create_outgoing(self, data: dict[str, Any]) -> dict[str, Any]:
        new = parse(schemas.NewOutgoingLetter, data)
        row = usecases.create_outgoing(self.db, self.caller, self.context(), new, self.now())
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    def get_letter(self, letter_id: str) -> dict[str, Any]:
        return self._out(usecases.load(self.db, self.caller, letter_id))

    @rpc
    def list_letters(
        self,
        direction: str | None = None,
        legal_entity: str | None = None,
        counterparty_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        return usecases.list_letters(
            self.db, self.caller, direction, legal_entity, counterparty_id, limit, cursor
        )

    @rpc
    def letter_timeline(self, letter_id: str) -> list[dict[str, Any]]:
        row = usecases.load(self.db, self.caller, letter_id)
        if row.instance_id is None:
            return []
        return self.host.timeline(self.db, row.instance_id)

    @rpc
    @idempotent
    def add_participant(self, letter_id: str, data: dict[str, Any]) -> dict[str, Any]:
        new = parse(schemas.NewParticipant, data)
        row, applied = usecases.add_participant(
            self.db, self.caller, self.context(), letter_id, new, self.now()
        )
        self.on_change(self.db, applied)
        out = self._out(row)
        self.db.commit()
        return out

    @rpc
    @idempotent
    def resubmit_letter(self, letter_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        request = parse(schemas.ResubmitLetter, data or {})
        row, applied = usecases.resubmit(
            self.db, self.caller, self.context(), letter_id, request, self.now()
        )
        self.on_change(self.db, applied)
        out = self._out(row)
        self.db.commit()
        return out
