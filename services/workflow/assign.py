"""From a step's assignee rules to people, never to nobody.

Route rules speak of card fields (``department_head_of: initiator``); the org
directory understands concrete lookups (``{"kind": "department_head",
"user_id": ...}``). When the rules find nobody, the step's ``fallback`` and then
the route's ``escalation_role`` take over, and the timeline says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.workflow.conditions import MISSING, card_value
from services.workflow.context import Run
from services.workflow.errors import NoAssignee
from services.workflow.model import Assignee
from services.workflow.routes import AssigneeRule


def concrete(rule: AssigneeRule, run: Run) -> tuple[dict[str, str] | None, str | None]:
    """The org lookup for ``rule``, or None with the reason it cannot be made."""
    if rule.role is not None:
        return {"kind": "role", "role": rule.role}, None
    if rule.user is not None:
        return {"kind": "user", "user_id": rule.user}, None
    card = run.instance.card
    if rule.department_head_of is not None:
        field = f"{rule.department_head_of}_id"
        user_id = card_value(card, field)
        if user_id is MISSING and rule.department_head_of == "initiator":
            user_id = run.instance.initiator_id
        if user_id is MISSING or not isinstance(user_id, str) or not user_id:
            return None, f"card field {field} is empty"
        return {"kind": "department_head", "user_id": user_id}, None
    assert rule.user_field is not None
    user_id = card_value(card, rule.user_field)
    if user_id is MISSING or not isinstance(user_id, str) or not user_id:
        return None, f"card field {rule.user_field} is empty"
    return {"kind": "user", "user_id": user_id}, None


def lookup(run: Run, rules: Sequence[AssigneeRule]) -> tuple[list[Assignee], list[str]]:
    """Everyone the rules name (deputies already substituted), first occurrence wins."""
    people: dict[str, Assignee] = {}
    misses: list[str] = []
    for rule in rules:
        query, why = concrete(rule, run)
        if query is None:
            misses.append(f"{rule.describe()}: {why}")
            continue
        found = run.org.resolve(query, run.now)
        if not found:
            misses.append(f"{rule.describe()}: nobody")
        for person in found:
            people.setdefault(person.user_id, Assignee(person.user_id, person.on_behalf_of))
    return list(people.values()), misses


def assignees_for(
    run: Run,
    step_id: str,
    rules: Sequence[AssigneeRule],
    fallback: AssigneeRule | None,
) -> tuple[list[Assignee], str | None]:
    """The people for a step and, when a fallback was used, which one."""
    people, misses = lookup(run, rules)
    if people:
        return people, None
    tried = list(misses)
    candidates: list[tuple[str, AssigneeRule]] = []
    if fallback is not None:
        candidates.append(("fallback", fallback))
    if run.route.escalation_role:
        candidates.append(("escalation_role", AssigneeRule(role=run.route.escalation_role)))
    for label, rule in candidates:
        people, more = lookup(run, [rule])
        if people:
            run.log(
                "assignee.fallback",
                step_id=step_id,
                data={
                    "used": label,
                    "rule": rule.describe(),
                    "why": tried,
                    "assignees": [p.user_id for p in people],
                },
            )
            run.emit(
                "assignee.fallback",
                step_id=step_id,
                used=label,
                assignees=[p.user_id for p in people],
            )
            return people, label
        tried.extend(more)
    raise NoAssignee(
        f"step {step_id!r} has nobody to act: {'; '.join(tried)}. "
        "Fix the org directory or give the step a fallback / the route an escalation_role",
        [{"loc": ["steps", step_id, "assignees"], "msg": "; ".join(tried)}],
    )
