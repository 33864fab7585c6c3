"""Rules of contract approval that need no database: who sees and edits a card,
what status a route instance means, register numbers, the document check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.auth import ADMIN_ROLE, Identity
from services.workflow.model import Instance

#: Roles that see every contract: management, legal (every contract passes it),
#: the operations manager (escalations) and the office (register and originals).
READ_ALL_ROLES = frozenset(
    {ADMIN_ROLE, "ceo", "director", "lawyer", "operations_manager", "office_manager"}
)
#: Card statuses in which the author may still change the card.
EDITABLE = frozenset({"draft", "returned"})
#: The open task's step decides the status after approval.
STEP_STATUS = {"sign": "signing", "register": "registration", "original": "awaiting_original"}
FINAL_STATUS = {
    "returned": "returned",
    "rejected": "rejected",
    "completed": "completed",
    "cancelled": "cancelled",
}


@dataclass(frozen=True)
class CardAccess:
    created_by: str
    curator_id: str
    department_id: str
    participants: Iterable[str]


def may_view(identity: Identity, card: CardAccess) -> bool:
    """Role, department, authorship or a task on the contract."""
    if identity.is_system or identity.roles & READ_ALL_ROLES:
        return True
    if identity.user_id in (card.created_by, card.curator_id):
        return True
    if identity.department_id and identity.department_id == card.department_id:
        return True
    return identity.user_id in set(card.participants)


def may_edit(identity: Identity, card: CardAccess) -> bool:
    return identity.has_role(ADMIN_ROLE) or identity.user_id in (card.created_by, card.curator_id)


def status_of(instance: Instance) -> str:
    if instance.state in FINAL_STATUS:
        return FINAL_STATUS[instance.state]
    steps = {task.step_id for task in instance.open_tasks()}
    for step_id, status in STEP_STATUS.items():
        if step_id in steps:
            return status
    return "in_approval"


def participants_of(instance: Instance, before: Iterable[str]) -> list[str]:
    people = dict.fromkeys(before)
    for task in instance.tasks.values():
        for person in (task.assignee_id, task.on_behalf_of, *task.escalated_to):
            if person:
                people[person] = None
    return list(people)


def register_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:04d}"


def completed_outputs(instance: Instance, step_id: str) -> dict[str, Any] | None:
    """The outputs of the latest completed task of ``step_id`` in this round."""
    for decision in reversed(instance.decisions):
        if decision.step_id == step_id and decision.round == instance.round:
            if decision.action == "complete":
                return dict(decision.outputs)
            return None
    return None


def blocking_documents(check: dict[str, Any]) -> list[dict[str, Any]]:
    """Checklist lines that are missing or expired (counterparty_svc's ``documents``)."""
    return [line for line in check.get("checklist", []) if line.get("status") != "present"]


def document_errors(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors = []
    for line in lines:
        if line["status"] == "expired":
            msg = f"{line['title']}: срок действия истёк {line.get('expires_on')}"
        else:
            msg = f"{line['title']}: нет документа"
        errors.append(
            {
                "loc": ["counterparty", "documents", line["doc_type"]],
                "msg": msg,
                "type": line["status"],
            }
        )
    return errors
