"""Delegation: the holder passes a task on; the colleague acts "on behalf of" them."""

from __future__ import annotations

import pytest

from services.workflow import Conflict, Delegate, Forbidden, NoAssignee
from tests.unit.workflow.fakes import Driver, example


def test_the_delegate_decides_on_behalf_of_the_holder() -> None:
    run = Driver(example("contract_approval"))
    task = run.task("olga")
    run.do(Delegate(task.id, "olga", "ivan", comment="в отпуске до пятницы"))
    assert run.instance.tasks[task.id].state == "cancelled"
    moved = run.task("ivan")
    assert moved.on_behalf_of == "olga" and moved.step_id == "department_head"
    assert run.instance.responsible == ["ivan"]
    run.decide("ivan")
    decision = run.instance.decisions[-1]
    assert (decision.actor_id, decision.on_behalf_of, decision.assignee_id) == (
        "ivan",
        "olga",
        "olga",
    )
    assert run.open_steps() == ["pto"]
    actions = [entry.action for entry in run.timeline]
    assert actions.index("task.delegated") < actions.index("approve")


def test_the_holder_may_still_act_after_delegating() -> None:
    run = Driver(example("contract_approval"))
    run.do(Delegate(run.task("olga").id, "olga", "ivan"))
    moved = run.task("ivan")
    run.do(Delegate(moved.id, "olga", "sergey"))  # and may pass it on again
    assert run.task("sergey").on_behalf_of == "olga"


def test_only_someone_who_may_act_delegates_and_not_to_the_same_person() -> None:
    run = Driver(example("contract_approval"))
    task = run.task("olga")
    with pytest.raises(Forbidden):
        run.do(Delegate(task.id, "pavel", "ivan"))
    with pytest.raises(Conflict):
        run.do(Delegate(task.id, "olga", "olga"))

    class Unknown:
        def resolve(self, rule: dict[str, str], at: object) -> list[object]:
            return []

    run.org = Unknown()  # type: ignore[assignment]
    with pytest.raises(NoAssignee):
        run.do(Delegate(task.id, "olga", "ghost"))
    assert run.instance.tasks[task.id].state == "open"
