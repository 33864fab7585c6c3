"""What org_svc does, one function per use case: read or change the directory.

Each takes the session, the caller and the outbox writer; none commits (the
entrypoint does, once, so events and changes land together).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from org_svc import domain, models
from org_svc.repository import (
    SqlDirectory,
    absence_out,
    department_out,
    roles_of,
    user_out,
)
from services.auth import ADMIN_ROLE, Identity, require_role
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.ids import parse_filter_id, parse_id
from services.outbox import OutboxWriter
from services.pagination import clamp_limit, contains_pattern, decode_cursor, encode_cursor
from services.schemas import org as schemas

DIRECTORY_ADMINS = (ADMIN_ROLE,)


def _user(session: Session, user_id: str) -> models.User:
    user = session.get(models.User, parse_id(user_id, "user"))
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def _department(session: Session, department_id: str) -> models.Department:
    dept = session.get(models.Department, parse_id(department_id, "department"))
    if dept is None:
        raise NotFound(f"department {department_id} does not exist")
    return dept


def _check_roles_exist(session: Session, roles: list[str]) -> None:
    known = set(session.scalars(select(models.Role.code).where(models.Role.code.in_(roles))))
    unknown = sorted(set(roles) - known)
    if unknown:
        raise InvalidInput(
            f"unknown roles: {', '.join(unknown)}",
            [{"loc": ["roles"], "msg": f"unknown role {r}"} for r in unknown],
        )


def get_user(session: Session, user_id: str) -> schemas.User:
    user = _user(session, user_id)
    return user_out(user, roles_of(session, [user.id])[user.id])


def identity_of(session: Session, user: models.User) -> schemas.IdentityOut:
    return schemas.IdentityOut(
        user_id=str(user.id),
        username=user.username,
        full_name=user.full_name,
        roles=roles_of(session, [user.id])[user.id],
        department_id=str(user.department_id),
    )


def list_users(
    session: Session,
    department_id: str | None = None,
    role: str | None = None,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    size = clamp_limit(limit)
    stmt = select(models.User).order_by(models.User.username)
    if department_id:
        stmt = stmt.where(
            models.User.department_id == parse_filter_id(department_id, "department_id")
        )
    if role:
        stmt = stmt.join(models.UserRole, models.UserRole.user_id == models.User.id).where(
            models.UserRole.role_code == role
        )
    if q:
        pattern = contains_pattern(q)
        stmt = stmt.where(
            models.User.full_name.ilike(pattern) | models.User.username.ilike(pattern)
        )
    after = decode_cursor(cursor)
    if after:
        stmt = stmt.where(models.User.username > str(after[0]))
    users = list(session.scalars(stmt.limit(size + 1)))
    page, more = users[:size], len(users) > size
    roles = roles_of(session, [u.id for u in page])
    return {
        "items": [user_out(u, roles[u.id]).model_dump(mode="json") for u in page],
        "next_cursor": encode_cursor([page[-1].username]) if more else None,
    }


def create_user(
    session: Session, caller: Identity, events: OutboxWriter, data: schemas.NewUser
) -> schemas.User:
    require_role(caller, DIRECTORY_ADMINS, "Adding a person")
    _department(session, data.department_id)
    _check_roles_exist(session, data.roles)
    if session.scalar(select(models.User.id).where(models.User.username == data.username)):
        raise Conflict(f"username {data.username} is taken")
    user = models.User(
        username=data.username,
        full_name=data.full_name,
        email=data.email,
        department_id=parse_id(data.department_id, "department"),
        position=data.position,
    )
    session.add(user)
    session.flush()
    for role in data.roles:
        session.add(models.UserRole(user_id=user.id, role_code=role))
    session.flush()
    out = user_out(user, sorted(data.roles))
    events.add(session, "user.created", out.model_dump(mode="json"))
    return out


def set_roles(
    session: Session, caller: Identity, events: OutboxWriter, user_id: str, roles: list[str]
) -> schemas.User:
    require_role(caller, DIRECTORY_ADMINS, "Changing roles")
    user = _user(session, user_id)
    _check_roles_exist(session, roles)
    session.execute(delete(models.UserRole).where(models.UserRole.user_id == user.id))
    for role in sorted(set(roles)):
        session.add(models.UserRole(user_id=user.id, role_code=role))
    session.flush()
    out = user_out(user, sorted(set(roles)))
    events.add(session, "user.roles_changed", out.model_dump(mode="json"))
    return out


def list_departments(session: Session) -> list[schemas.Department]:
    return [
        department_out(d)
        for d in session.scalars(select(models.Department).order_by(models.Department.name))
    ]


def get_department(session: Session, department_id: str) -> schemas.Department:
    return department_out(_department(session, department_id))


def create_department(
    session: Session, caller: Identity, events: OutboxWriter, data: schemas.NewDepartment
) -> schemas.Department:
    require_role(caller, DIRECTORY_ADMINS, "Adding a department")
    if data.parent_id:
        _department(session, data.parent_id)
    if data.head_user_id:
        _user(session, data.head_user_id)
    if session.scalar(select(models.Department.id).where(models.Department.code == data.code)):
        raise Conflict(f"department code {data.code} is taken")
    dept = models.Department(
        name=data.name,
        code=data.code,
        parent_id=parse_id(data.parent_id, "department") if data.parent_id else None,
        head_user_id=parse_id(data.head_user_id, "user") if data.head_user_id else None,
    )
    session.add(dept)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert of the same code
        raise Conflict(f"department code {data.code} is taken") from exc
    out = department_out(dept)
    events.add(session, "department.created", out.model_dump(mode="json"))
    return out


def set_department_head(
    session: Session, caller: Identity, events: OutboxWriter, department_id: str, user_id: str
) -> schemas.Department:
    require_role(caller, DIRECTORY_ADMINS, "Naming a department head")
    dept = _department(session, department_id)
    head = _user(session, user_id)
    dept.head_user_id = head.id
    session.flush()
    out = department_out(dept)
    events.add(session, "department.head_changed", out.model_dump(mode="json"))
    return out


def list_roles(session: Session) -> list[schemas.Role]:
    return [
        schemas.Role(code=r.code, title=r.title)
        for r in session.scalars(select(models.Role).order_by(models.Role.code))
    ]


def create_absence(
    session: Session, caller: Identity, events: OutboxWriter, data: schemas.NewAbsence
) -> schemas.Absence:
    # A person registers their own absence; an administrator anyone's.
    if caller.user_id != data.user_id and not caller.has_role(ADMIN_ROLE, "system"):
        raise Forbidden("Only the person or an administrator registers an absence")
    user = _user(session, data.user_id)
    deputy = _user(session, data.deputy_id)
    if not deputy.active:
        raise InvalidInput(
            "the deputy is not an active person", [{"loc": ["deputy_id"], "msg": "inactive"}]
        )
    absence = models.Absence(
        user_id=user.id,
        deputy_id=deputy.id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        reason=data.reason,
    )
    session.add(absence)
    session.flush()
    out = absence_out(absence)
    events.add(session, "absence.created", out.model_dump(mode="json"))
    return out


def list_absences(
    session: Session, user_id: str | None = None, at: datetime | None = None
) -> list[schemas.Absence]:
    stmt = select(models.Absence).order_by(models.Absence.starts_at)
    if user_id:
        stmt = stmt.where(models.Absence.user_id == parse_filter_id(user_id, "user_id"))
    if at is not None:
        stmt = stmt.where(models.Absence.starts_at <= at, models.Absence.ends_at > at)
    return [absence_out(a) for a in session.scalars(stmt)]


def resolve_assignees(
    session: Session, rule: schemas.AssigneeRule, at: datetime
) -> list[schemas.Assignee]:
    return domain.resolve(SqlDirectory(session), rule, at)


def authenticate(session: Session, username: str, password: str) -> schemas.IdentityOut | None:
    user = session.scalar(select(models.User).where(models.User.username == username))
    if user is None or not user.active or not domain.check_password(password, user.password_hash):
        return None
    return identity_of(session, user)


def identify(session: Session, username: str) -> schemas.IdentityOut:
    user = session.scalar(select(models.User).where(models.User.username == username))
    if user is None or not user.active:
        raise NotFound(f"user {username} is not in the directory")
    return identity_of(session, user)


def list_legal_entities(session: Session) -> list[schemas.LegalEntity]:
    return [
        schemas.LegalEntity(
            id=str(e.id), name=e.name, short_name=e.short_name, inn=e.inn, kpp=e.kpp
        )
        for e in session.scalars(select(models.LegalEntity).order_by(models.LegalEntity.short_name))
    ]
