"""Pausing a process (a payment request frozen, documents awaited) and going on."""

from __future__ import annotations

import pytest

from services.workflow import Conflict, Resume, Suspend
from services.workflow.commands import Decide
from tests.unit.workflow.fakes import Driver, at, example
from tests.unit.workflow.test_sla import event_times


def paused_from_monday_noon_to_thursday_noon() -> Driver:
    flow = Driver(example("payment_request"), now=at(2025, 3, 17, 10))  # Monday
    assert flow.task("olga").due_at == at(2025, 3, 19, 10)
    flow.do(Suspend("fedor", comment="ждём уточнения суммы"), at(2025, 3, 17, 12))
    return flow


def test_nobody_acts_and_nothing_fires_while_paused() -> None:
    flow = paused_from_monday_noon_to_thursday_noon()
    assert flow.instance.timers == {} and flow.instance.held
    assert flow.instance.responsible == ["olga"]  # still named, only waiting
    with pytest.raises(Conflict, match="paused"):
        flow.do(Decide(flow.task("olga").id, "olga", "approve"))
    with pytest.raises(Conflict, match="already paused"):
        flow.do(Suspend("fedor"))
    assert flow.fire_until(at(2025, 3, 20, 11)) == []
    assert flow.events("task.reminder") == [] and flow.events("task.overdue") == []


def test_after_a_pause_the_deadline_and_the_watch_move_by_the_paused_working_time() -> None:
    flow = paused_from_monday_noon_to_thursday_noon()
    result = flow.do(Resume("fedor"), at(2025, 3, 20, 12))  # 3 working days later
    assert result.events[-1].payload["paused_working_minutes"] == 3 * 9 * 60
    task = flow.task("olga")
    # Due Wednesday 10:00 before; the three paused days move it to Monday 10:00.
    assert task.due_at == at(2025, 3, 24, 10)
    flow.fire_until(at(2025, 3, 24, 18))
    # Reminded when two working days of *waiting* have passed, not at once, and
    # escalated one working hour after that, as without a pause.
    assert event_times(flow, "task.reminder") == [at(2025, 3, 24, 10)]
    assert event_times(flow, "task.escalated") == [at(2025, 3, 24, 11)]
    flow.decide("olga")
    assert flow.open_steps() == ["finance"]


def test_only_a_running_process_is_paused_and_only_a_paused_one_goes_on() -> None:
    flow = Driver(example("payment_request"), now=at(2025, 3, 17, 10))
    with pytest.raises(Conflict, match="not paused"):
        flow.do(Resume("fedor"))
    flow.decide("olga", "reject", comment="нет бюджета")
    with pytest.raises(Conflict, match="only a running process"):
        flow.do(Suspend("fedor"))
