"""Deadlines, reminders and escalations of tasks, in working time.

Per task the engine keeps at most two timers: the deadline (``due``) and one
timer of the "not started" watch, which is a chain: ``check`` every
``check_every`` until ``remind_after`` has passed since the task appeared, then
``remind``, then ``escalate`` ``escalate_after`` later (from the reminder, or
from the start when there is no reminder). Taking the task ends the chain; the
deadline stays until the task is decided.
"""

from __future__ import annotations

from datetime import date, datetime

from services.calendar import WorkingDuration
from services.workflow.assign import lookup
from services.workflow.conditions import MISSING, card_moment, card_value
from services.workflow.context import Run
from services.workflow.model import Task, Timer
from services.workflow.routes import SLA, AssigneeRule, DueCutoff, TaskStep

WATCH_KINDS = ("check", "remind", "escalate")


def sla_of(run: Run, task: Task) -> SLA | None:
    step = run.route.step(task.step_id)
    if task.subtask_id is not None and isinstance(step, TaskStep):
        for subtask in step.subtasks:
            if subtask.id == task.subtask_id:
                return subtask.sla
        return None
    return getattr(step, "sla", None)


def due_at(run: Run, sla: SLA, created: datetime) -> datetime | None:
    calendar = run.calendar
    if sla.due_field is not None:
        value = card_value(run.instance.card, sla.due_field)
        moment = None if value is MISSING else card_moment(value, calendar.tz)
        if isinstance(moment, datetime):
            return moment
        if isinstance(moment, date):
            # A due date on a day off means the last working day before it.
            day = (
                moment if calendar.is_working_day(moment) else calendar.previous_working_day(moment)
            )
            return calendar.end_of_working_day(day)
    if sla.due is None:
        return None
    base = run.instance.created_at if sla.due_from == "instance" else created
    if isinstance(sla.due, WorkingDuration):
        return calendar.add(base, sla.due)
    assert isinstance(sla.due, DueCutoff)
    start = calendar.next_working_moment(base)
    day = start.date()
    if start.timetz().replace(tzinfo=None) >= sla.due.end_of_day_if_before:
        day = calendar.next_working_day(day)
    return calendar.end_of_working_day(day)


def start_watch(run: Run, task: Task) -> None:
    """Timers for a new task: its deadline and the first link of the watch chain."""
    sla = sla_of(run, task)
    if sla is None:
        return
    task.due_at = due_at(run, sla, task.created_at)
    if task.due_at is not None:
        run.set_timer("due", task.due_at, task.step_id, task.id)
    plan_watch(run, task, sla, task.created_at)


def plan_watch(run: Run, task: Task, sla: SLA, after: datetime) -> Timer | None:
    """The next timer of the "not started" chain, if the chain is still on."""
    if task.state != "open" or task.taken_at is not None or task.escalated_at is not None:
        return None
    calendar = run.calendar
    anchor = task.watch_from or task.created_at
    if sla.remind_after is not None and task.reminded_at is None:
        remind_at = calendar.add(anchor, sla.remind_after)
        if sla.check_every is not None:
            check_at = calendar.add(after, sla.check_every)
            if check_at < remind_at:
                return run.set_timer("check", check_at, task.step_id, task.id)
        return run.set_timer("remind", remind_at, task.step_id, task.id)
    if sla.escalate_after is not None:
        base = task.reminded_at or anchor
        return run.set_timer(
            "escalate", calendar.add(base, sla.escalate_after), task.step_id, task.id
        )
    return None


def fire(run: Run, task: Task, timer: Timer) -> None:
    """Act on a watch or deadline timer of an open task."""
    sla = sla_of(run, task)
    if sla is None:
        return
    calendar = run.calendar
    if timer.kind == "due":
        run.log(
            "task.overdue",
            step_id=task.step_id,
            task_id=task.id,
            data={"due_at": _iso(task.due_at)},
        )
        run.emit(
            "task.overdue",
            task_id=task.id,
            step_id=task.step_id,
            assignee_id=task.assignee_id,
            on_behalf_of=task.on_behalf_of,
            due_at=_iso(task.due_at),
            escalated_to=list(task.escalated_to),
        )
        return
    if task.taken_at is not None:
        return
    if timer.kind == "check":
        waited = calendar.working_time_between(task.created_at, run.now)
        run.emit(
            "task.not_started",
            task_id=task.id,
            step_id=task.step_id,
            assignee_id=task.assignee_id,
            waited_working_minutes=int(waited.total_seconds() // 60),
        )
        plan_watch(run, task, sla, timer.fire_at)
    elif timer.kind == "remind":
        task.reminded_at = run.now
        run.log(
            "task.reminded",
            step_id=task.step_id,
            task_id=task.id,
            data={"assignee_id": task.assignee_id},
        )
        run.emit(
            "task.reminder",
            task_id=task.id,
            step_id=task.step_id,
            assignee_id=task.assignee_id,
            on_behalf_of=task.on_behalf_of,
            due_at=_iso(task.due_at),
        )
        plan_watch(run, task, sla, run.now)
    elif timer.kind == "escalate":
        escalate(run, task, sla)


def escalate(run: Run, task: Task, sla: SLA) -> None:
    roles = [role for role in (sla.escalate_to, run.route.escalation_role) if role]
    for role in dict.fromkeys(roles):
        people, _ = lookup(run, [AssigneeRule(role=role)])
        targets = [p.user_id for p in people if p.user_id != task.assignee_id]
        if targets:
            task.escalated_at = run.now
            task.escalated_to = targets
            run.log(
                "task.escalated",
                step_id=task.step_id,
                task_id=task.id,
                data={"role": role, "escalated_to": targets, "assignee_id": task.assignee_id},
            )
            run.emit(
                "task.escalated",
                task_id=task.id,
                step_id=task.step_id,
                assignee_id=task.assignee_id,
                on_behalf_of=task.on_behalf_of,
                role=role,
                escalated_to=targets,
            )
            return
    run.log("task.escalation_failed", step_id=task.step_id, task_id=task.id, data={"roles": roles})
    run.emit("task.escalation_failed", task_id=task.id, step_id=task.step_id, roles=roles)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
