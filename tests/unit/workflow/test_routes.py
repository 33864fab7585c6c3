"""Route definitions: the examples load, and bad routes are refused with the path and the reason."""

from __future__ import annotations

from typing import Any

import pytest

from services.calendar import WorkingDuration
from services.workflow.errors import RouteInvalid
from services.workflow.routes import ApprovalStep, DueCutoff, Route, TaskStep
from services.workflow.validation import load_route
from tests.unit.workflow.fakes import EXAMPLES, example


def approval(step_id: str = "head", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "approval", "assignees": [{"role": "lawyer"}], **extra}


def refused(steps: list[dict[str, Any]], **route: Any) -> RouteInvalid:
    with pytest.raises(RouteInvalid) as caught:
        load_route({"id": "r", "steps": steps, **route})
    return caught.value


def messages(error: RouteInvalid) -> dict[str, str]:
    from services.workflow.validation import format_loc

    return {format_loc(e["loc"]): e["msg"] for e in error.errors}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_route_loads_and_survives_a_json_round_trip(path: Any) -> None:
    route = load_route(path)
    again = Route.from_dict(route.to_dict())
    assert again == route
    assert again.to_dict()["schema_version"] == 1


def test_yaml_shorthands_become_typed_values() -> None:
    route = example("payment_request")
    head = route.step("department_head")
    assert isinstance(head, ApprovalStep) and head.sla is not None
    assert head.sla.check_every == WorkingDuration(minutes=240)
    assert head.sla.remind_after == WorkingDuration(days=2)
    payment = route.step("payment")
    assert isinstance(payment, TaskStep) and payment.sla is not None
    assert isinstance(payment.sla.due, DueCutoff)
    assert payment.outputs == {"payment_date": "date"}
    assert payment.subtasks[0].outputs == {"payment_order_file": "file_id"}


def test_unknown_step_kind_is_named_with_its_path() -> None:
    error = refused([approval(), {"id": "x", "kind": "vote"}])
    assert "steps[1].kind" in messages(error)
    assert "unknown step kind" in messages(error)["steps[1].kind"]
    assert str(error).startswith("invalid route: steps[1].kind: unknown step kind")


def test_a_step_without_kind_is_refused() -> None:
    error = refused([{"id": "x", "assignees": [{"role": "lawyer"}]}])
    assert messages(error) == {"steps[0].kind": "a step needs a kind"}


def test_duplicate_step_ids_are_refused_even_inside_branches() -> None:
    error = refused(
        [
            approval("legal"),
            {
                "id": "review",
                "kind": "parallel",
                "branches": [
                    {"id": "a", "steps": [approval("legal")]},
                    {"id": "b", "steps": [approval("finance")]},
                ],
            },
        ]
    )
    assert messages(error) == {
        "steps[1].branches[0].steps[0].id": "duplicate id 'legal': already used at steps[0]"
    }


def test_next_pointing_to_an_unknown_step_is_refused() -> None:
    error = refused([approval("a", next="nowhere"), approval("b")])
    assert messages(error) == {"steps[0].next": "next points to unknown step 'nowhere'"}


def test_next_may_not_point_backwards_or_into_another_list() -> None:
    error = refused(
        [
            approval("a"),
            approval("b", next="a"),
            {
                "id": "p",
                "kind": "parallel",
                "branches": [
                    {"id": "x", "steps": [approval("c", next="b")]},
                    {"id": "y", "steps": [approval("d")]},
                ],
            },
        ]
    )
    found = messages(error)
    assert "must point forward" in found["steps[1].next"]
    assert "is in another list" in found["steps[2].branches[0].steps[0].next"]


def test_condition_case_referring_to_no_branch_is_refused() -> None:
    error = refused(
        [
            {
                "id": "route_by",
                "kind": "condition",
                "field": "category",
                "cases": [{"equals": "tenant", "branch": "tenants"}],
                "default": "other",
                "branches": [{"id": "other", "steps": []}],
            }
        ]
    )
    assert messages(error) == {
        "steps[0].cases[0].branch": "case refers to no branch: 'tenants' is not one of ['other']"
    }


def test_condition_default_must_name_a_branch_and_cases_one_operator() -> None:
    error = refused(
        [
            {
                "id": "c",
                "kind": "condition",
                "field": "amount",
                "cases": [{"gte": 100, "lt": 5, "branch": "big"}, {"branch": "big"}],
                "default": "small",
                "branches": [{"id": "big", "steps": [approval()]}],
            }
        ]
    )
    found = messages(error)
    assert "exactly one of" in found["steps[0].cases[0]"]
    assert "found none" in found["steps[0].cases[1]"]
    assert found["steps[0].default"].startswith("default refers to no branch")


def test_return_and_reject_must_require_a_comment() -> None:
    error = refused([approval(comment_required=["reject"])])
    assert messages(error) == {
        "steps[0].comment_required": "missing comment rule: 'return' is allowed, so "
        "comment_required must list it (a return or a rejection always needs a comment)"
    }


def test_approval_actions_must_include_approve() -> None:
    error = refused([approval(actions=["return", "reject"])])
    assert "must include 'approve'" in messages(error)["steps[0].actions"]


def test_mode_min_needs_min_count() -> None:
    error = refused([approval(mode="min")])
    assert messages(error) == {
        "steps[0].min_count": "mode 'min' needs min_count (how many approvals suffice)"
    }
    error = refused([approval(mode="all", min_count=2)])
    assert "only applies to mode 'min'" in messages(error)["steps[0].min_count"]


def test_assignee_rule_typos_are_refused_at_the_field() -> None:
    error = refused([approval(assignees=[{"rol": "lawyer"}])])
    assert messages(error) == {"steps[0].assignees[0].rol": "Extra inputs are not permitted"}


def test_bad_sla_durations_are_refused_with_a_hint() -> None:
    error = refused([approval(sla={"due": "2 days"})])
    assert "steps[0].sla.due" in messages(error)
    assert "'2wd' (working days)" in messages(error)["steps[0].sla.due"]


def test_escalation_needs_a_target_and_checks_need_a_reminder() -> None:
    error = refused([approval(sla={"escalate_after": "1wh", "check_every": "4wh"})])
    found = messages(error)
    assert "escalate_to" in found["steps[0].sla.escalate_to"]
    assert "check_every needs remind_after" in found["steps[0].sla.remind_after"]
    # The route-wide escalation role is a valid target.
    load_route(
        {
            "id": "r",
            "escalation_role": "operations_manager",
            "steps": [approval(sla={"escalate_after": "1wh"})],
        }
    )


def test_a_parallel_step_needs_two_non_empty_branches() -> None:
    error = refused([{"id": "p", "kind": "parallel", "branches": [{"id": "only", "steps": []}]}])
    found = messages(error)
    assert "at least two branches" in found["steps[0].branches"]
    assert "at least one step" in found["steps[0].branches[0].steps"]


def test_all_errors_are_reported_at_once() -> None:
    error = refused([approval("a", next="zzz"), approval("a")])
    assert len(error.errors) == 2
    assert "(and 1 more)" in str(error)


def test_step_id_end_is_reserved() -> None:
    error = refused([approval("end")])
    assert "reserved" in messages(error)["steps[0].id"]


def test_invalid_yaml_is_refused_cleanly() -> None:
    with pytest.raises(RouteInvalid, match="not valid YAML"):
        load_route("id: [unclosed")
    with pytest.raises(RouteInvalid, match="a mapping"):
        load_route("- just a list")
