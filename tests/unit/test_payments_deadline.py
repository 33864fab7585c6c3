"""The accountants' deadline (PROCESSES.md §3): a due date wins; otherwise before the
cut-off -> end of the same working day, after it -> end of the next working day;
weekends, holidays and short pre-holiday days from the production calendar.
The payment route's SLA must give the payment task the same deadline."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from payments_svc import domain
from payments_svc.service import load_routes
from payments_svc.settings import Settings
from services.calendar import BusinessCalendar
from services.workflow.commands import Decide
from services.workflow.engine import WorkflowEngine
from tests.unit.workflow.fakes import company

MSK = ZoneInfo("Europe/Moscow")
CAL = BusinessCalendar()
NOON = time(13, 0)


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=MSK)


@pytest.mark.parametrize(
    ("arrived", "due"),
    [
        (at("2026-12-07", "10:00"), at("2026-12-07", "18:00")),  # Monday morning: same day
        (at("2026-12-07", "12:59"), at("2026-12-07", "18:00")),  # a minute before noon
        (at("2026-12-07", "13:00"), at("2026-12-08", "18:00")),  # noon sharp is "after lunch"
        (at("2026-12-07", "17:30"), at("2026-12-08", "18:00")),
        (at("2026-12-07", "07:40"), at("2026-12-07", "18:00")),  # before work: counts from 09:00
        (at("2026-12-07", "19:00"), at("2026-12-08", "18:00")),  # after work: from Tuesday 09:00
        (at("2026-12-04", "14:00"), at("2026-12-07", "18:00")),  # Friday afternoon -> Monday
        (at("2026-12-05", "15:00"), at("2026-12-07", "18:00")),  # Saturday -> Monday morning
        # 30 April 2026 is a short day before the May holidays (work ends at 17:00);
        # 1 May is a holiday, 2-3 May the weekend: the next working day is 4 May.
        (at("2026-04-30", "10:00"), at("2026-04-30", "17:00")),
        (at("2026-04-30", "14:00"), at("2026-05-04", "18:00")),
        (at("2026-05-01", "10:00"), at("2026-05-04", "18:00")),  # a holiday morning
        # New Year: 31 December 2026 to 10 January 2027 are days off.
        (at("2026-12-30", "15:00"), at("2027-01-11", "18:00")),
    ],
)
def test_without_a_due_date_the_noon_rule_sets_the_deadline(
    arrived: datetime, due: datetime
) -> None:
    assert domain.accountants_deadline(CAL, arrived, None, NOON) == due


@pytest.mark.parametrize(
    ("due_date", "due"),
    [
        (date(2026, 12, 10), at("2026-12-10", "18:00")),
        (date(2026, 12, 12), at("2026-12-11", "18:00")),  # a Saturday: the Friday before
        (date(2026, 5, 1), at("2026-04-30", "17:00")),  # a holiday after a short day
        (date(2027, 1, 5), at("2026-12-30", "18:00")),  # inside the New Year holidays
    ],
)
def test_a_due_date_wins_whenever_the_request_arrives(due_date: date, due: datetime) -> None:
    for arrived in (at("2026-12-07", "10:00"), at("2026-12-07", "16:00")):
        assert domain.accountants_deadline(CAL, arrived, due_date, NOON) == due


def test_the_cut_off_is_a_setting() -> None:
    eleven = domain.parse_cutoff("11:00")
    assert domain.accountants_deadline(CAL, at("2026-12-07", "12:00"), None, eleven) == at(
        "2026-12-08", "18:00"
    )
    assert domain.accountants_deadline(CAL, at("2026-12-07", "10:59"), None, eleven) == at(
        "2026-12-07", "18:00"
    )
    routes = {
        r.id: r for r in load_routes(Settings(service_name="payments_svc", payments_cutoff="11:00"))
    }
    payment = routes["payment_request"].step("payment")
    assert payment.sla is not None and payment.sla.due.end_of_day_if_before == eleven  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        Settings(service_name="payments_svc", payments_cutoff="25:00")


def _paid_route_due(
    arrived: datetime, due_date: str | None, initiator: str
) -> tuple[datetime | None, list[str]]:
    """Run the shipped route on the pure engine up to the payment task."""
    route = {r.id: r for r in load_routes(Settings(service_name="payments_svc"))}["payment_request"]
    org = company()
    engine = WorkflowEngine(CAL)
    card = {
        "initiator_id": initiator,
        "initiator_is_department_head": initiator == "olga",
        "due_date": due_date,
    }
    result = engine.start(route, card, initiator, arrived, org)
    steps = []
    while True:
        open_tasks = [t for t in result.instance.open_tasks() if t.kind != "subtask"]
        task = open_tasks[0]
        steps.append(task.step_id)
        if task.step_id == "payment":
            subtask = next(t for t in result.instance.open_tasks() if t.kind == "subtask")
            assert subtask.due_at == task.due_at
            return task.due_at, steps
        result = engine.handle(
            route, result.instance, Decide(task.id, task.assignee_id, "approve"), arrived, org
        )


def test_the_routes_payment_task_is_due_when_the_card_says() -> None:
    arrived = at("2026-12-04", "14:00")
    due, steps = _paid_route_due(arrived, None, "ivan")
    assert steps == ["department_head", "finance", "payment"]
    assert due == domain.accountants_deadline(CAL, arrived, None, NOON)
    due, _ = _paid_route_due(arrived, "2026-12-12", "ivan")
    assert due == domain.accountants_deadline(CAL, arrived, date(2026, 12, 12), NOON)


def test_a_head_who_makes_the_request_is_not_asked_to_approve_it() -> None:
    _, steps = _paid_route_due(at("2026-12-07", "10:00"), None, "olga")
    assert steps == ["finance", "payment"]
