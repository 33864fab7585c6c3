"""What every service that runs approval routes exposes: "my tasks", decisions, timers.

Mixed into contracts_svc, payments_svc and mail_svc next to ``ServiceBase``.
The service sets ``host`` (a ``ProcessHost`` with its routes) and implements
two hooks:

- ``card_visible(card_process, card_id)``: may the caller see this card at all
  (404 otherwise, so ids of others' cards reveal nothing);
- ``on_change(session, applied)``: mirror the instance on the service's own
  card (status, responsible people) and start what follows a finished route,
  in the same transaction as the decision.

Org look-ups go to org_svc through ``OrgDirectory``; timers and event handlers,
which have no caller, ask as the system.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nameko.rpc import RpcProxy
from nameko.timer import timer
from sqlalchemy.orm import Session, sessionmaker

from services.auth import SYSTEM, Identity
from services.config import ServiceSettings
from services.entrypoints import rpc
from services.errors import NotFound
from services.idempotency import idempotent
from services.schemas.tasks import DecisionRequest, DelegationRequest
from services.validation import parse
from services.workflow.commands import Delegate, Take
from services.workflow.host import Applied, Loaded, ProcessHost, public_task_id
from services.workflow.org_rpc import RpcOrgLookup

#: How often a replica sweeps its due timers (reminders, escalations, waits);
#: ``DOCFLOW_TIMER_SWEEP_SECONDS``. Read at import: nameko fixes a timer's interval
#: when the class is defined.
SWEEP_SECONDS = ServiceSettings().timer_sweep_seconds


class SystemAwareRpcProxy(RpcProxy):  # type: ignore[misc]
    """``RpcProxy`` that asks as the system when the worker has no caller (a timer or
    an event handler); a caller's identity travels on unchanged."""

    def get_dependency(self, worker_ctx: Any) -> Any:
        if Identity.from_context(worker_ctx.context_data) is None:
            # ``context_data`` is a copy; the proxy reads ``data`` when it publishes.
            worker_ctx.data.update(SYSTEM.to_context())
        return super().get_dependency(worker_ctx)


class OrgDirectory(SystemAwareRpcProxy):
    """The org directory (org_svc) for route assignments, from any worker."""

    def __init__(self) -> None:
        super().__init__("org")


class ProcessService:
    """The shared RPC surface of process services (see the module docstring)."""

    host: ProcessHost
    org: Any = OrgDirectory()
    # Provided by ServiceBase in the concrete class:
    db: Session
    events: Any
    caller: Identity
    settings: Any

    # --- hooks -------------------------------------------------------------------

    def card_visible(self, process: str, card_id: str) -> bool:
        raise NotImplementedError

    def on_change(self, session: Session, applied: Applied) -> None:
        """Called after every saved change of an instance of this service."""

    # --- helpers for the concrete service -----------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC)

    def org_lookup(self) -> RpcOrgLookup:
        return RpcOrgLookup(self.org.resolve_assignees)

    def _visible_task(self, task_id: str) -> tuple[Loaded, Any]:
        loaded, task = self.host.find_task(self.db, task_id)
        user = self.caller.user_id
        involved = user in (task.assignee_id, task.on_behalf_of, *task.escalated_to)
        if not involved and not self.card_visible(loaded.process, loaded.card_id):
            raise NotFound(f"task {public_task_id(self.host.service, task_id)} does not exist")
        return loaded, task

    # --- entrypoints ---------------------------------------------------------------

    @rpc
    def my_tasks(self) -> list[dict[str, Any]]:
        """The caller's open tasks here (as assignee, deputy or escalation target)."""
        return self.host.tasks_of(self.db, self.caller.user_id, self.now())

    @rpc
    def get_task(self, task_id: str) -> dict[str, Any]:
        loaded, task = self._visible_task(task_id)
        return self.host.task_view(loaded, task, self.now())

    @rpc
    @idempotent
    def decide_task(self, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Approve, approve with remarks, return, reject or complete; 409 if already decided."""
        loaded, _ = self._visible_task(task_id)
        request = parse(DecisionRequest, data)
        now = self.now()
        applied = self.host.decide(
            self.db,
            self.events,
            self.org_lookup(),
            task_id,
            self.caller.user_id,
            action=request.action,
            comment=request.comment,
            reason_code=request.reason_code,
            outputs=request.outputs,
            expected_version=request.expected_version,
            now=now,
            loaded=loaded,
        )
        self.on_change(self.db, applied)
        self.db.commit()
        task = applied.instance.tasks[task_id]
        loaded = Loaded(
            applied.instance, applied.before.process, applied.before.card_id, applied.before.label
        )
        return {
            "task": self.host.task_view(loaded, task, now),
            "process": self.host.progress(loaded, now),
        }

    @rpc
    @idempotent
    def delegate_task(self, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Pass the task to a colleague, who then acts on the holder's behalf."""
        self._visible_task(task_id)
        request = parse(DelegationRequest, data)
        applied = self.host.apply(
            self.db,
            self.events,
            self.org_lookup(),
            task_id.partition(":")[0],
            Delegate(
                task_id,
                self.caller.user_id,
                request.user_id,
                request.comment,
                request.expected_version,
            ),
            self.now(),
        )
        self.on_change(self.db, applied)
        self.db.commit()
        loaded = Loaded(
            applied.instance, applied.before.process, applied.before.card_id, applied.before.label
        )
        return self.host.progress(loaded, self.now())

    @rpc
    def take_task(self, task_id: str) -> dict[str, Any]:
        """The assignee opened the task: "not started" reminders stop."""
        self._visible_task(task_id)
        applied = self.host.apply(
            self.db,
            self.events,
            self.org_lookup(),
            task_id.partition(":")[0],
            Take(task_id, self.caller.user_id),
            self.now(),
        )
        if applied.changed:
            self.on_change(self.db, applied)
        self.db.commit()
        loaded, task = self.host.find_task(self.db, task_id)
        return self.host.task_view(loaded, task, self.now())

    def sweep_due(self, now: datetime) -> int:
        """Part of ``run_timers``: fire due reminders, escalations and waits."""
        factory = sessionmaker(self.db.get_bind(), expire_on_commit=False)
        return self.host.sweep(factory, now, self.org_lookup(), self.events, self.on_change)

    @timer(interval=SWEEP_SECONDS)  # type: ignore[untyped-decorator]
    def sweep_on_schedule(self) -> None:
        self.sweep_due(self.now())
