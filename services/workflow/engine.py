"""The engine's two entry points: start an instance, handle a command.

Pure: (route, instance, command, now, org lookup) -> Result. Nothing is read
from a clock, a database or the network; the input instance is never changed
(the engine works on a deep copy). Services persist the result: the instance
with its version, the timeline entries, the events (through the outbox) and
the timers to set and cancel.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.calendar import BusinessCalendar
from services.workflow.assign import lookup
from services.workflow.commands import (
    AddReviewer,
    Cancel,
    Command,
    CompleteSubtask,
    Decide,
    Delegate,
    Resubmit,
    Resume,
    Suspend,
    Take,
    TimerFired,
)
from services.workflow.context import Run
from services.workflow.decisions import acting_for, decide, open_task
from services.workflow.errors import Conflict, Forbidden, Invalid, NoAssignee, NotFound
from services.workflow.flow import (
    cancel_instance,
    cancel_task,
    complete_step,
    create_task,
    enter_list,
    settle,
)
from services.workflow.model import Assignee, Instance, OrgLookup, Result
from services.workflow.routes import ROOT, ApprovalStep, AssigneeRule, Route, WaitUntilStep
from services.workflow.sla import WATCH_KINDS, fire


def _aware(now: datetime) -> datetime:
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise Invalid("now must be a datetime with a time zone", [{"loc": ["now"], "msg": "naive"}])
    return now


class WorkflowEngine:
    """Runs routes in working time of one business calendar."""

    def __init__(self, calendar: BusinessCalendar | None = None) -> None:
        self.calendar = calendar or BusinessCalendar()

    def start(
        self,
        route: Route,
        card: dict[str, Any],
        initiator_id: str,
        now: datetime,
        org: OrgLookup,
        *,
        instance_id: str | None = None,
    ) -> Result:
        """A new instance of ``route`` for ``card``, its first tasks assigned."""
        now = _aware(now)
        if not initiator_id:
            raise Invalid(
                "an instance needs an initiator", [{"loc": ["initiator_id"], "msg": "required"}]
            )
        instance = Instance(
            id=instance_id or uuid.uuid4().hex,
            route_id=route.id,
            route_version=route.version,
            initiator_id=initiator_id,
            card=_copy_card(card),
            created_at=now,
            updated_at=now,
        )
        run = Run(route, instance, now, org, self.calendar)
        run.log(
            "instance.started",
            actor_id=initiator_id,
            data={"route_id": route.id, "route_version": route.version},
        )
        run.emit("instance.started", initiator_id=initiator_id, route_version=route.version)
        enter_list(run, ROOT)
        settle(run)
        return run.result()

    def handle(
        self, route: Route, instance: Instance, command: Command, now: datetime, org: OrgLookup
    ) -> Result:
        """Apply ``command`` to a copy of ``instance``; ``version`` + 1 if anything changed."""
        now = _aware(now)
        if (route.id, route.version) != (instance.route_id, instance.route_version):
            raise Invalid(
                f"instance runs route {instance.route_id} v{instance.route_version}, "
                f"not {route.id} v{route.version}: keep old route versions loadable"
            )
        expected = command.expected_version
        if expected is not None and expected != instance.version:
            raise Conflict(
                f"the instance changed meanwhile (version {instance.version}, "
                f"you saw {expected}); reload it",
                [{"loc": ["expected_version"], "msg": f"current version is {instance.version}"}],
            )
        run = Run(route, instance.copy(), now, org, self.calendar)
        if isinstance(command, Decide):
            decide(
                run,
                command.task_id,
                command.actor_id,
                command.action,
                command.comment,
                command.reason_code,
                command.outputs,
            )
        elif isinstance(command, CompleteSubtask):
            task = open_task(run, command.task_id)
            if task.kind != "subtask":
                raise Invalid(f"task {task.id} is not a subtask; decide it instead")
            decide(
                run,
                command.task_id,
                command.actor_id,
                "complete",
                command.comment,
                None,
                command.outputs,
            )
        elif isinstance(command, Take):
            _take(run, command)
        elif isinstance(command, AddReviewer):
            _add_reviewer(run, command)
        elif isinstance(command, Delegate):
            _delegate(run, command)
        elif isinstance(command, Resubmit):
            _resubmit(run, command)
        elif isinstance(command, Suspend):
            _suspend(run, command)
        elif isinstance(command, Resume):
            _resume(run, command)
        elif isinstance(command, TimerFired):
            _timer_fired(run, command)
        elif isinstance(command, Cancel):
            _cancel(run, command)
        else:  # pragma: no cover - the type union is closed
            raise Invalid(f"unknown command {type(command).__name__}")
        settle(run)
        if run.changed():
            run.instance.version += 1
            run.instance.updated_at = now
        return run.result()


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _copy_card(card: dict[str, Any]) -> dict[str, Any]:
    """A JSON-normal copy: a fresh instance and one loaded from JSONB must behave the same."""
    if not isinstance(card, dict):
        raise Invalid("the card is a JSON object", [{"loc": ["card"], "msg": "not an object"}])
    try:
        result: dict[str, Any] = json.loads(json.dumps(card, default=_json_value))
    except (TypeError, ValueError) as exc:
        raise Invalid(
            f"the card is not plain JSON: {exc}", [{"loc": ["card"], "msg": str(exc)}]
        ) from None
    return result


def _take(run: Run, command: Take) -> None:
    task = open_task(run, command.task_id)
    on_behalf_of = acting_for(run, task, command.actor_id)
    if task.taken_at is not None:
        return
    task.taken_at = run.now
    run.cancel_timers(task.id, WATCH_KINDS)
    run.log(
        "task.taken",
        actor_id=command.actor_id,
        on_behalf_of=on_behalf_of,
        step_id=task.step_id,
        task_id=task.id,
    )
    run.emit(
        "task.taken",
        task_id=task.id,
        step_id=task.step_id,
        actor_id=command.actor_id,
        on_behalf_of=on_behalf_of,
    )


def _add_reviewer(run: Run, command: AddReviewer) -> None:
    instance = run.instance
    state = instance.steps.get(command.step_id)
    if command.step_id not in run.route.index.steps:
        raise NotFound(f"step {command.step_id} is not in route {run.route.id}")
    step = run.route.step(command.step_id)
    if not isinstance(step, ApprovalStep):
        raise Invalid(f"step {step.id} is not an approval; reviewers are added to approvals")
    if not step.allow_extra_reviewers:
        raise Invalid(f"step {step.id} does not take extra reviewers")
    if instance.state != "running" or state is None or state.status != "active":
        raise Conflict(f"step {step.id} is not open now")
    step_tasks = [t for t in instance.open_tasks() if t.step_id == step.id]
    if command.actor_id != instance.initiator_id:
        allowed = False
        for task in step_tasks:
            try:
                acting_for(run, task, command.actor_id)
            except Forbidden:
                continue
            allowed = True
            break
        if not allowed:
            raise Forbidden(f"{command.actor_id} may not add reviewers to step {step.id}")
    people, _ = lookup(run, [AssigneeRule(user=command.user_id)])
    if not people:
        raise NoAssignee(
            f"user {command.user_id} cannot review: the org directory does not know them"
        )
    person = people[0]
    this_round = [
        t
        for t in instance.tasks.values()
        if t.step_id == step.id and t.round == instance.round and t.state != "cancelled"
    ]
    if any(t.assignee_id == person.user_id or t.slot == command.user_id for t in this_round):
        raise Conflict(f"{command.user_id} already has a task on step {step.id} in this round")
    reviewers = instance.extra_reviewers.setdefault(step.id, [])
    if command.user_id not in reviewers:
        reviewers.append(command.user_id)
    run.log(
        "reviewer.added",
        actor_id=command.actor_id,
        step_id=step.id,
        comment=command.comment,
        data={"user_id": command.user_id},
    )
    create_task(run, step.id, "approval", person, added_by=command.actor_id)


def _delegate(run: Run, command: Delegate) -> None:
    """The task moves to the colleague, still in the name of the person it was for.

    The old task is cancelled and a new one created for the delegate with
    ``on_behalf_of`` the original holder, so the decision reads "X on behalf of Y".
    The delegate gets the step's SLA afresh from now (documented in docs/workflow.md).
    """
    task = open_task(run, command.task_id)
    acting_for(run, task, command.actor_id)
    if command.user_id in (task.assignee_id, task.slot):
        raise Conflict(f"task {task.id} is already with {command.user_id}")
    people, _ = lookup(run, [AssigneeRule(user=command.user_id)])
    if not people:
        raise NoAssignee(
            f"user {command.user_id} cannot take the task: the org directory does not know them"
        )
    delegate = people[0]
    cancel_task(run, task, "delegated")
    run.log(
        "task.delegated",
        actor_id=command.actor_id,
        step_id=task.step_id,
        task_id=task.id,
        comment=command.comment,
        data={"to": delegate.user_id, "for": task.slot},
    )
    create_task(
        run,
        task.step_id,
        task.kind,
        Assignee(delegate.user_id, on_behalf_of=task.slot),
        subtask_id=task.subtask_id,
        added_by=command.actor_id,
    )


def _resubmit(run: Run, command: Resubmit) -> None:
    instance = run.instance
    if instance.state != "returned":
        raise Conflict(f"only a returned instance can be resubmitted; this one is {instance.state}")
    if command.actor_id not in instance.returned_to:
        raise Forbidden(
            f"{command.actor_id} may not resubmit; the rework is with {instance.returned_to}"
        )
    if command.card is not None:
        instance.card = _copy_card(command.card)
    instance.round += 1
    instance.resubmitted = True
    instance.state = "running"
    instance.returned_to = []
    instance.steps = {}
    run.log(
        "instance.resubmitted",
        actor_id=command.actor_id,
        comment=command.comment,
        data={"card_changed": command.card is not None},
    )
    run.emit("instance.resubmitted", actor_id=command.actor_id, comment=command.comment)
    enter_list(run, ROOT)


def _suspend(run: Run, command: Suspend) -> None:
    instance = run.instance
    if instance.suspended_at is not None:
        raise Conflict("the process is already paused")
    if instance.state != "running":
        raise Conflict(f"only a running process is paused; this one is {instance.state}")
    waiting = [
        s.step_id
        for s in instance.steps.values()
        if s.status == "active" and isinstance(run.route.step(s.step_id), WaitUntilStep)
    ]
    if waiting:
        raise Conflict(f"step {waiting[0]} waits for a date; such a process is not paused")
    instance.held = sorted(instance.timers.values(), key=lambda t: (t.fire_at, t.id))
    for timer in instance.held:
        run.cancel_timer(timer.id)
    instance.suspended_at = run.now
    run.log(
        "instance.suspended",
        actor_id=command.actor_id,
        comment=command.comment,
        data={"held_timers": len(instance.held)},
    )
    run.emit("instance.suspended", actor_id=command.actor_id, comment=command.comment)


def _resume(run: Run, command: Resume) -> None:
    """Each held timer is set again with the working time it still had when the pause
    began; the watch's anchors and the shown deadlines move by the paused time."""
    instance = run.instance
    since = instance.suspended_at
    if since is None:
        raise Conflict("the process is not paused")
    calendar = run.calendar
    paused = calendar.working_time_between(since, run.now)
    for held in instance.held:
        left = calendar.working_time_between(since, held.fire_at)
        fire_at = calendar.add_working_time(run.now, left) if held.fire_at > since else run.now
        run.set_timer(held.kind, fire_at, held.step_id, held.task_id)
        task = instance.tasks.get(held.task_id or "")
        if held.kind == "due" and task is not None:
            task.due_at = fire_at
    for task in instance.open_tasks():
        task.watch_from = calendar.add_working_time(task.watch_from or task.created_at, paused)
        if task.reminded_at is not None:
            task.reminded_at = calendar.add_working_time(task.reminded_at, paused)
    instance.held = []
    instance.suspended_at = None
    minutes = int(paused.total_seconds() // 60)
    run.log(
        "instance.resumed",
        actor_id=command.actor_id,
        comment=command.comment,
        data={"paused_working_minutes": minutes},
    )
    run.emit("instance.resumed", actor_id=command.actor_id, paused_working_minutes=minutes)


def _timer_fired(run: Run, command: TimerFired) -> None:
    instance = run.instance
    if instance.suspended_at is not None:
        return  # its timers were taken off when it paused; a late sweep changes nothing
    timer = instance.timers.get(command.timer.id)
    if timer is None:
        # Cancelled or already handled: the sweeper may race with a decision.
        return
    if run.now < timer.fire_at:
        raise Invalid(f"timer {timer.id} is due at {timer.fire_at.isoformat()}, not yet")
    run.forget_fired(timer.id)
    if timer.kind == "wait":
        state = instance.steps.get(timer.step_id)
        if state is not None and state.status == "active":
            run.log("wait.ended", step_id=timer.step_id, data={"until": timer.fire_at.isoformat()})
            complete_step(run, timer.step_id)
        return
    task = instance.tasks.get(timer.task_id or "")
    if task is None or task.state != "open":
        return
    fire(run, task, timer)


def _cancel(run: Run, command: Cancel) -> None:
    instance = run.instance
    if instance.state not in ("running", "waiting", "returned"):
        raise Conflict(f"the instance is already {instance.state}")
    instance.held, instance.suspended_at = [], None
    if command.actor_id != instance.initiator_id and not command.as_admin:
        raise Forbidden(f"{command.actor_id} may not cancel this instance")
    cancel_instance(run, command.actor_id, command.comment)


_default: WorkflowEngine | None = None


def default_engine() -> WorkflowEngine:
    global _default
    if _default is None:
        _default = WorkflowEngine()
    return _default


def start(
    route: Route,
    card: dict[str, Any],
    initiator_id: str,
    now: datetime,
    org: OrgLookup,
    *,
    instance_id: str | None = None,
) -> Result:
    """``WorkflowEngine().start`` on the default calendar (Europe/Moscow, 09:00-18:00)."""
    return default_engine().start(route, card, initiator_id, now, org, instance_id=instance_id)


def handle(
    route: Route, instance: Instance, command: Command, now: datetime, org: OrgLookup
) -> Result:
    """``WorkflowEngine().handle`` on the default calendar."""
    return default_engine().handle(route, instance, command, now, org)
