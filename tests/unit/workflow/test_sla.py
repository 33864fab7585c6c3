"""Deadlines, smart reminders and escalations in working time."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.workflow.commands import Decide, Take, TimerFired
from services.workflow.errors import Forbidden
from tests.unit.workflow.fakes import Driver, at, company, example, route


def fire_times(flow: Driver, kind: str) -> list[datetime]:
    return [e.at for e in flow.timeline if e.action == kind]


def event_times(flow: Driver, kind: str) -> list[datetime]:
    return [r.instance.updated_at for r in flow.results if any(e.type == kind for e in r.events)]


def test_smart_reminders_check_every_4_hours_remind_after_2_days_then_escalate() -> None:
    flow = Driver(example("payment_request"), now=at(2025, 3, 17, 10))  # Monday
    task = flow.task("olga")
    assert task.due_at == at(2025, 3, 19, 10)
    flow.fire_until(at(2025, 3, 21, 18))
    assert event_times(flow, "task.not_started") == [
        at(2025, 3, 17, 14),
        at(2025, 3, 17, 18),
        at(2025, 3, 18, 13),
        at(2025, 3, 18, 17),
    ]
    assert event_times(flow, "task.reminder") == [at(2025, 3, 19, 10)]
    assert event_times(flow, "task.overdue") == [at(2025, 3, 19, 10)]
    assert event_times(flow, "task.escalated") == [at(2025, 3, 19, 11)]
    escalated = flow.events("task.escalated")[0]
    assert (escalated["assignee_id"], escalated["escalated_to"]) == ("olga", ["oksana"])
    # Once escalated the chain stops: nothing else fires all week.
    assert flow.instance.timers == {}
    assert flow.instance.responsible == ["olga", "oksana"]


def test_the_escalation_target_decides_on_behalf_of_the_approver() -> None:
    flow = Driver(example("payment_request"), now=at(2025, 3, 17, 10))
    task_id = flow.task("olga").id
    with pytest.raises(Forbidden):
        flow.do(Decide(task_id, "oksana", "approve"))
    flow.fire_until(at(2025, 3, 19, 11))
    flow.do(Decide(task_id, "oksana", "approve"))
    decision = flow.instance.decisions[-1]
    assert (decision.actor_id, decision.on_behalf_of) == ("oksana", "olga")
    entry = next(e for e in flow.timeline if e.action == "approve")
    assert (entry.actor_id, entry.on_behalf_of) == ("oksana", "olga")
    assert flow.instance.responsible == ["fedor"]


def test_taking_the_task_stops_the_not_started_chain_but_not_the_deadline() -> None:
    flow = Driver(example("payment_request"), now=at(2025, 3, 17, 10))
    task = flow.task("olga")
    check = next(t for t in flow.instance.timers.values() if t.kind == "check")
    result = flow.do(Take(task.id, "olga"), at(2025, 3, 17, 11))
    assert result.timers_to_cancel == [check.id]
    assert [e.type for e in result.events] == ["task.taken"]
    flow.fire_until(at(2025, 3, 28, 18))
    assert flow.events("task.reminder") == []
    assert flow.events("task.escalated") == []
    assert event_times(flow, "task.overdue") == [at(2025, 3, 19, 10)]
    # Taking twice changes nothing and costs no version.
    version = flow.instance.version
    again = flow.do(Take(task.id, "olga"))
    assert again.instance.version == version and again.timeline == []


def test_a_timer_of_a_decided_task_is_a_no_op() -> None:
    flow = Driver(example("payment_request"), now=at(2025, 3, 17, 10))
    stale = next(t for t in flow.instance.timers.values() if t.kind == "check")
    flow.decide("olga")
    version = flow.instance.version
    result = flow.do(TimerFired(stale), at(2025, 3, 17, 14))
    assert result.instance.version == version
    assert (result.timeline, result.events, result.timers_to_set) == ([], [], [])


def test_deadlines_skip_weekends_new_year_and_count_working_saturdays() -> None:
    r = route(
        [
            {
                "id": "a",
                "kind": "approval",
                "assignees": [{"role": "pto"}],
                "sla": {"due": "2wd", "remind_after": "1wd"},
            }
        ]
    )
    flow = Driver(r, now=at(2024, 12, 27, 16))  # Friday before the working Saturday
    task = flow.task("pavel")
    assert task.due_at == at(2025, 1, 9, 16)
    assert [t.fire_at for t in flow.instance.timers.values() if t.kind == "remind"] == [
        at(2024, 12, 28, 16)
    ]


def test_a_task_given_on_a_day_off_counts_from_the_next_morning() -> None:
    r = route(
        [
            {
                "id": "a",
                "kind": "approval",
                "assignees": [{"role": "pto"}],
                "sla": {"due": "2wd", "remind_after": "4wh"},
            }
        ]
    )
    flow = Driver(r, now=at(2025, 11, 2, 12))  # Sunday before the 3-4 November days off
    assert flow.task("pavel").due_at == at(2025, 11, 6, 18)
    assert [t.fire_at for t in flow.instance.timers.values() if t.kind == "remind"] == [
        at(2025, 11, 5, 13)
    ]


def test_working_hours_sla_crosses_a_short_pre_holiday_day() -> None:
    r = route(
        [{"id": "a", "kind": "approval", "assignees": [{"role": "pto"}], "sla": {"due": "16wh"}}]
    )
    flow = Driver(r, now=at(2025, 3, 6, 14))  # Thursday; Friday 7 March ends at 17:00
    # Thu 14-18 (4h) + Fri 9-17 (8h) + Mon 9-13 (4h).
    assert flow.task("pavel").due_at == at(2025, 3, 10, 13)


def approved_payment(now: datetime, **card: object) -> Driver:
    flow = Driver(example("payment_request"), card=dict(card), now=now)
    flow.decide("olga")
    flow.decide("fedor")
    return flow


def test_a_morning_payment_request_is_due_the_same_working_day() -> None:
    flow = approved_payment(at(2025, 3, 17, 11))
    assert flow.task("chris").due_at == at(2025, 3, 17, 18)


def test_an_afternoon_payment_request_is_due_the_next_working_day() -> None:
    flow = approved_payment(at(2025, 3, 14, 15))  # Friday afternoon
    assert flow.task("chris").due_at == at(2025, 3, 17, 18)


def test_a_due_date_in_the_request_wins_and_a_day_off_means_the_day_before() -> None:
    flow = approved_payment(at(2025, 3, 17, 11), due_date="2025-03-22")  # Saturday
    assert flow.task("chris").due_at == at(2025, 3, 21, 18)
    flow = approved_payment(at(2025, 3, 17, 11), due_date="2025-03-19T12:00:00+03:00")
    assert flow.task("chris").due_at == at(2025, 3, 19, 12)


def test_escalation_falls_back_to_the_route_escalation_role() -> None:
    org = company()
    org.roles["operations_manager"] = []
    org.roles["director"] = ["dmitry"]
    r = route(
        [
            {
                "id": "a",
                "kind": "approval",
                "assignees": [{"role": "pto"}],
                "sla": {
                    "remind_after": "1wh",
                    "escalate_after": "1wh",
                    "escalate_to": "operations_manager",
                },
            }
        ],
        escalation_role="director",
    )
    flow = Driver(r, org=org, now=at(2025, 3, 17, 10))
    flow.fire_until(at(2025, 3, 17, 12))
    assert flow.events("task.escalated")[0]["escalated_to"] == ["dmitry"]
    assert flow.events("task.escalated")[0]["role"] == "director"


def test_escalation_to_nobody_is_recorded_and_the_task_stays_with_its_assignee() -> None:
    org = company()
    org.roles["operations_manager"] = []
    r = route(
        [
            {
                "id": "a",
                "kind": "approval",
                "assignees": [{"role": "pto"}],
                "sla": {"escalate_after": "2wh", "escalate_to": "operations_manager"},
            }
        ]
    )
    flow = Driver(r, org=org, now=at(2025, 3, 17, 10))
    flow.fire_until(at(2025, 3, 17, 13))
    assert fire_times(flow, "task.escalation_failed") == [at(2025, 3, 17, 12)]
    assert flow.state() == "running"
    assert flow.instance.responsible == ["pavel"]


def test_the_engine_counts_in_its_own_calendar_with_official_overrides() -> None:
    from services.calendar import BusinessCalendar
    from services.workflow.engine import WorkflowEngine

    r = route(
        [{"id": "a", "kind": "approval", "assignees": [{"role": "pto"}], "sla": {"due": "1wd"}}]
    )
    calendar = BusinessCalendar(overrides={at(2025, 3, 18).date(): "holiday"})
    flow = Driver(r, now=at(2025, 3, 17, 11), engine=WorkflowEngine(calendar))
    assert flow.task("pavel").due_at == at(2025, 3, 19, 11)
    assert Driver(r, now=at(2025, 3, 17, 11)).task("pavel").due_at == at(2025, 3, 18, 11)
