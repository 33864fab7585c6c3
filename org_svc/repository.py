"""SQL side of the org directory: reading and writing org_svc's tables."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from org_svc import models
from services.ids import parse_id
from services.schemas import org as schemas


class SqlDirectory:
    """``org_svc.domain.Directory`` over the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def active_holders_of(self, role: str) -> Sequence[str]:
        rows = self.session.scalars(
            select(models.User.id)
            .join(models.UserRole, models.UserRole.user_id == models.User.id)
            .where(models.UserRole.role_code == role, models.User.active.is_(True))
            .order_by(models.User.username)
        )
        return [str(r) for r in rows]

    def department_of(self, user_id: str) -> str | None:
        value = self.session.scalar(
            select(models.User.department_id).where(models.User.id == parse_id(user_id, "user"))
        )
        return str(value) if value else None

    def head_of(self, department_id: str) -> str | None:
        value = self.session.scalar(
            select(models.Department.head_user_id).where(
                models.Department.id == uuid.UUID(department_id)
            )
        )
        return str(value) if value else None

    def is_active(self, user_id: str) -> bool:
        return bool(
            self.session.scalar(
                select(models.User.active).where(models.User.id == parse_id(user_id, "user"))
            )
        )

    def deputy_at(self, user_id: str, at: datetime) -> str | None:
        value = self.session.scalar(
            select(models.Absence.deputy_id)
            .where(
                and_(
                    models.Absence.user_id == parse_id(user_id, "user"),
                    models.Absence.starts_at <= at,
                    models.Absence.ends_at > at,
                )
            )
            .order_by(models.Absence.created_at.desc())
            .limit(1)
        )
        return str(value) if value else None


def roles_of(session: Session, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    result: dict[uuid.UUID, list[str]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return result
    for user_id, role in session.execute(
        select(models.UserRole.user_id, models.UserRole.role_code)
        .where(models.UserRole.user_id.in_(user_ids))
        .order_by(models.UserRole.role_code)
    ):
        result[user_id].append(role)
    return result


def user_out(user: models.User, roles: list[str]) -> schemas.User:
    return schemas.User(
        id=str(user.id),
        username=user.username,
        full_name=user.full_name,
        email=user.email,
        department_id=str(user.department_id),
        position=user.position,
        roles=roles,
        active=user.active,
    )


def department_out(dept: models.Department) -> schemas.Department:
    return schemas.Department(
        id=str(dept.id),
        name=dept.name,
        code=dept.code,
        parent_id=str(dept.parent_id) if dept.parent_id else None,
        head_user_id=str(dept.head_user_id) if dept.head_user_id else None,
    )


def absence_out(absence: models.Absence) -> schemas.Absence:
    return schemas.Absence(
        id=str(absence.id),
        user_id=str(absence.user_id),
        deputy_id=str(absence.deputy_id),
        starts_at=absence.starts_at,
        ends_at=absence.ends_at,
        reason=absence.reason,
    )
