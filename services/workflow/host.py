"""Running routes inside a service: the engine, the store, the org directory and the clock
put together, so contracts, payments and letters share one way of doing it.

A service owns one ``ProcessHost``; each of its processes (``contract``,
``payment_request``, ``incoming_letter``…) registers the routes it may run.
The host starts instances, applies commands (Conflict when someone moved the
instance first), fires due timers, and turns tasks into what people see in
"my tasks": the allowed actions, the re-submission mark, earlier decisions.

A task's public id is ``<service>:<task id>`` (the engine's task ids already
start with the instance id), so the gateway knows where to send a decision
without asking every service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services import metrics, timers
from services.outbox import OutboxWriter
from services.workflow.commands import Command, CompleteSubtask, Decide, TimerFired
from services.workflow.engine import WorkflowEngine
from services.workflow.errors import Invalid, NotFound
from services.workflow.model import Decision, Instance, OrgLookup, Result, Task
from services.workflow.routes import ApprovalStep, Route, TaskStep
from services.workflow.store import CardLabel, WorkflowStore, WorkflowTables, timer_from_payload

#: Each sweep may set the next timer of a chain (check -> remind -> escalate)
#: that is already due at a simulated ``now``; a few rounds settle it.
SWEEP_ROUNDS = 10


def public_task_id(service: str, task_id: str) -> str:
    return f"{service}:{task_id}"


def split_task_id(public_id: str) -> tuple[str, str]:
    """``contracts:<instance>:t3`` -> ("contracts", "<instance>:t3"); NotFound if malformed."""
    service, sep, task_id = public_id.partition(":")
    instance_id, sep2, local = task_id.partition(":")
    if not (sep and sep2 and service and instance_id and local):
        raise NotFound(f"task {public_id} does not exist")
    return service, task_id


@dataclass(frozen=True)
class Loaded:
    """An instance with what the service knows about its card."""

    instance: Instance
    process: str
    card_id: str
    label: CardLabel


@dataclass(frozen=True)
class Applied:
    before: Loaded
    result: Result

    @property
    def instance(self) -> Instance:
        return self.result.instance

    @property
    def changed(self) -> bool:
        return self.result.instance.version != self.before.instance.version


class ProcessHost:
    def __init__(
        self, service: str, tables: WorkflowTables, engine: WorkflowEngine | None = None
    ) -> None:
        self.service = service
        self.tables = tables
        self.engine = engine or WorkflowEngine()
        self._routes: dict[tuple[str, int], Route] = {}
        self._stores: dict[str, WorkflowStore] = {}

    # --- set-up ------------------------------------------------------------------

    def register(self, process: str, *routes: Route) -> None:
        """Routes ``process`` may run; keep old versions registered while instances run them."""
        self._stores.setdefault(process, WorkflowStore(self.tables, process))
        for route in routes:
            self._routes[(route.id, route.version)] = route

    def route(self, route_id: str, version: int | None = None) -> Route:
        if version is None:
            versions = [v for (rid, v) in self._routes if rid == route_id]
            if not versions:
                raise NotFound(f"route {route_id} is not configured")
            version = max(versions)
        found = self._routes.get((route_id, version))
        if found is None:
            raise NotFound(f"route {route_id} v{version} is not configured")
        return found

    def store(self, process: str) -> WorkflowStore:
        return self._stores[process]

    # --- running -----------------------------------------------------------------

    def start(
        self,
        session: Session,
        events: OutboxWriter,
        org: OrgLookup,
        *,
        process: str,
        route: Route,
        card_id: str,
        card: dict[str, Any],
        initiator_id: str,
        now: datetime,
        label: CardLabel,
    ) -> Result:
        result = self.engine.start(route, card, initiator_id, now, org)
        self.store(process).create(session, card_id, result, events, label)
        return result

    def load(self, session: Session, instance_id: str) -> Loaded:
        t = self.tables.instances
        row = session.execute(
            select(t.c.data, t.c.process, t.c.card_id, t.c.title, t.c.link).where(
                t.c.id == instance_id
            )
        ).first()
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        return Loaded(
            Instance.from_dict(row.data), row.process, row.card_id, CardLabel(row.title, row.link)
        )

    def latest_of_card(self, session: Session, process: str, card_id: str) -> Loaded | None:
        instance_id = self.store(process).instance_of_card(session, card_id)
        return None if instance_id is None else self.load(session, instance_id)

    def apply(
        self,
        session: Session,
        events: OutboxWriter,
        org: OrgLookup,
        instance_id: str,
        command: Command | Callable[[Instance], Command],
        now: datetime,
        loaded: Loaded | None = None,
    ) -> Applied:
        """Load (unless the caller just did), handle, save (only if something changed).
        Conflict if the version moved since it was loaded."""
        if loaded is None or loaded.instance.id != instance_id:
            loaded = self.load(session, instance_id)
        if callable(command):  # a factory: the command depends on the loaded instance
            command = command(loaded.instance)
        route = self.route(loaded.instance.route_id, loaded.instance.route_version)
        result = self.engine.handle(route, loaded.instance, command, now, org)
        applied = Applied(loaded, result)
        if applied.changed:
            self.store(loaded.process).save(session, loaded.instance.version, result, events)
        return applied

    def decide(
        self,
        session: Session,
        events: OutboxWriter,
        org: OrgLookup,
        task_id: str,
        actor_id: str,
        *,
        action: str,
        comment: str | None,
        reason_code: str | None,
        outputs: dict[str, Any],
        expected_version: int | None,
        now: datetime,
        loaded: Loaded | None = None,
    ) -> Applied:
        instance_id = task_id.partition(":")[0]

        def command(instance: Instance) -> Command:
            task = instance.tasks.get(task_id)
            if task is None:
                raise NotFound(f"task {public_task_id(self.service, task_id)} does not exist")
            if task.kind == "subtask":
                if action != "complete":
                    raise Invalid(
                        "a subtask is completed, nothing else",
                        [{"loc": ["action"], "msg": "must be complete"}],
                    )
                return CompleteSubtask(task_id, actor_id, outputs, comment, expected_version)
            return Decide(
                task_id, actor_id, action, comment, reason_code, outputs, expected_version
            )

        applied = self.apply(session, events, org, instance_id, command, now, loaded)
        task = applied.instance.tasks[task_id]
        metrics.TASK_DECISION_SECONDS.labels(
            self.service, applied.before.process, task.step_id
        ).observe(max(0.0, (now - task.created_at).total_seconds()))
        return applied

    # --- timers ------------------------------------------------------------------

    def sweep(
        self,
        factory: sessionmaker[Session],
        now: datetime,
        org: OrgLookup,
        events: OutboxWriter,
        on_change: Callable[[Session, Applied], None] | None = None,
    ) -> int:
        """Fire every due engine timer; returns how many fired."""

        def fire(session: Session, due: timers.DueTimer, moment: datetime) -> None:
            timer = timer_from_payload(due.payload)
            applied = self.apply(session, events, org, due.instance_id, TimerFired(timer), moment)
            if applied.changed and on_change is not None:
                on_change(session, applied)

        fired = 0
        for _ in range(SWEEP_ROUNDS):
            count = timers.sweep(factory, now, fire)
            fired += count
            if count == 0:
                break
        with factory() as session:
            self.publish_gauges(session, now)
        return fired

    def publish_gauges(self, session: Session, now: datetime) -> None:
        """Open and overdue tasks per process and step (the SLA board's metrics)."""
        t = self.tables.tasks
        rows = session.execute(
            select(
                t.c.process,
                t.c.step_id,
                func.count(),
                func.count().filter(t.c.due_at < now),
            ).group_by(t.c.process, t.c.step_id)
        ).all()
        metrics.OPEN_TASKS.clear()
        metrics.OVERDUE_TASKS.clear()
        for process, step_id, open_count, overdue in rows:
            metrics.OPEN_TASKS.labels(self.service, process, step_id).set(open_count)
            metrics.OVERDUE_TASKS.labels(self.service, process, step_id).set(overdue)

    # --- what people see ---------------------------------------------------------

    def task_view(self, loaded: Loaded, task: Task, now: datetime) -> dict[str, Any]:
        instance = loaded.instance
        route = self.route(instance.route_id, instance.route_version)
        step = route.step(task.step_id)
        assert isinstance(step, ApprovalStep | TaskStep)
        if task.kind == "subtask":
            subtask = next(
                (s for s in getattr(step, "subtasks", []) if s.id == task.subtask_id), None
            )
            actions: list[str] = ["complete"]
            comment_required: list[str] = []
            reason_codes: list[str] = []
            outputs = dict(subtask.outputs) if subtask else {}
            title = (subtask.title if subtask else None) or task.subtask_id or task.step_id
        else:
            actions = list(step.actions)
            comment_required = step.comment_rules()
            reason_codes = list(step.reason_codes)
            outputs = dict(getattr(step, "outputs", {}))
            title = step.title or step.id
        return {
            "id": public_task_id(self.service, task.id),
            "service": self.service,
            "process": loaded.process,
            "card_id": loaded.card_id,
            "card_title": loaded.label.title,
            "link": loaded.label.link,
            "instance_id": instance.id,
            "instance_version": instance.version,
            "step_id": task.step_id,
            "title": title,
            "kind": task.kind,
            "state": task.state,
            "assignee_id": task.assignee_id,
            "on_behalf_of": task.on_behalf_of,
            "escalated_to": list(task.escalated_to),
            "created_at": _iso(task.created_at),
            "taken_at": _iso(task.taken_at),
            "due_at": _iso(task.due_at),
            "overdue": task.state == "open" and task.due_at is not None and task.due_at < now,
            "round": task.round,
            "resubmitted": instance.resubmitted and task.round > 1,
            "previous_decisions": [decision_view(d) for d in task.previous_decisions],
            "allowed_actions": actions if task.state == "open" else [],
            "comment_required": comment_required,
            "reason_codes": reason_codes,
            "outputs": outputs,
        }

    def tasks_of(self, session: Session, user_id: str, now: datetime) -> list[dict[str, Any]]:
        """Every open task the person may act on in this service, soonest due first."""
        t = self.tables.tasks
        rows = session.execute(
            select(t.c.task_id, t.c.instance_id)
            .where((t.c.assignee_id == user_id) | t.c.escalated_to.any(user_id))
            .order_by(t.c.due_at.asc().nulls_last(), t.c.created_at, t.c.task_id)
        ).all()
        cache: dict[str, Loaded] = {}
        views = []
        for task_id, instance_id in rows:
            if instance_id not in cache:
                cache[instance_id] = self.load(session, instance_id)
            loaded = cache[instance_id]
            task = loaded.instance.tasks.get(task_id)
            if task is not None and task.state == "open":
                views.append(self.task_view(loaded, task, now))
        return views

    def find_task(self, session: Session, task_id: str) -> tuple[Loaded, Task]:
        loaded = self.load(session, task_id.partition(":")[0])
        task = loaded.instance.tasks.get(task_id)
        if task is None:
            raise NotFound(f"task {public_task_id(self.service, task_id)} does not exist")
        return loaded, task

    def progress(self, loaded: Loaded, now: datetime) -> dict[str, Any]:
        """The card's process box: state, who is responsible now, the open tasks."""
        instance = loaded.instance
        return {
            "instance_id": instance.id,
            "route_id": instance.route_id,
            "state": instance.state,
            "round": instance.round,
            "resubmitted": instance.resubmitted,
            "version": instance.version,
            "responsible": instance.responsible,
            "open_tasks": [self.task_view(loaded, t, now) for t in instance.open_tasks()],
            "decisions": [decision_view(d) for d in instance.decisions],
        }

    def timeline(self, session: Session, instance_id: str) -> list[dict[str, Any]]:
        return [entry.to_dict() for entry in self.store_any().timeline(session, instance_id)]

    def store_any(self) -> WorkflowStore:
        return next(iter(self._stores.values()))


def _iso(moment: datetime | None) -> str | None:
    """Views are JSON: RPC replies must not depend on the serializer's datetime tagging."""
    return None if moment is None else moment.isoformat()


def decision_view(decision: Decision) -> dict[str, Any]:
    return {
        "round": decision.round,
        "step_id": decision.step_id,
        "assignee_id": decision.assignee_id,
        "actor_id": decision.actor_id,
        "on_behalf_of": decision.on_behalf_of,
        "action": decision.action,
        "at": _iso(decision.at),
        "comment": decision.comment,
        "reason_code": decision.reason_code,
    }
