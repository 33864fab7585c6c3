"""The letter routes on the pure engine, and mail_svc's rules that need no I/O."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mail_svc import domain
from mail_svc.service import load_routes
from services.auth import Identity
from services.errors import InvalidInput
from services.workflow.commands import AddReviewer, Decide, TimerFired
from services.workflow.engine import WorkflowEngine
from services.workflow.model import Instance, Result
from services.workflow.routes import Route
from tests.unit.workflow.fakes import FakeOrg, at

ORG = FakeOrg(
    roles={
        "ceo": ["ceo"],
        "director": ["director"],
        "lawyer": ["lawyer", "lawyer2"],
        "office_manager": ["office"],
    }
)
ENGINE = WorkflowEngine()


def routes() -> dict[str, Route]:
    return {r.id: r for r in load_routes()}


def card(category: str = "tenant", **extra: Any) -> dict[str, Any]:
    return {
        "counterparty_category": category,
        "responsible_id": "resp",
        "executor_id": "resp",
        "initiator_id": "office",
        "control_date": "2026-12-10",
        **extra,
    }


def open_steps(instance: Instance) -> dict[str, str]:
    return {t.assignee_id: t.step_id for t in instance.open_tasks()}


def complete(result: Result, route: Route, who: str, **outputs: str) -> Result:
    task = next(t for t in result.instance.open_tasks() if t.assignee_id == who)
    action = "complete" if task.kind != "approval" else "approve"
    return ENGINE.handle(
        route, result.instance, Decide(task.id, who, action, outputs=outputs), at(2026, 12, 2), ORG
    )


def test_the_shipped_routes_load_and_are_registered_by_id() -> None:
    assert set(routes()) == {domain.INCOMING, domain.OUTGOING}


def test_a_tenants_letter_asks_the_responsible_and_the_director_together() -> None:
    route = routes()[domain.INCOMING]
    started = ENGINE.start(route, card("tenant"), "office", at(2026, 12, 1), ORG)
    assert open_steps(started.instance) == {
        "resp": "tenant_execution",
        "director": "director_review",
    }
    execution = next(t for t in started.instance.open_tasks() if t.assignee_id == "resp")
    # Due on the control date: the end of that working day.
    assert execution.due_at == at(2026, 12, 10, 18)
    done = complete(started, route, "resp", reply_needed="yes")
    assert domain.reply_needed(done.instance) is True
    assert done.instance.state == "running"  # the director still has to read it
    assert domain.reply_needed(complete(done, route, "director").instance) is True


@pytest.mark.parametrize("category", ["government", "contractor", "supplier", "client"])
def test_other_letters_go_to_the_ceo_then_the_lawyer_then_the_responsible(category: str) -> None:
    route = routes()[domain.INCOMING]
    result = ENGINE.start(route, card(category), "office", at(2026, 12, 1), ORG)
    assert open_steps(result.instance) == {"ceo": "ceo_resolution"}
    # The CEO adds a person to his step; the route waits for them too.
    result = ENGINE.handle(
        route,
        result.instance,
        AddReviewer("ceo_resolution", "ceo", "expert"),
        at(2026, 12, 1, 11),
        ORG,
    )
    result = complete(result, route, "ceo")
    assert open_steps(result.instance) == {"expert": "ceo_resolution"}
    result = complete(result, route, "expert")
    assert open_steps(result.instance) == {"lawyer": "legal_review", "lawyer2": "legal_review"}
    result = complete(result, route, "lawyer2")
    assert open_steps(result.instance) == {"resp": "execution"}
    result = complete(result, route, "resp", reply_needed="нет")
    assert result.instance.state == "completed"
    assert domain.reply_needed(result.instance) is False


def test_an_answer_other_than_yes_or_no_is_refused() -> None:
    route = routes()[domain.INCOMING]
    result = ENGINE.start(route, card("tenant"), "office", at(2026, 12, 1), ORG)
    result = complete(result, route, "resp", reply_needed="maybe")
    with pytest.raises(InvalidInput) as caught:
        domain.reply_needed(result.instance)
    assert caught.value.errors[0]["loc"] == ["outputs", "reply_needed"]


def test_an_outgoing_letter_waits_for_the_control_date_then_asks_the_executor() -> None:
    route = routes()[domain.OUTGOING]
    result = ENGINE.start(
        route, card(letter_file_id="f-1"), "resp", at(2026, 12, 1), ORG
    )  # the file is there: no preparation
    statuses = []
    for who, outputs in (
        ("director", {}),
        ("lawyer", {}),
        ("director", {}),
        ("resp", {"delivery": "email"}),
    ):
        statuses.append(domain.status_of("outgoing", result.instance))
        result = complete(result, route, who, **outputs)
    assert statuses == ["approval", "registration", "signing", "dispatch"]
    assert domain.delivery(result.instance) == "email"
    assert result.instance.state == "waiting"
    assert domain.status_of("outgoing", result.instance) == "awaiting_reaction"
    wait = next(t for t in result.instance.timers.values() if t.kind == "wait")
    assert wait.fire_at == at(2026, 12, 10, 10)
    result = ENGINE.handle(route, result.instance, TimerFired(wait), wait.fire_at, ORG)
    assert open_steps(result.instance) == {"resp": "reaction_check"}
    assert domain.status_of("outgoing", result.instance) == "reaction_check"


def test_a_reply_without_a_file_starts_with_its_preparation() -> None:
    route = routes()[domain.OUTGOING]
    result = ENGINE.start(route, card(), "resp", at(2026, 12, 1), ORG)
    assert open_steps(result.instance) == {"resp": "preparation"}
    assert domain.status_of("outgoing", result.instance) == "preparation"


def test_delivery_is_email_or_post() -> None:
    route = routes()[domain.OUTGOING]
    result = ENGINE.start(route, card(letter_file_id="f"), "resp", at(2026, 12, 1), ORG)
    for who in ("director", "lawyer", "director"):
        result = complete(result, route, who)
    result = complete(result, route, "resp", delivery="pigeon")
    with pytest.raises(InvalidInput):
        domain.delivery(result.instance)


def test_journal_numbers_and_retry_back_off() -> None:
    assert domain.journal_number("ВХ", 2026, 7) == "ВХ-2026-0007"
    now = at(2026, 12, 1)
    waits = [domain.retry_at(now, n) - now for n in (1, 2, 3, 12, 100)]
    assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert waits[3] == waits[4] == timedelta(hours=1)


def test_who_registers_and_who_sees() -> None:
    office = Identity("o", roles=frozenset({"office_manager"}))
    sales = Identity("s", roles=frozenset({"curator"}))
    letter = domain.LetterAccess(created_by="o", responsible_id="r", participants=["p"])
    assert domain.may_register_incoming(office)
    assert not domain.may_register_incoming(sales)
    assert domain.may_view(office, letter)
    assert not domain.may_view(sales, letter)
    assert domain.may_view(Identity("r"), letter) and domain.may_view(Identity("p"), letter)
