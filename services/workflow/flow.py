"""Moving through a route: starting steps, finishing them, joining branches, ending rounds.

Steps live in lists (the route's top level, or a branch of a parallel or
condition step). A finished step hands over to its ``next``, else to the
following step of its list; the end of a list finishes its owner (a branch of
a parallel joins when its siblings are done) or, at the top, the instance.
"""

from __future__ import annotations

from datetime import datetime

from services.workflow.assign import assignees_for, lookup
from services.workflow.conditions import MISSING, card_moment, card_value, matches
from services.workflow.context import Run
from services.workflow.model import Assignee, Decision, InstanceState, StepRun, Task, TaskKind
from services.workflow.routes import (
    END,
    ROOT,
    AnyStep,
    ApprovalStep,
    AssigneeRule,
    ConditionStep,
    ParallelStep,
    TaskStep,
    WaitUntilStep,
    list_key,
)
from services.workflow.sla import start_watch

APPROVALS = ("approve", "approve_with_remarks")


def enter_list(run: Run, key: str, position: int = 0) -> None:
    steps = run.route.index.lists[key]
    if position < len(steps):
        activate(run, steps[position])
    else:
        finish_list(run, key)


def activate(run: Run, step: AnyStep) -> None:
    run.instance.steps[step.id] = StepRun(step_id=step.id, status="active", started_at=run.now)
    if isinstance(step, ApprovalStep):
        _start_approval(run, step)
    elif isinstance(step, TaskStep):
        _start_task(run, step)
    elif isinstance(step, ParallelStep):
        run.instance.steps[step.id].pending_branches = [branch.id for branch in step.branches]
        for branch in step.branches:
            enter_list(run, list_key(step.id, branch.id))
    elif isinstance(step, ConditionStep):
        _start_condition(run, step)
    else:
        _start_wait(run, step)


def create_task(
    run: Run,
    step_id: str,
    kind: TaskKind,
    person: Assignee,
    *,
    subtask_id: str | None = None,
    fallback: str | None = None,
    added_by: str | None = None,
) -> Task:
    instance = run.instance
    previous = [d for d in instance.decisions if d.round == instance.round - 1]
    task = Task(
        id=run.new_id("t"),
        step_id=step_id,
        round=instance.round,
        kind=kind,
        assignee_id=person.user_id,
        on_behalf_of=person.on_behalf_of,
        created_at=run.now,
        subtask_id=subtask_id,
        fallback=fallback,
        added_by=added_by,
        previous_decisions=previous,
    )
    instance.tasks[task.id] = task
    start_watch(run, task)
    run.log(
        "task.assigned",
        actor_id=added_by,
        step_id=step_id,
        task_id=task.id,
        data={
            "assignee_id": task.assignee_id,
            "on_behalf_of": task.on_behalf_of,
            "kind": kind,
            "subtask_id": subtask_id,
            "due_at": None if task.due_at is None else task.due_at.isoformat(),
            "fallback": fallback,
        },
    )
    run.emit(
        "task.assigned",
        task_id=task.id,
        step_id=step_id,
        kind=kind,
        subtask_id=subtask_id,
        assignee_id=task.assignee_id,
        on_behalf_of=task.on_behalf_of,
        due_at=None if task.due_at is None else task.due_at.isoformat(),
        resubmitted=instance.resubmitted,
        previous_decisions=len(previous),
    )
    return task


def _carried_over(run: Run, step: ApprovalStep, slot: str) -> Decision | None:
    """The slot's latest earlier-round decision on this step, if it was an approval."""
    for decision in reversed(run.instance.decisions):
        if (
            decision.step_id == step.id
            and decision.assignee_id == slot
            and decision.round < run.instance.round
        ):
            return decision if decision.action in APPROVALS else None
    return None


def _start_approval(run: Run, step: ApprovalStep) -> None:
    people, fallback = assignees_for(run, step.id, step.assignees, step.fallback)
    extra = run.instance.extra_reviewers.get(step.id, [])
    if extra:
        added, _ = lookup(run, [AssigneeRule(user=user_id) for user_id in extra])
        known = {p.user_id for p in people}
        people += [p for p in added if p.user_id not in known]
    state = run.instance.steps[step.id]
    asked: list[Assignee] = []
    for person in people:
        slot = person.on_behalf_of or person.user_id
        earlier = _carried_over(run, step, slot) if step.resubmission == "not_approved" else None
        if earlier is not None:
            state.carried.append(slot)
            run.log(
                "approval.carried_over",
                step_id=step.id,
                actor_id=earlier.actor_id,
                on_behalf_of=earlier.on_behalf_of,
                data={"assignee_id": slot, "from_round": earlier.round, "action": earlier.action},
            )
        else:
            asked.append(person)
    total = len(people)
    if step.mode == "all":
        state.required = total
    elif step.mode == "any":
        state.required = 1
    else:
        assert step.min_count is not None
        state.required = min(step.min_count, total)
        if state.required < step.min_count:
            run.log(
                "approval.min_count_lowered",
                step_id=step.id,
                data={"min_count": step.min_count, "people": total},
            )
    if len(state.carried) >= state.required:
        complete_step(run, step.id)
        return
    for person in asked:
        create_task(run, step.id, "approval", person, fallback=fallback)


def _start_task(run: Run, step: TaskStep) -> None:
    people, fallback = assignees_for(run, step.id, step.assignees, step.fallback)
    # Resolve everything before creating anything: a subtask without anybody
    # refuses the command as a whole.
    subtasks = [
        (sub, *assignees_for(run, f"{step.id}.{sub.id}", sub.assignees, sub.fallback))
        for sub in step.subtasks
    ]
    for person in people:
        create_task(run, step.id, "task", person, fallback=fallback)
    for sub, sub_people, sub_fallback in subtasks:
        for person in sub_people:
            create_task(run, step.id, "subtask", person, subtask_id=sub.id, fallback=sub_fallback)


def _start_condition(run: Run, step: ConditionStep) -> None:
    chosen = step.default
    matched: int | None = None
    for position, case in enumerate(step.cases):
        if matches(case, run.instance.card, step.field):
            chosen, matched = case.branch, position
            break
    value = card_value(run.instance.card, step.field)
    run.instance.steps[step.id].branch = chosen
    run.log(
        "condition.chosen",
        step_id=step.id,
        data={
            "field": step.field,
            "value": None if value is MISSING else _jsonable(value),
            "case": matched,
            "branch": chosen,
        },
    )
    enter_list(run, list_key(step.id, chosen))


def wait_moment(run: Run, step: WaitUntilStep) -> datetime | None:
    value = card_value(run.instance.card, step.field)
    moment = None if value is MISSING else card_moment(value, run.calendar.tz)
    if moment is None or isinstance(moment, datetime):
        return moment
    clock = step.at.replace(tzinfo=None) if step.at else datetime.min.time()
    return run.calendar.next_working_moment(datetime.combine(moment, clock, tzinfo=run.calendar.tz))


def _start_wait(run: Run, step: WaitUntilStep) -> None:
    until = wait_moment(run, step)
    if until is None:
        # Stopping here would leave nobody responsible and nothing to wake the
        # instance: go on, and leave a trace of why.
        run.log(
            "wait.skipped",
            step_id=step.id,
            data={"field": step.field, "why": "field empty or not a date"},
        )
        complete_step(run, step.id)
        return
    if until <= run.now:
        run.log(
            "wait.skipped",
            step_id=step.id,
            data={"field": step.field, "until": until.isoformat(), "why": "past"},
        )
        complete_step(run, step.id)
        return
    run.set_timer("wait", until, step.id)
    run.log("wait.started", step_id=step.id, data={"field": step.field, "until": until.isoformat()})


def cancel_task(run: Run, task: Task, why: str) -> None:
    task.state = "cancelled"
    run.cancel_timers(task.id)
    run.emit(
        "task.cancelled",
        task_id=task.id,
        step_id=task.step_id,
        assignee_id=task.assignee_id,
        why=why,
    )


def complete_step(run: Run, step_id: str) -> None:
    instance = run.instance
    state = instance.steps[step_id]
    state.status = "completed"
    state.completed_at = run.now
    for task in instance.open_tasks():
        if task.step_id == step_id:
            cancel_task(run, task, "step completed")
    run.log("step.completed", step_id=step_id)
    run.emit("step.completed", step_id=step_id)
    place = run.route.index.steps[step_id]
    target = place.step.next
    if target == END:
        finish_list(run, place.list_key)
    elif target is not None:
        activate(run, run.route.index.steps[target].step)
    else:
        enter_list(run, place.list_key, place.index + 1)


def finish_list(run: Run, key: str) -> None:
    if key == ROOT:
        complete_instance(run)
        return
    owner_id, branch_id = run.route.index.list_owner[key]
    owner = run.instance.steps[owner_id]
    if isinstance(run.route.step(owner_id), ParallelStep):
        if branch_id in owner.pending_branches:
            owner.pending_branches.remove(branch_id)
        if owner.pending_branches:
            return
    complete_step(run, owner_id)


def _close_round(run: Run, why: str) -> None:
    instance = run.instance
    for task in instance.open_tasks():
        cancel_task(run, task, why)
    for state in instance.steps.values():
        if state.status == "active":
            state.status = "cancelled"
            state.completed_at = run.now
    run.cancel_timers()


def end_round(run: Run, outcome: str, decision: Decision) -> None:
    """A return for rework or a rejection ends the round, in every branch at once."""
    instance = run.instance
    _close_round(run, outcome)
    details = {
        "step_id": decision.step_id,
        "task_id": decision.task_id,
        "actor_id": decision.actor_id,
        "on_behalf_of": decision.on_behalf_of,
        "comment": decision.comment,
        "reason_code": decision.reason_code,
    }
    if outcome == "returned":
        instance.state = "returned"
        instance.returned_to = [instance.initiator_id]
        run.log(
            "instance.returned",
            step_id=decision.step_id,
            data={"returned_to": instance.returned_to},
        )
        run.emit("instance.returned", returned_to=list(instance.returned_to), **details)
    else:
        instance.state = "rejected"
        run.log("instance.rejected", step_id=decision.step_id)
        run.emit("instance.rejected", initiator_id=instance.initiator_id, **details)


def complete_instance(run: Run) -> None:
    run.cancel_timers()
    run.instance.state = "completed"
    run.log("instance.completed")
    run.emit("instance.completed", initiator_id=run.instance.initiator_id)


def cancel_instance(run: Run, actor_id: str, comment: str | None) -> None:
    _close_round(run, "cancelled")
    run.instance.state = "cancelled"
    run.instance.returned_to = []
    run.log("instance.cancelled", actor_id=actor_id, comment=comment)
    run.emit("instance.cancelled", actor_id=actor_id, comment=comment)


def settle(run: Run) -> None:
    """Running while someone has a task; waiting while only a wait is pending."""
    instance = run.instance
    if instance.state not in ("running", "waiting"):
        return
    waiting = not instance.open_tasks() and any(t.kind == "wait" for t in instance.timers.values())
    new_state: InstanceState = "waiting" if waiting else "running"
    if new_state != instance.state:
        instance.state = new_state
        run.emit(f"instance.{new_state}")


def _jsonable(value: object) -> object:
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)
