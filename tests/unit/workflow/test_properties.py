"""Random sequences of commands keep the engine's promises.

Whatever people click, in whatever order, and whenever timers fire: a running
instance always has someone responsible, a task is decided at most once, two
commands based on the same version never both win, refusals change nothing,
and the timeline stays one unbroken chain.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.workflow.commands import (
    AddReviewer,
    Cancel,
    Command,
    Decide,
    Resubmit,
    Take,
    TimerFired,
)
from services.workflow.errors import Conflict, WorkflowError
from services.workflow.model import Instance, Task, Timer
from services.workflow.routes import ApprovalStep, Route, TaskStep
from services.workflow.timeline import verify_chain
from tests.unit.workflow.fakes import Driver, FakeOrg, at, company, example, route

ACTIONS = ["approve", "approve_with_remarks", "return", "reject", "complete"]
STRANGERS = ["mallory", "ivan", "oksana", "lev", "sergey"]


def vote_route() -> Route:
    return route(
        [
            {
                "id": "vote",
                "kind": "approval",
                "assignees": [{"role": "lawyer"}],
                "mode": "min",
                "min_count": 2,
                "resubmission": "not_approved",
                "sla": {"check_every": "2wh", "remind_after": "1wd", "escalate_after": "1wh"},
            },
            {"id": "anyone", "kind": "approval", "assignees": [{"role": "lawyer"}], "mode": "any"},
            {"id": "wait", "kind": "wait_until", "field": "control_date"},
            {
                "id": "pay",
                "kind": "task",
                "assignees": [{"role": "chief_accountant"}],
                "outputs": {"number": "number"},
                "subtasks": [
                    {
                        "id": "order",
                        "assignees": [{"role": "junior_accountant"}],
                        "outputs": {"file": "file_id"},
                    }
                ],
                "sla": {"due": "4wh", "remind_after": "2wh", "escalate_after": "1wh"},
            },
        ],
        escalation_role="operations_manager",
    )


def waiting_branch_route() -> Route:
    """A wait in one branch while people work in the other: waiting and running mix."""
    return route(
        [
            {
                "id": "both",
                "kind": "parallel",
                "branches": [
                    {
                        "id": "timer",
                        "steps": [
                            {
                                "id": "until",
                                "kind": "wait_until",
                                "field": "control_date",
                                "at": "12:00",
                            },
                            {
                                "id": "check",
                                "kind": "task",
                                "assignees": [{"user_field": "executor_id"}],
                            },
                        ],
                    },
                    {
                        "id": "people",
                        "steps": [
                            {
                                "id": "review",
                                "kind": "approval",
                                "assignees": [{"role": "lawyer"}],
                                "mode": "any",
                                "sla": {"due": "1wd", "check_every": "1wh", "remind_after": "2wh"},
                            },
                        ],
                    },
                ],
            },
            {"id": "close", "kind": "approval", "assignees": [{"role": "director"}]},
        ],
        escalation_role="operations_manager",
    )


ROUTES = {
    "waiting_branch": waiting_branch_route(),
    "contract": example("contract_approval"),
    "parallel": example("contract_approval_parallel"),
    "payment": example("payment_request"),
    "incoming": example("incoming_letter"),
    "outgoing": example("outgoing_letter"),
    "vote": vote_route(),
}


def org() -> FakeOrg:
    directory = company()
    directory.roles["lawyer"] = ["lena", "lara", "leo"]
    directory.deputies["lena"] = "lev"  # Lena is away; Lev acts for her
    return directory


def valid_outputs(route_: Route, task: Task) -> dict[str, Any]:
    step = route_.step(task.step_id)
    wanted: dict[str, str] = {}
    if isinstance(step, TaskStep):
        wanted = (
            dict(step.outputs)
            if task.kind == "task"
            else next(dict(s.outputs) for s in step.subtasks if s.id == task.subtask_id)
        )
    samples = {
        "string": "N-1",
        "file_id": str(uuid.uuid4()),
        "number": "12.5",
        "date": "2025-03-20",
    }
    return {name: samples[kind] for name, kind in wanted.items()}


def _content(instance: Instance) -> dict[str, Any]:
    data = instance.to_dict()
    for key in ("version", "updated_at"):
        data.pop(key)
    return data


def check_invariants(flow: Driver, before: Instance | None) -> None:
    instance = flow.instance
    open_tasks = instance.open_tasks()
    responsible = instance.responsible
    if instance.state == "running":
        assert responsible, "a running instance has nobody responsible"
        assert {t.assignee_id for t in open_tasks} <= set(responsible)
        assert all(t.round == instance.round for t in open_tasks)
    elif instance.state == "returned":
        assert responsible == [instance.initiator_id]
        assert not open_tasks and not instance.timers
    elif instance.state == "waiting":
        assert not open_tasks
        assert any(t.kind == "wait" for t in instance.timers.values())
    else:
        assert not open_tasks and not instance.timers and responsible == []
    decided = [d.task_id for d in instance.decisions]
    assert len(decided) == len(set(decided)), "a task was decided twice"
    for task in instance.tasks.values():
        assert (task.state == "done") == (task.decision is not None)
    for timer in instance.timers.values():
        if timer.task_id is not None:
            assert instance.tasks[timer.task_id].state == "open", f"timer {timer} outlived its task"
        else:
            assert instance.steps[timer.step_id].status == "active"
    if before is not None:
        changed = _content(instance) != _content(before)
        assert instance.version == before.version + (1 if changed else 0)
    assert verify_chain(flow.timeline, head=instance.timeline_head)


def card_for(name: str, data: st.DataObject) -> dict[str, Any]:
    control = at(2025, 3, 17) + timedelta(
        days=data.draw(st.integers(-3, 10), label="control_offset")
    )
    return {
        "amount": "150000.00",
        "curator_id": "ivan",
        "responsible_id": data.draw(st.sampled_from(["ivan", "sergey"]), label="responsible"),
        "executor_id": "ivan",
        "counterparty_category": data.draw(
            st.sampled_from(["tenant", "government", "bank"]), label="cat"
        ),
        "control_date": control.date().isoformat(),
    }


def any_task(flow: Driver, data: st.DataObject) -> Task | None:
    tasks = list(flow.instance.tasks.values())
    if not tasks:
        return None
    open_tasks = [t for t in tasks if t.state == "open"]
    prefer_open = data.draw(st.integers(0, 4), label="prefer_open") > 0
    pool = open_tasks if open_tasks and prefer_open else tasks
    return data.draw(st.sampled_from(pool), label="task")


def decide_command(flow: Driver, task: Task, data: st.DataObject, version: int | None) -> Decide:
    candidates = [
        task.assignee_id,
        *([task.on_behalf_of] if task.on_behalf_of else []),
        *task.escalated_to,
    ]
    step = flow.route.step(task.step_id)
    assert isinstance(step, ApprovalStep | TaskStep)
    codes = list(step.reason_codes)
    if data.draw(st.integers(0, 3), label="plausible"):
        # Mostly what a real person would send, so that runs get deep.
        actor = data.draw(st.sampled_from(candidates), label="actor")
        allowed = ["complete"] if task.kind == "subtask" else list(step.actions)
        action = data.draw(st.sampled_from(allowed), label="action")
        needs_reason = codes and action in ("return", "reject") and task.kind != "subtask"
        reason = data.draw(st.sampled_from(codes), label="reason") if needs_reason else None
        outputs = valid_outputs(flow.route, task) if action == "complete" else {}
        return Decide(task.id, actor, action, "see remarks", reason, outputs, version)
    actor = data.draw(st.sampled_from(candidates + STRANGERS), label="actor")
    action = data.draw(st.sampled_from(ACTIONS), label="action")
    reason = data.draw(st.sampled_from([None, "bogus", *codes]), label="reason")
    comment = data.draw(st.sampled_from([None, "see remarks"]), label="comment")
    outputs = valid_outputs(flow.route, task) if data.draw(st.booleans(), label="outputs") else {}
    return Decide(task.id, actor, action, comment, reason, outputs, version)


def apply(flow: Driver, command: Command, now_shift: timedelta = timedelta(0)) -> None:
    before = flow.instance
    snapshot = before.to_dict()
    try:
        flow.do(command, flow.now + now_shift)
    except WorkflowError:
        assert flow.instance is before
        assert before.to_dict() == snapshot, "a refused command changed the instance"
        return
    assert before.to_dict() == snapshot, "the engine changed its input"
    check_invariants(flow, before)


def race(flow: Driver, data: st.DataObject) -> None:
    """Two people act from the same version: exactly one wins, the other gets Conflict.

    On the same task the loser is refused by the task's state as well; on two
    different tasks only the version stops it, as optimistic locking on the card
    demands (the loser reloads and tries again).
    """
    open_tasks = flow.instance.open_tasks()
    if not open_tasks:
        return
    one = data.draw(st.sampled_from(open_tasks), label="race_task")
    other = data.draw(st.sampled_from(open_tasks), label="race_other")
    version = flow.instance.version
    first = decide_command(flow, one, data, version)
    second = decide_command(flow, other, data, version)
    engine, snapshot = flow.engine, flow.instance
    try:
        won = engine.handle(flow.route, snapshot, first, flow.now, flow.org)
    except WorkflowError:
        return
    try:
        engine.handle(flow.route, won.instance, second, flow.now, flow.org)
    except Conflict:
        pass
    else:
        raise AssertionError("a second command on a stale version succeeded")
    flow.instance = won.instance
    flow.results.append(won)
    flow.timeline.extend(won.timeline)
    check_invariants(flow, snapshot)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(ROUTES)), data=st.data())
def test_random_commands_keep_the_engine_promises(name: str, data: st.DataObject) -> None:
    try:
        flow = Driver(ROUTES[name], org=org(), card=card_for(name, data), now=at(2025, 3, 17, 10))
    except WorkflowError:
        return
    check_invariants(flow, None)
    stale_timers: list[Timer] = []
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        op = data.draw(
            st.sampled_from(
                ["decide"] * 6
                + [
                    "race",
                    "race",
                    "take",
                    "timer",
                    "timer",
                    "stale",
                    "wait",
                    "resubmit",
                    "reviewer",
                    "cancel",
                ]
            ),
            label="op",
        )
        if op in ("decide", "take"):
            task = any_task(flow, data)
            if task is None:
                continue
            current = flow.instance.version
            version = data.draw(
                st.sampled_from([None, current, current, current - 1]), label="version"
            )
            if op == "decide":
                apply(flow, decide_command(flow, task, data, version))
            else:
                actor = data.draw(st.sampled_from([task.assignee_id, *STRANGERS]), label="taker")
                apply(flow, Take(task.id, actor, version))
        elif op == "race":
            race(flow, data)
        elif op == "timer" and flow.instance.timers:
            timer = data.draw(
                st.sampled_from(sorted(flow.instance.timers.values(), key=lambda t: t.id))
            )
            stale_timers.append(timer)
            apply(flow, TimerFired(timer), max(timedelta(0), timer.fire_at - flow.now))
        elif op == "stale" and stale_timers:
            apply(flow, TimerFired(data.draw(st.sampled_from(stale_timers))), timedelta(days=30))
        elif op == "wait":
            flow.now += timedelta(minutes=data.draw(st.integers(0, 3 * 24 * 60)))
        elif op == "resubmit":
            actor = data.draw(st.sampled_from(["ivan", "ivan", "mallory"]), label="resubmitter")
            apply(flow, Resubmit(actor_id=actor, card=card_for(name, data)))
        elif op == "reviewer":
            step_id = data.draw(
                st.sampled_from(sorted(flow.route.index.steps)), label="review_step"
            )
            actor = data.draw(st.sampled_from(["ivan", *STRANGERS, "lara"]), label="adder")
            user = data.draw(st.sampled_from([*STRANGERS, "lena", "pavel"]), label="reviewer")
            apply(flow, AddReviewer(step_id=step_id, actor_id=actor, user_id=user))
        elif op == "cancel" and data.draw(st.integers(0, 3), label="really_cancel") == 0:
            apply(
                flow,
                Cancel(actor_id=data.draw(st.sampled_from(["ivan", "mallory"]), label="canceller")),
            )
