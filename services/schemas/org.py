"""Contract of org_svc: RPC inputs and outputs, and its events (schema_version 1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

Username = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$")]
RoleCode = Annotated[str, Field(pattern=r"^[a-z][a-z_]{1,62}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewDepartment(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    code: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,40}$")]
    parent_id: str | None = None
    head_user_id: str | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Юридический отдел", "code": "legal"}]},
    )


class Department(BaseModel):
    id: str
    name: str
    code: str
    parent_id: str | None
    head_user_id: str | None


class NewUser(Strict):
    username: Username
    full_name: Annotated[str, Field(min_length=1, max_length=200)]
    email: EmailStr | None = None
    department_id: str
    position: Annotated[str, Field(max_length=200)] = ""
    roles: list[RoleCode] = []

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "i.petrova",
                    "full_name": "Ирина Петрова",
                    "email": "i.petrova@example.ru",
                    "department_id": "3f1c…",
                    "position": "Юрист",
                    "roles": ["lawyer"],
                }
            ]
        },
    )


class User(BaseModel):
    id: str
    username: str
    full_name: str
    email: str | None
    department_id: str
    position: str
    roles: list[str]
    active: bool


class Role(BaseModel):
    code: str
    title: str


class NewAbsence(Strict):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "user_id": "9c1f0b2e-7d4a-4e55-8a1b-2c3d4e5f6a7b",
                    "deputy_id": "2b7e4c1d-0f3a-4b6c-9d8e-7f6a5b4c3d2e",
                    "starts_at": "2026-12-07T00:00:00+03:00",
                    "ends_at": "2026-12-21T00:00:00+03:00",
                    "reason": "vacation",
                }
            ]
        },
    )

    user_id: str
    deputy_id: str
    starts_at: datetime
    ends_at: datetime
    reason: Annotated[str, Field(max_length=200)] = "vacation"

    @model_validator(mode="after")
    def _ordered(self) -> NewAbsence:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone offset")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.user_id == self.deputy_id:
            raise ValueError("a person cannot be their own deputy")
        return self


class Absence(BaseModel):
    id: str
    user_id: str
    deputy_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str


class AssigneeRule(Strict):
    """A concrete rule: a role, the head of a user's department, or a user."""

    kind: Literal["role", "department_head", "user"]
    role: RoleCode | None = None
    user_id: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> AssigneeRule:
        if self.kind == "role" and not self.role:
            raise ValueError("a role rule names the role")
        if self.kind in ("department_head", "user") and not self.user_id:
            raise ValueError(f"a {self.kind} rule names user_id")
        return self


class Assignee(BaseModel):
    user_id: str
    #: The absent person this one acts for (deputy), if any.
    on_behalf_of: str | None = None
    #: True when the person is absent and has no available deputy.
    absent: bool = False


class LegalEntity(BaseModel):
    id: str
    name: str
    short_name: str
    inn: str
    kpp: str | None


class IdentityOut(BaseModel):
    """What the gateway puts in a token and in the call context."""

    user_id: str
    username: str
    full_name: str
    roles: list[str]
    department_id: str


class CalendarDay(BaseModel):
    day: date
    kind: Literal["working", "short", "holiday", "weekend"]
    hours: list[tuple[datetime, datetime]]
    #: Set when an imported official override decided this day.
    override: str | None = None


class CalendarYear(BaseModel):
    year: int
    timezone: str
    working_days: int
    days: list[CalendarDay]


class CalendarImport(Strict):
    """Official production-calendar days that differ from the built-in one."""

    days: dict[date, Literal["working", "short", "holiday"]]

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"days": {"2026-12-31": "holiday", "2027-01-09": "working"}}]
        },
    )
