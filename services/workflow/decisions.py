"""Deciding a task: who may, what they must supply, and what the decision does to the step."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from services.workflow.context import Run
from services.workflow.errors import Conflict, Forbidden, Invalid, NotFound
from services.workflow.flow import APPROVALS, cancel_task, complete_step, end_round
from services.workflow.model import Decision, Task
from services.workflow.routes import ApprovalStep, OutputType, TaskStep


def open_task(run: Run, task_id: str) -> Task:
    task = run.instance.tasks.get(task_id)
    if task is None:
        raise NotFound(f"task {task_id} is not in this instance")
    if run.instance.state not in ("running", "waiting"):
        raise Conflict(f"the instance is {run.instance.state}; task {task_id} is closed")
    if run.instance.suspended_at is not None:
        raise Conflict(f"the process is paused; task {task_id} waits until it goes on")
    if task.state == "done":
        raise Conflict(f"task {task_id} is already decided")
    if task.state != "open" or task.round != run.instance.round:
        raise Conflict(f"task {task_id} was cancelled")
    return task


def acting_for(run: Run, task: Task, actor_id: str) -> str | None:
    """Whom ``actor_id`` acts for on ``task`` (None: for themselves); Forbidden if nobody."""
    if actor_id == task.assignee_id:
        return task.on_behalf_of
    if actor_id == task.on_behalf_of:
        return None
    if actor_id in task.escalated_to:
        return task.slot
    # The assignee may have gone away after the task was given: their deputy now
    # may act, and the org directory is the one that knows who that is.
    for person in run.org.resolve({"kind": "user", "user_id": task.assignee_id}, run.now):
        if person.user_id == actor_id and person.on_behalf_of == task.assignee_id:
            return task.assignee_id
    raise Forbidden(
        f"{actor_id} is neither the assignee of task {task.id}, their deputy, "
        "nor an escalation target"
    )


def _clean_output(name: str, kind: OutputType, value: Any) -> str:
    if kind in ("string",):
        if not isinstance(value, str) or not value.strip():
            raise ValueError("a non-empty text is required")
        if len(value) > 1000:
            raise ValueError("at most 1000 characters")
        return value.strip()
    if kind == "file_id":
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise ValueError("a file id (UUID) is required") from None
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("a number is required")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("a number is required") from None
        if not number.is_finite():
            raise ValueError("a finite number is required")
        return str(number)
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError("a date YYYY-MM-DD is required") from None


def check_outputs(required: dict[str, OutputType], given: dict[str, Any]) -> dict[str, str]:
    errors: list[dict[str, Any]] = []
    clean: dict[str, str] = {}
    for name in given:
        if name not in required:
            errors.append({"loc": ["outputs", name], "msg": f"this task has no output {name!r}"})
    for name, kind in required.items():
        if given.get(name) is None:
            errors.append({"loc": ["outputs", name], "msg": f"required output ({kind}) is missing"})
            continue
        try:
            clean[name] = _clean_output(name, kind, given[name])
        except ValueError as exc:
            errors.append({"loc": ["outputs", name], "msg": str(exc)})
    if errors:
        names = ", ".join(str(e["loc"][1]) for e in errors)
        raise Invalid(
            f"the task cannot be completed: outputs {names} are missing or invalid", errors
        )
    return clean


def decide(
    run: Run,
    task_id: str,
    actor_id: str,
    action: str,
    comment: str | None,
    reason_code: str | None,
    outputs: dict[str, Any] | None,
) -> None:
    task = open_task(run, task_id)
    step = run.route.step(task.step_id)
    assert isinstance(step, ApprovalStep | TaskStep)
    on_behalf_of = acting_for(run, task, actor_id)
    comment = comment.strip() if comment and comment.strip() else None
    if task.kind == "subtask":
        allowed: list[str] = ["complete"]
        comment_rules: list[str] = []
        reasons: list[str] = []
    else:
        allowed, comment_rules, reasons = (
            list(step.actions),
            step.comment_rules(),
            list(step.reason_codes),
        )
    if action not in allowed:
        raise Invalid(
            f"{action!r} is not an action of this task; allowed: {', '.join(allowed)}",
            [{"loc": ["action"], "msg": f"not one of {allowed}"}],
        )
    if action in comment_rules and comment is None:
        raise Invalid(
            f"a comment is required to {action}", [{"loc": ["comment"], "msg": "required"}]
        )
    if reason_code is not None and reason_code not in reasons:
        raise Invalid(
            f"reason code {reason_code!r} is not allowed here; allowed: {reasons or 'none'}",
            [{"loc": ["reason_code"], "msg": f"not one of {reasons}"}],
        )
    if reasons and action in ("return", "reject") and reason_code is None:
        raise Invalid(
            f"a reason code is required to {action}", [{"loc": ["reason_code"], "msg": "required"}]
        )
    clean: dict[str, str] = {}
    if action == "complete":
        required = step.outputs if isinstance(step, TaskStep) and task.kind == "task" else {}
        if task.kind == "subtask" and isinstance(step, TaskStep):
            required = next(s.outputs for s in step.subtasks if s.id == task.subtask_id)
        clean = check_outputs(dict(required), dict(outputs or {}))
    elif outputs:
        raise Invalid(
            "outputs go with 'complete' only", [{"loc": ["outputs"], "msg": "unexpected"}]
        )

    decision = Decision(
        round=run.instance.round,
        step_id=task.step_id,
        task_id=task.id,
        assignee_id=task.slot,
        actor_id=actor_id,
        on_behalf_of=on_behalf_of,
        action=action,
        at=run.now,
        comment=comment,
        reason_code=reason_code,
        outputs=clean,
    )
    task.state = "done"
    task.decision = decision
    run.instance.decisions.append(decision)
    run.cancel_timers(task.id)
    run.log(
        action,
        actor_id=actor_id,
        on_behalf_of=on_behalf_of,
        step_id=task.step_id,
        task_id=task.id,
        comment=comment,
        reason_code=reason_code,
        data={"outputs": clean} if clean else {},
    )
    run.emit(
        "task.decided",
        task_id=task.id,
        step_id=task.step_id,
        action=action,
        actor_id=actor_id,
        on_behalf_of=on_behalf_of,
        comment=comment,
        reason_code=reason_code,
        outputs=clean,
    )
    if isinstance(step, ApprovalStep):
        _after_approval(run, step, decision)
    else:
        _after_task(run, step, task, decision)


def _step_tasks(run: Run, step_id: str) -> list[Task]:
    return [
        t
        for t in run.instance.tasks.values()
        if t.step_id == step_id and t.round == run.instance.round
    ]


def _after_approval(run: Run, step: ApprovalStep, decision: Decision) -> None:
    if decision.action == "return":
        end_round(run, "returned", decision)
        return
    state = run.instance.steps[step.id]
    tasks = _step_tasks(run, step.id)
    approvals = len(state.carried) + sum(
        1 for t in tasks if t.decision is not None and t.decision.action in APPROVALS
    )
    still_open = sum(1 for t in tasks if t.state == "open")
    required = state.required or 1
    if decision.action == "reject":
        # In a vote a "no" only ends the instance once the vote cannot pass.
        if step.mode != "min" or approvals + still_open < required:
            end_round(run, "rejected", decision)
        return
    if step.mode == "all":
        if still_open == 0:
            complete_step(run, step.id)
    elif approvals >= required:
        complete_step(run, step.id)


def _after_task(run: Run, step: TaskStep, task: Task, decision: Decision) -> None:
    if decision.action in ("return", "reject"):
        end_round(run, "returned" if decision.action == "return" else "rejected", decision)
        return
    tasks = _step_tasks(run, step.id)
    group = [t for t in tasks if t.kind == task.kind and t.subtask_id == task.subtask_id]
    if task.kind == "subtask" or step.mode == "any":
        # One completion settles the group; the others are no longer needed.
        for other in group:
            if other.state == "open":
                cancel_task(run, other, "done by someone else")
    main = [t for t in tasks if t.kind == "task"]
    main_done = any(t.state == "done" for t in main) and not any(t.state == "open" for t in main)
    subtasks_done = all(
        any(t.state == "done" for t in tasks if t.subtask_id == sub.id) for sub in step.subtasks
    )
    if main_done and subtasks_done:
        complete_step(run, step.id)
