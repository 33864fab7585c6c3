"""Approval steps: decisions, modes, rounds of rework, extra reviewers, concurrency."""

from __future__ import annotations

import uuid

import pytest

from services.workflow.commands import AddReviewer, Cancel, Decide, Resubmit
from services.workflow.errors import Conflict, Forbidden, Invalid, NotFound
from services.workflow.timeline import verify_chain
from tests.unit.workflow.fakes import Driver, at, company, example, route

CARD = {"subject": "Supply of concrete", "amount": "1500000.00", "curator_id": "ivan"}


def contract() -> Driver:
    return Driver(example("contract_approval"), card=CARD)


def test_contract_is_approved_through_every_step_in_order() -> None:
    flow = contract()
    seen = []
    for person in ("olga", "pavel", "lena", "fedor", "anna", "dmitry"):
        assert flow.instance.responsible == [person]
        seen.append(flow.open_steps()[0])
        flow.decide(person)
    assert seen == ["department_head", "pto", "legal", "finance", "accounting", "director"]
    flow.decide("rita", "complete", outputs={"signed_scan": str(uuid.uuid4())})
    flow.decide("oleg", "complete", outputs={"registration_number": "Д-2025/017"})
    assert flow.state() == "completed"
    assert flow.instance.responsible == []
    assert flow.instance.timers == {}
    assert flow.last.events[-1].type == "instance.completed"
    assert verify_chain(flow.timeline, head=flow.instance.timeline_head)
    assert [d.action for d in flow.instance.decisions] == ["approve"] * 6 + ["complete"] * 2


def test_return_needs_a_comment() -> None:
    flow = contract()
    with pytest.raises(Invalid) as caught:
        flow.decide("olga", "return")
    assert caught.value.errors == [{"loc": ["comment"], "msg": "required"}]
    with pytest.raises(Invalid):
        flow.decide("olga", "return", comment="   ")


def test_reject_needs_a_comment_and_approve_with_remarks_too() -> None:
    flow = contract()
    with pytest.raises(Invalid, match="comment is required to reject"):
        flow.decide("olga", "reject")
    with pytest.raises(Invalid, match="approve_with_remarks"):
        flow.decide("olga", "approve_with_remarks")
    flow.decide("olga", "approve_with_remarks", comment="check the penalty clause")
    assert flow.instance.decisions[-1].comment == "check the penalty clause"


def test_reason_codes_are_checked_against_the_step() -> None:
    flow = contract()
    flow.decide("olga")
    flow.decide("pavel")
    with pytest.raises(Invalid, match="reason code is required"):
        flow.decide("lena", "return", comment="no charter")
    with pytest.raises(Invalid, match="'price' is not allowed"):
        flow.decide("lena", "return", comment="no charter", reason_code="price")
    flow.decide("lena", "return", comment="no charter", reason_code="missing_documents")
    assert flow.state() == "returned"


def test_a_return_ends_the_round_and_hands_the_card_to_the_initiator() -> None:
    flow = contract()
    flow.decide("olga")
    result = flow.decide("pavel", "return", comment="drawings are missing")
    instance = flow.instance
    assert instance.state == "returned"
    assert instance.responsible == ["ivan"]
    assert instance.open_tasks() == []
    assert instance.timers == {}
    assert set(result.timers_to_cancel)  # pavel's due and reminder timers
    returned = [e for e in result.events if e.type == "instance.returned"]
    assert returned[0].payload["comment"] == "drawings are missing"
    assert returned[0].payload["returned_to"] == ["ivan"]


def test_resubmission_starts_a_new_round_showing_the_earlier_decisions() -> None:
    flow = contract()
    flow.decide("olga", "approve_with_remarks", comment="fine, but shorten the term")
    flow.decide("pavel")
    flow.decide("lena", "return", comment="no charter", reason_code="missing_documents")
    with pytest.raises(Forbidden):
        flow.do(Resubmit(actor_id="lena"))
    flow.do(
        Resubmit(actor_id="ivan", card={**CARD, "charter_file": "f-1"}, comment="charter attached")
    )
    instance = flow.instance
    assert (instance.state, instance.round, instance.resubmitted) == ("running", 2, True)
    assert instance.card["charter_file"] == "f-1"
    # department_head and pto re-ask only those who did not approve: both carry over.
    task = flow.task("lena", "legal")
    assert task.round == 2
    earlier = [(d.actor_id, d.action, d.comment, d.reason_code) for d in task.previous_decisions]
    assert earlier == [
        ("olga", "approve_with_remarks", "fine, but shorten the term", None),
        ("pavel", "approve", None, None),
        ("lena", "return", "no charter", "missing_documents"),
    ]
    carried = [e for e in flow.timeline if e.action == "approval.carried_over"]
    assert [(e.step_id, e.actor_id) for e in carried] == [
        ("department_head", "olga"),
        ("pto", "pavel"),
    ]
    assert flow.events("task.assigned")[-1]["resubmitted"] is True


def test_resubmission_all_asks_everyone_again() -> None:
    r = route(
        [
            {"id": "first", "kind": "approval", "assignees": [{"role": "pto"}]},
            {"id": "second", "kind": "approval", "assignees": [{"role": "lawyer"}]},
        ]
    )
    flow = Driver(r)
    flow.decide("pavel")
    flow.decide("lena", "return", comment="fix it")
    flow.do(Resubmit(actor_id="ivan"))
    assert flow.instance.responsible == ["pavel"]
    assert flow.task("pavel").previous_decisions[0].action == "approve"


def test_only_a_returned_instance_can_be_resubmitted() -> None:
    flow = contract()
    with pytest.raises(Conflict, match="only a returned instance"):
        flow.do(Resubmit(actor_id="ivan"))


def test_a_rejection_ends_the_instance() -> None:
    flow = contract()
    flow.decide("olga", "reject", comment="we do not work with them")
    assert flow.state() == "rejected"
    assert flow.instance.responsible == []
    assert flow.instance.timers == {}
    assert flow.last.events[-1].type == "instance.rejected"
    with pytest.raises(Conflict):
        flow.do(Resubmit(actor_id="ivan"))


def two_lawyers(**step: object) -> Driver:
    org = company()
    org.roles["lawyer"] = ["lena", "lev", "lara"]
    r = route([{"id": "legal", "kind": "approval", "assignees": [{"role": "lawyer"}], **step}])
    return Driver(r, org=org)


def test_mode_any_completes_on_the_first_approval_and_cancels_the_rest() -> None:
    flow = two_lawyers(mode="any")
    assert flow.instance.responsible == ["lena", "lev", "lara"]
    lenas_task = flow.task("lena").id
    result = flow.decide("lev")
    assert flow.state() == "completed"
    cancelled = [e.payload["assignee_id"] for e in result.events if e.type == "task.cancelled"]
    assert sorted(cancelled) == ["lara", "lena"]
    with pytest.raises(Conflict):
        flow.do(Decide(lenas_task, "lena", "approve"))


def test_mode_all_needs_every_approval() -> None:
    flow = two_lawyers(mode="all")
    flow.decide("lena")
    flow.decide("lev")
    assert flow.state() == "running"
    assert flow.instance.responsible == ["lara"]
    flow.decide("lara")
    assert flow.state() == "completed"


def test_mode_min_is_a_vote() -> None:
    flow = two_lawyers(mode="min", min_count=2)
    flow.decide("lena", "reject", comment="too risky")
    assert flow.state() == "running"  # two approvals are still possible
    flow.decide("lev")
    assert flow.state() == "running"
    flow.decide("lara")
    assert flow.state() == "completed"


def test_mode_min_rejects_once_the_vote_cannot_pass() -> None:
    flow = two_lawyers(mode="min", min_count=2)
    flow.decide("lena", "reject", comment="too risky")
    flow.decide("lev", "reject", comment="agree with Lena")
    assert flow.state() == "rejected"


def test_mode_min_is_lowered_to_the_people_there_are() -> None:
    flow = two_lawyers(mode="min", min_count=5)
    assert any(e.action == "approval.min_count_lowered" for e in flow.timeline)
    for person in ("lena", "lev"):
        flow.decide(person)
    assert flow.state() == "running"
    flow.decide("lara")
    assert flow.state() == "completed"


def test_an_extra_reviewer_can_be_added_to_an_open_approval() -> None:
    flow = contract()
    with pytest.raises(Forbidden):
        flow.do(AddReviewer(step_id="department_head", actor_id="mallory", user_id="sergey"))
    flow.do(
        AddReviewer(
            step_id="department_head", actor_id="ivan", user_id="sergey", comment="IT should see it"
        )
    )
    assert flow.instance.responsible == ["olga", "sergey"]
    assert flow.task("sergey").added_by == "ivan"
    with pytest.raises(Conflict, match="already has a task"):
        flow.do(AddReviewer(step_id="department_head", actor_id="olga", user_id="sergey"))
    with pytest.raises(Conflict, match="not open"):
        flow.do(AddReviewer(step_id="legal", actor_id="ivan", user_id="sergey"))
    with pytest.raises(NotFound):
        flow.do(AddReviewer(step_id="nope", actor_id="ivan", user_id="sergey"))
    flow.decide("olga")
    assert flow.open_steps() == ["department_head"]  # mode all: sergey must approve too
    with pytest.raises(Conflict, match="already has a task"):
        flow.do(AddReviewer(step_id="department_head", actor_id="ivan", user_id="olga"))
    flow.decide("sergey", "return", comment="no SLA annex")
    flow.do(Resubmit(actor_id="ivan"))
    # Olga's approval carries over (not_approved); the added reviewer is asked again.
    assert flow.instance.responsible == ["sergey"]


def test_a_stale_version_is_a_conflict_and_exactly_one_of_two_decisions_wins() -> None:
    flow = contract()
    snapshot = flow.instance
    task = flow.task("olga")
    version = snapshot.version
    first = flow.engine.handle(
        flow.route,
        snapshot,
        Decide(task.id, "olga", "approve", expected_version=version),
        flow.now,
        flow.org,
    )
    assert first.instance.version == version + 1
    with pytest.raises(Conflict, match="changed meanwhile"):
        flow.engine.handle(
            flow.route,
            first.instance,
            Decide(task.id, "olga", "reject", comment="no", expected_version=version),
            flow.now,
            flow.org,
        )
    with pytest.raises(Conflict, match="already decided"):
        flow.engine.handle(
            flow.route, first.instance, Decide(task.id, "olga", "approve"), flow.now, flow.org
        )


def test_the_input_instance_is_never_changed() -> None:
    flow = contract()
    before = flow.instance.to_dict()
    snapshot = flow.instance
    flow.decide("olga")
    assert snapshot.to_dict() == before
    assert flow.instance is not snapshot


def test_strangers_may_not_decide_and_unknown_tasks_are_not_found() -> None:
    flow = contract()
    with pytest.raises(Forbidden, match="mallory is neither the assignee"):
        flow.do(Decide(flow.task("olga").id, "mallory", "approve"))
    with pytest.raises(NotFound):
        flow.do(Decide("inst:t999", "olga", "approve"))
    with pytest.raises(Invalid, match="'complete' is not an action"):
        flow.decide("olga", "complete")


def test_the_initiator_or_an_admin_may_cancel() -> None:
    flow = contract()
    with pytest.raises(Forbidden):
        flow.do(Cancel(actor_id="olga"))
    flow.do(Cancel(actor_id="oksana", as_admin=True, comment="duplicate"))
    assert flow.state() == "cancelled"
    assert flow.instance.open_tasks() == []
    with pytest.raises(Conflict):
        flow.do(Cancel(actor_id="ivan"))


def test_a_command_for_another_route_version_is_refused() -> None:
    flow = contract()
    other = route([{"id": "a", "kind": "approval", "assignees": [{"role": "pto"}]}])
    with pytest.raises(Invalid, match="keep old route versions"):
        flow.engine.handle(other, flow.instance, Decide("x", "olga", "approve"), flow.now, flow.org)


def test_now_must_carry_a_time_zone() -> None:
    flow = contract()
    with pytest.raises(Invalid, match="time zone"):
        flow.engine.handle(
            flow.route,
            flow.instance,
            Decide("x", "olga", "approve"),
            at(2025, 3, 17).replace(tzinfo=None),
            flow.org,
        )
