"""Task, parallel, condition and wait steps; assignee rules, deputies and fallbacks."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.workflow.commands import CompleteSubtask, Decide, Take, TimerFired
from services.workflow.errors import Forbidden, Invalid, NoAssignee
from tests.unit.workflow.fakes import Driver, at, company, example, route

FILE = str(uuid.uuid4())


def payment(**card: Any) -> Driver:
    flow = Driver(
        example("payment_request"), card={"amount": "25000.00", "cost_item": "rent", **card}
    )
    flow.decide("olga")
    flow.decide("fedor")
    return flow


# -- task steps and subtasks --------------------------------------------------


def test_payment_needs_the_task_and_its_subtask() -> None:
    flow = payment()
    assert flow.instance.responsible == ["chris", "julia"]
    kinds = {t.assignee_id: (t.kind, t.subtask_id) for t in flow.instance.open_tasks()}
    assert kinds == {"chris": ("task", None), "julia": ("subtask", "payment_order")}
    flow.decide("chris", "complete", outputs={"payment_date": "2025-03-17"})
    assert flow.state() == "running"
    assert flow.instance.responsible == ["julia"]
    flow.do(CompleteSubtask(flow.task("julia").id, "julia", outputs={"payment_order_file": FILE}))
    assert flow.state() == "completed"
    assert flow.instance.decisions[-1].outputs == {"payment_order_file": FILE}


def test_the_subtask_may_finish_first() -> None:
    flow = payment()
    flow.do(CompleteSubtask(flow.task("julia").id, "julia", outputs={"payment_order_file": FILE}))
    assert flow.instance.responsible == ["chris"]
    flow.decide("chris", "complete", outputs={"payment_date": "2025-03-17"})
    assert flow.state() == "completed"


def test_completing_without_required_outputs_is_refused() -> None:
    flow = payment()
    with pytest.raises(Invalid) as caught:
        flow.decide("chris", "complete")
    assert caught.value.errors == [
        {"loc": ["outputs", "payment_date"], "msg": "required output (date) is missing"}
    ]
    with pytest.raises(Invalid, match="outputs payment_order_file"):
        flow.do(
            CompleteSubtask(
                flow.task("julia").id, "julia", outputs={"payment_order_file": "scan.pdf"}
            )
        )
    with pytest.raises(Invalid) as caught:
        flow.decide("chris", "complete", outputs={"payment_date": "2025-03-17", "extra": "1"})
    assert caught.value.errors == [
        {"loc": ["outputs", "extra"], "msg": "this task has no output 'extra'"}
    ]
    with pytest.raises(Invalid):
        flow.decide("chris", "complete", outputs={"payment_date": "yesterday"})
    assert flow.state() == "running"


def test_complete_subtask_is_only_for_subtasks() -> None:
    flow = payment()
    with pytest.raises(Invalid, match="not a subtask"):
        flow.do(CompleteSubtask(flow.task("chris").id, "chris", outputs={}))
    with pytest.raises(Forbidden):
        flow.do(
            CompleteSubtask(flow.task("julia").id, "chris", outputs={"payment_order_file": FILE})
        )


def test_a_registration_number_output_is_kept_in_the_decision_and_the_timeline() -> None:
    flow = Driver(
        example("outgoing_letter"), card={"executor_id": "ivan", "control_date": "2025-04-01"}
    )
    flow.decide("dmitry")
    flow.decide("lena", "complete", outputs={"registration_number": " ИСХ-17 "})
    assert flow.instance.decisions[-1].outputs == {"registration_number": "ИСХ-17"}
    assert flow.timeline[-3].data == {"outputs": {"registration_number": "ИСХ-17"}}


def test_task_mode_all_needs_each_assignee() -> None:
    flow = Driver(
        example("incoming_letter"),
        card={"counterparty_category": "tenant", "responsible_id": "ivan"},
    )
    assert flow.instance.responsible == ["ivan", "dmitry"]
    flow.decide("dmitry", "complete")
    assert flow.instance.responsible == ["ivan"]
    flow.decide("ivan", "complete")
    assert flow.state() == "completed"


# -- parallel -----------------------------------------------------------------


def parallel() -> Driver:
    flow = Driver(example("contract_approval_parallel"))
    flow.decide("olga")
    flow.decide("pavel")
    return flow


def test_parallel_branches_join_when_all_end() -> None:
    flow = parallel()
    assert flow.open_steps() == ["finance", "legal"]
    flow.decide("fedor")
    assert flow.open_steps() == ["legal"]
    flow.decide("lena")
    assert flow.open_steps() == ["accounting"]
    assert flow.instance.steps["review"].status == "completed"


def test_a_return_in_one_branch_returns_the_whole_instance() -> None:
    flow = parallel()
    result = flow.decide(
        "lena", "return", comment="charter missing", reason_code="missing_documents"
    )
    assert flow.state() == "returned"
    assert flow.instance.open_tasks() == []
    assert [e.payload["assignee_id"] for e in result.events if e.type == "task.cancelled"] == [
        "fedor"
    ]
    assert flow.instance.steps["review"].status == "cancelled"


def test_a_reject_in_one_branch_rejects_the_whole_instance() -> None:
    flow = parallel()
    flow.decide("fedor")
    flow.decide("lena", "reject", comment="sanctions list", reason_code="unacceptable_terms")
    assert flow.state() == "rejected"
    assert flow.instance.timers == {}


# -- conditions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "first"),
    [
        ("tenant", ["ivan", "dmitry"]),
        ("government", ["cyril"]),
        ("bank", ["cyril"]),
        (None, ["cyril"]),
    ],
)
def test_condition_picks_the_branch_by_card_field(category: str | None, first: list[str]) -> None:
    card: dict[str, Any] = {"responsible_id": "ivan"}
    if category is not None:
        card["counterparty_category"] = category
    flow = Driver(example("incoming_letter"), card=card)
    assert flow.instance.responsible == first
    chosen = next(e for e in flow.timeline if e.action == "condition.chosen")
    assert chosen.data["branch"] == ("tenant" if category == "tenant" else "ceo_first")


def amount_route() -> Any:
    return route(
        [
            {
                "id": "by_amount",
                "kind": "condition",
                "field": "amount",
                "cases": [
                    {"gte": 1000000, "branch": "big"},
                    {"field": "urgent", "equals": True, "branch": "big"},
                    {"lt": 1000, "branch": "none"},
                ],
                "default": "small",
                "branches": [
                    {
                        "id": "big",
                        "steps": [
                            {"id": "ceo", "kind": "approval", "assignees": [{"role": "ceo"}]}
                        ],
                    },
                    {
                        "id": "small",
                        "steps": [
                            {
                                "id": "fin",
                                "kind": "approval",
                                "assignees": [{"role": "finance_manager"}],
                            }
                        ],
                    },
                    {"id": "none", "steps": []},
                ],
            },
            {"id": "pay", "kind": "task", "assignees": [{"role": "accountant"}]},
        ]
    )


@pytest.mark.parametrize(
    ("card", "responsible"),
    [
        ({"amount": "1500000.00"}, ["cyril"]),
        ({"amount": 1000000}, ["cyril"]),
        ({"amount": "999999.99"}, ["fedor"]),
        ({"amount": "999999.99", "urgent": True}, ["cyril"]),
        ({"amount": "500"}, ["anna"]),  # the empty branch goes straight on
        ({"amount": "a lot"}, ["fedor"]),  # not a number: no case matches
    ],
)
def test_condition_compares_numbers_in_decimal_strings(
    card: dict[str, Any], responsible: list[str]
) -> None:
    assert Driver(amount_route(), card=card).instance.responsible == responsible


# -- wait_until -----------------------------------------------------------------


def outgoing(control_date: str) -> Driver:
    flow = Driver(
        example("outgoing_letter"), card={"executor_id": "ivan", "control_date": control_date}
    )
    flow.decide("dmitry")
    flow.decide("lena", "complete", outputs={"registration_number": "17"})
    flow.decide("dmitry")
    flow.decide("ivan", "complete", outputs={"sent_copy": FILE})
    return flow


def test_wait_until_pauses_until_the_control_date() -> None:
    flow = outgoing("2025-03-20")
    assert flow.state() == "waiting"
    assert flow.instance.responsible == []
    assert flow.last.events[-1].type == "instance.waiting"
    timer = next(t for t in flow.instance.timers.values() if t.kind == "wait")
    assert timer.fire_at == at(2025, 3, 20, 10)  # the route's "at: 10:00"
    with pytest.raises(Invalid, match="not yet"):
        flow.do(TimerFired(timer), at(2025, 3, 20, 9, 59))
    flow.do(TimerFired(timer), at(2025, 3, 20, 10))
    assert flow.state() == "running"
    assert flow.instance.responsible == ["ivan"]
    assert flow.task("ivan").step_id == "check_reaction"


def test_a_control_date_on_a_day_off_wakes_at_the_next_working_moment() -> None:
    flow = outgoing("2025-03-22")  # a Saturday
    assert [t.fire_at for t in flow.instance.timers.values()] == [at(2025, 3, 24, 9)]


def test_wait_until_a_past_date_goes_straight_on() -> None:
    flow = outgoing("2025-01-10")
    assert flow.state() == "running"
    assert flow.task("ivan").step_id == "check_reaction"
    assert any(e.action == "wait.skipped" and e.data["why"] == "past" for e in flow.timeline)


def test_wait_until_without_the_field_goes_on_and_says_why() -> None:
    flow = Driver(
        route(
            [
                {"id": "w", "kind": "wait_until", "field": "control_date"},
                {"id": "t", "kind": "task", "assignees": [{"role": "pto"}]},
            ]
        )
    )
    assert flow.instance.responsible == ["pavel"]
    assert [e.data.get("why") for e in flow.timeline if e.action == "wait.skipped"] == [
        "field empty or not a date"
    ]


def test_wait_until_a_datetime_field_fires_at_that_moment() -> None:
    flow = Driver(
        route(
            [
                {"id": "w", "kind": "wait_until", "field": "meeting"},
                {"id": "t", "kind": "task", "assignees": [{"role": "pto"}]},
            ]
        ),
        card={"meeting": "2025-03-19T15:30:00+03:00"},
    )
    assert [t.fire_at for t in flow.instance.timers.values()] == [at(2025, 3, 19, 15, 30)]
    flow.fire_until(at(2025, 3, 20))
    assert flow.instance.responsible == ["pavel"]


# -- assignees, deputies, fallbacks ------------------------------------------------


def test_department_head_of_a_card_field() -> None:
    r = route([{"id": "a", "kind": "approval", "assignees": [{"department_head_of": "curator"}]}])
    assert Driver(r, card={"curator_id": "sergey"}).instance.responsible == ["sergey"]
    assert Driver(
        route([{"id": "a", "kind": "approval", "assignees": [{"department_head_of": "initiator"}]}])
    ).instance.responsible == ["olga"]


def test_a_deputy_gets_the_task_of_an_absent_person_and_acts_on_their_behalf() -> None:
    org = company()
    org.deputies["lena"] = "lev"
    flow = Driver(
        route([{"id": "legal", "kind": "approval", "assignees": [{"role": "lawyer"}]}]), org=org
    )
    task = flow.task("lev")
    assert task.on_behalf_of == "lena"
    flow.decide("lev", "approve")
    decision = flow.instance.decisions[-1]
    assert (decision.actor_id, decision.on_behalf_of, decision.assignee_id) == (
        "lev",
        "lena",
        "lena",
    )
    entry = next(e for e in flow.timeline if e.action == "approve")
    assert (entry.actor_id, entry.on_behalf_of) == ("lev", "lena")


def test_a_deputy_appointed_after_assignment_may_act() -> None:
    org = company()
    flow = Driver(
        route([{"id": "legal", "kind": "approval", "assignees": [{"role": "lawyer"}]}]), org=org
    )
    task = flow.task("lena")
    with pytest.raises(Forbidden):
        flow.do(Decide(task.id, "lev", "approve"))
    org.deputies["lena"] = "lev"  # Lena fell ill
    flow.do(Take(task.id, "lev"))
    flow.do(Decide(task.id, "lev", "approve"))
    assert flow.instance.decisions[-1].on_behalf_of == "lena"


def test_the_absent_person_back_at_work_may_still_act_themselves() -> None:
    org = company()
    org.deputies["lena"] = "lev"
    flow = Driver(
        route([{"id": "legal", "kind": "approval", "assignees": [{"role": "lawyer"}]}]), org=org
    )
    flow.do(Decide(flow.task("lev").id, "lena", "approve"))
    assert (flow.instance.decisions[-1].actor_id, flow.instance.decisions[-1].on_behalf_of) == (
        "lena",
        None,
    )


def test_nobody_in_the_role_falls_back_to_the_step_fallback() -> None:
    org = company()
    org.roles["lawyer"] = []
    r = route(
        [
            {
                "id": "legal",
                "kind": "approval",
                "assignees": [{"role": "lawyer"}],
                "fallback": {"role": "ceo"},
            }
        ]
    )
    flow = Driver(r, org=org)
    assert flow.instance.responsible == ["cyril"]
    assert flow.task("cyril").fallback == "fallback"
    entry = next(e for e in flow.timeline if e.action == "assignee.fallback")
    assert entry.data["why"] == ["role: lawyer: nobody"]


def test_an_empty_card_field_falls_back_to_the_escalation_role() -> None:
    r = route(
        [{"id": "exec", "kind": "task", "assignees": [{"user_field": "responsible_id"}]}],
        escalation_role="office_manager",
    )
    flow = Driver(r, card={})
    assert flow.instance.responsible == ["oleg"]
    entry = next(e for e in flow.timeline if e.action == "assignee.fallback")
    assert entry.data["used"] == "escalation_role"
    assert entry.data["why"] == ["user_field: responsible_id: card field responsible_id is empty"]


def test_nobody_at_all_refuses_the_command() -> None:
    org = company()
    org.roles["lawyer"] = []
    with pytest.raises(NoAssignee, match="step 'legal' has nobody to act"):
        Driver(
            route([{"id": "legal", "kind": "approval", "assignees": [{"role": "lawyer"}]}]), org=org
        )


def test_nobody_for_a_later_step_refuses_the_decision_that_leads_there() -> None:
    org = company()
    org.roles["lawyer"] = []
    flow = Driver(
        route(
            [
                {"id": "a", "kind": "approval", "assignees": [{"role": "pto"}]},
                {"id": "legal", "kind": "approval", "assignees": [{"role": "lawyer"}]},
            ]
        ),
        org=org,
    )
    before = flow.instance
    with pytest.raises(NoAssignee):
        flow.decide("pavel")
    assert flow.instance is before and before.open_tasks()[0].assignee_id == "pavel"
    org.roles["lawyer"] = ["lena"]
    flow.decide("pavel")
    assert flow.instance.responsible == ["lena"]
