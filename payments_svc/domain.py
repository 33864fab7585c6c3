"""Rules of payment requests and registries that need no database: the accountants'
deadline, who sees a card, what a route instance means for the card's status,
numbers, and the cut-off setting applied to the routes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from services.auth import ADMIN_ROLE, Identity
from services.calendar import BusinessCalendar
from services.workflow.model import Instance

#: Finance, accounting and management see every request and registry.
READ_ALL_ROLES = frozenset(
    {
        ADMIN_ROLE,
        "ceo",
        "financial_director",
        "finance_manager",
        "chief_accountant",
        "accountant",
        "junior_accountant",
    }
)
#: Who may freeze a request or ask its initiator for documents (besides the people
#: who must act on it now).
STAGE_ROLES = frozenset(
    {ADMIN_ROLE, "ceo", "financial_director", "finance_manager", "chief_accountant"}
)
#: Who collects planned payments into a registry.
REGISTRY_ROLES = frozenset(
    {ADMIN_ROLE, "financial_director", "finance_manager", "chief_accountant", "accountant"}
)
#: Stages that pause a request: no decisions, no reminders.
STAGES = ("frozen", "documents_requested")

FINAL = {"rejected": "rejected", "completed": "paid", "cancelled": "cancelled"}
REGISTRY_FINAL = {"rejected": "rejected", "completed": "paid", "cancelled": "rejected"}
REGISTRY_STEP_STATUS = {
    "department_head": "in_approval",
    "chief_accountant": "in_approval",
    "composition": "composing",
    "ceo": "ceo_approval",
    "payment": "approved",
}


def accountants_deadline(
    calendar: BusinessCalendar, arrived: datetime, due_date: date | None, cutoff: time
) -> datetime:
    """When the accountants must have paid: a due date in the request wins (the end
    of that working day, or of the last working day before it when it is a day off);
    otherwise a request that arrived before ``cutoff`` is due at the end of the same
    working day and a later one at the end of the next working day. A request made
    outside working hours counts from the next working moment.

    The route's SLA (``due_field`` + ``end_of_day_if_before``) computes the same for
    the payment task; the card shows it from the moment the request is saved.
    """
    if due_date is not None:
        day = (
            due_date
            if calendar.is_working_day(due_date)
            else calendar.previous_working_day(due_date)
        )
        return calendar.end_of_working_day(day)
    start = calendar.next_working_moment(arrived)
    day = start.date()
    if start.timetz().replace(tzinfo=None) >= cutoff:
        day = calendar.next_working_day(day)
    return calendar.end_of_working_day(day)


def parse_cutoff(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def with_cutoff(route: dict[str, Any], cutoff: str) -> dict[str, Any]:
    """The route data with every ``end_of_day_if_before`` set to the configured cut-off."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (cutoff if key == "end_of_day_if_before" else walk(value))
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    patched: dict[str, Any] = walk(route)
    return patched


@dataclass(frozen=True)
class CardAccess:
    initiator_id: str
    department_head_id: str | None
    participants: Iterable[str]


def may_view(identity: Identity, card: CardAccess) -> bool:
    """The initiator, their department head, anyone who had a task on it,
    finance/accounting roles, the CEO and administrators."""
    if identity.is_system or identity.roles & READ_ALL_ROLES:
        return True
    if identity.user_id in (card.initiator_id, card.department_head_id):
        return True
    return identity.user_id in set(card.participants)


def request_status(instance: Instance, stage: str | None) -> str:
    if instance.state in FINAL:
        return FINAL[instance.state]
    if stage in STAGES:
        return stage
    steps = {task.step_id for task in instance.open_tasks()}
    return "in_payment" if "payment" in steps else "in_approval"


def registry_status(instance: Instance) -> str:
    if instance.state in REGISTRY_FINAL:
        return REGISTRY_FINAL[instance.state]
    steps = {task.step_id for task in instance.open_tasks()}
    for step_id in ("payment", "ceo", "composition", "chief_accountant", "department_head"):
        if step_id in steps:
            return REGISTRY_STEP_STATUS[step_id]
    return "in_approval"


def participants_of(instance: Instance, before: Iterable[str]) -> list[str]:
    people = dict.fromkeys(before)
    for task in instance.tasks.values():
        for person in (task.assignee_id, task.on_behalf_of, *task.escalated_to):
            if person:
                people[person] = None
    return list(people)


def completed_outputs(instance: Instance, step_id: str, subtask: bool = False) -> dict[str, Any]:
    """Outputs of the completed task (or subtask) of ``step_id``; empty if not done."""
    for decision in reversed(instance.decisions):
        task = instance.tasks.get(decision.task_id)
        if task is None or decision.step_id != step_id:
            continue
        if (task.kind == "subtask") != subtask:
            continue
        if decision.action == "complete":
            return dict(decision.outputs)
    return {}


def rejection(instance: Instance) -> tuple[str | None, str | None]:
    for decision in reversed(instance.decisions):
        if decision.action == "reject":
            return decision.reason_code, decision.comment
    return None, None


def number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:04d}"


def default_purpose(invoice_number: str | None, cost_item: str) -> str:
    """Назначение платежа when the initiator did not write one."""
    basis = f"Оплата по счёту № {invoice_number}" if invoice_number else "Оплата по счёту"
    return f"{basis}. {cost_item}"[:210]
