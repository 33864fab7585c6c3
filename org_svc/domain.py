"""The org directory's rules, free of nameko and SQL.

Who must act for an assignee rule at a given moment: a role's holders, the
head of a person's department, or a named person, each replaced by their
deputy while they are away (following the deputy's own deputy, never in a
circle). Also the demo password hashing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from services.errors import InvalidInput, NotFound
from services.schemas.org import Assignee, AssigneeRule

#: A chain of deputies longer than this is a data error, not a plan.
MAX_DEPUTY_HOPS = 5

PBKDF2_ITERATIONS = 200_000


class Directory(Protocol):
    """What resolution needs to read; org_svc.repository implements it on SQL."""

    def active_holders_of(self, role: str) -> Sequence[str]: ...

    def department_of(self, user_id: str) -> str | None: ...

    def head_of(self, department_id: str) -> str | None: ...

    def is_active(self, user_id: str) -> bool: ...

    def deputy_at(self, user_id: str, at: datetime) -> str | None:
        """The deputy named by an absence covering ``at``; None when the person is present."""
        ...


def act_for(directory: Directory, user_id: str, at: datetime) -> Assignee:
    """The person who acts for ``user_id`` at ``at``: themselves, or their (deputy's) deputy."""
    seen = {user_id}
    current = user_id
    for _ in range(MAX_DEPUTY_HOPS):
        deputy = directory.deputy_at(current, at)
        if deputy is None:
            if current == user_id:
                return Assignee(user_id=user_id)
            return Assignee(user_id=current, on_behalf_of=user_id)
        if deputy in seen or not directory.is_active(deputy):
            break
        seen.add(deputy)
        current = deputy
    # Everyone in the chain is away: the task still has an owner, marked absent,
    # and the step's escalation takes over.
    return Assignee(user_id=user_id, absent=True)


def resolve(directory: Directory, rule: AssigneeRule, at: datetime) -> list[Assignee]:
    """Everyone who must act for ``rule`` at ``at``, deputies substituted, no duplicates."""
    if at.tzinfo is None:
        raise InvalidInput("the moment needs a time zone offset", [{"loc": ["at"], "msg": "naive"}])
    if rule.kind == "role":
        assert rule.role is not None
        people = list(directory.active_holders_of(rule.role))
    elif rule.kind == "department_head":
        assert rule.user_id is not None
        department = directory.department_of(rule.user_id)
        if department is None:
            raise NotFound(f"user {rule.user_id} is not in the directory")
        head = directory.head_of(department)
        people = [head] if head else []
    else:
        assert rule.user_id is not None
        if not directory.is_active(rule.user_id):
            raise NotFound(f"user {rule.user_id} is not an active person in the directory")
        people = [rule.user_id]
    result: list[Assignee] = []
    taken: set[str] = set()
    for person in people:
        assignee = act_for(directory, person, at)
        if assignee.user_id not in taken:
            taken.add(assignee.user_id)
            result.append(assignee)
    return result


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), PBKDF2_ITERATIONS)
    return f"pbkdf2_sha256${PBKDF2_ITERATIONS}${salt}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        algorithm, iterations, salt, expected = stored.split("$")
    except ValueError:
        return False
    if algorithm != "pbkdf2_sha256":
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    return hmac.compare_digest(digest.hex(), expected)
