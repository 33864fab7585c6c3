"""Rules of correspondence that need no database: who registers and who sees a letter,
what a route instance means for the card, journal numbers, the answers people give
in their tasks, and how long a failed job waits before it is tried again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.auth import ADMIN_ROLE, Identity
from services.errors import InvalidInput
from services.workflow.model import Instance

INCOMING = "incoming_letter"
OUTGOING = "outgoing_letter"
PROCESS_OF = {"incoming": INCOMING, "outgoing": OUTGOING}

#: Who registers incoming letters (PROCESSES.md §4: the office manager or a lawyer).
REGISTRARS = frozenset({"office_manager", "lawyer", ADMIN_ROLE})
#: Who sees every letter: the office, legal, management and administrators.
READ_ALL_ROLES = frozenset({"office_manager", "lawyer", "ceo", "director", ADMIN_ROLE})

#: The steps whose completion answers "is a reply needed?".
REPLY_STEPS = ("tenant_execution", "execution")
#: Open step -> card status, first match wins (parallel steps: the earliest listed).
STEP_STATUS = (
    ("preparation", "preparation"),
    ("director_approval", "approval"),
    ("registration", "registration"),
    ("signature", "signing"),
    ("dispatch", "dispatch"),
    ("reaction_check", "reaction_check"),
)
FINAL_STATUS = {
    "returned": "returned",
    "rejected": "rejected",
    "completed": "completed",
    "cancelled": "cancelled",
}
TERMINAL = frozenset({"completed", "rejected", "cancelled"})

YES = frozenset({"yes", "да"})
NO = frozenset({"no", "нет"})
DELIVERY = frozenset({"email", "post"})

#: Back-off of a failed job: 30 s, 1 min, 2 min, ... capped at an hour.
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class LetterAccess:
    created_by: str
    responsible_id: str
    participants: Iterable[str]


def may_register_incoming(identity: Identity) -> bool:
    return identity.is_system or bool(identity.roles & REGISTRARS)


def may_view(identity: Identity, letter: LetterAccess) -> bool:
    """Office, legal, management; or the author, the responsible, a participant."""
    if identity.is_system or identity.roles & READ_ALL_ROLES:
        return True
    if identity.user_id in (letter.created_by, letter.responsible_id):
        return True
    return identity.user_id in set(letter.participants)


def journal_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:04d}"


def status_of(direction: str, instance: Instance) -> str:
    if instance.state in FINAL_STATUS:
        return FINAL_STATUS[instance.state]
    if instance.state == "waiting":
        return "awaiting_reaction"
    if direction == "incoming":
        return "review"
    steps = {task.step_id for task in instance.open_tasks()}
    for step_id, status in STEP_STATUS:
        if step_id in steps:
            return status
    return "approval"


def participants_of(instance: Instance, before: Iterable[str]) -> list[str]:
    people = dict.fromkeys(before)
    for task in instance.tasks.values():
        for person in (task.assignee_id, task.on_behalf_of, *task.escalated_to):
            if person:
                people[person] = None
    return list(people)


def completed_outputs(instance: Instance, step_id: str) -> dict[str, Any] | None:
    """The outputs of the latest completed task of ``step_id`` in this round, if any."""
    for decision in reversed(instance.decisions):
        if decision.step_id == step_id and decision.round == instance.round:
            if decision.action == "complete":
                return dict(decision.outputs)
            return None
    return None


def _field_error(step: str, output: str, allowed: str) -> InvalidInput:
    return InvalidInput(
        f"{output} must be {allowed}",
        [{"loc": ["outputs", output], "msg": f"one of {allowed}", "step": step}],
    )


def reply_needed(instance: Instance) -> bool | None:
    """The responsible employee's answer: True/False, None while not given.

    A value other than yes/no (да/нет) is refused, which rolls the decision back.
    """
    for step in REPLY_STEPS:
        outputs = completed_outputs(instance, step)
        if outputs is None:
            continue
        answer = str(outputs.get("reply_needed", "")).strip().lower()
        if answer in YES:
            return True
        if answer in NO:
            return False
        raise _field_error(step, "reply_needed", "yes or no")
    return None


def delivery(instance: Instance) -> str | None:
    """How the letter was sent: "email" or "post"; None while the dispatch is open."""
    outputs = completed_outputs(instance, "dispatch")
    if outputs is None:
        return None
    channel = str(outputs.get("delivery", "")).strip().lower()
    if channel not in DELIVERY:
        raise _field_error("dispatch", "delivery", "email or post")
    return channel


def retry_at(now: datetime, attempts: int) -> datetime:
    """When a job that failed ``attempts`` times is tried again."""
    wait: timedelta = FIRST_RETRY * (2 ** max(0, min(attempts, 20) - 1))
    return now + (wait if wait < LAST_RETRY else LAST_RETRY)


def email_text(letter: dict[str, Any]) -> str:
    """The plain-text body of an outgoing letter's e-mail (the letter itself is attached)."""
    number = letter.get("journal_number") or "б/н"
    lines = [
        "Добрый день!",
        "",
        f"Направляем письмо исх. № {number} «{letter['subject']}».",
        "Письмо и приложения — во вложении.",
        "",
        "С уважением,",
        str(letter["legal_entity_name"]),
    ]
    return "\n".join(lines) + "\n"
