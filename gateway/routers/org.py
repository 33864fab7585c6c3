"""/api/v1/org: people, departments, roles, absences (deputies), legal entities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, status
from pydantic import BaseModel, ConfigDict

from gateway.deps import Calls
from gateway.errors import PROBLEM_RESPONSES
from services.schemas import org as schemas

router = APIRouter(prefix="/api/v1/org", tags=["org"], responses={401: PROBLEM_RESPONSES[401]})

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: PROBLEM_RESPONSES[404]}
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: PROBLEM_RESPONSES[403]}


class UserPage(BaseModel):
    items: list[schemas.User]
    next_cursor: str | None


class RolesBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"roles": ["lawyer"]}]}
    )
    roles: list[schemas.RoleCode]


class HeadBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": "9c1f0b2e-7d4a-4e55-8a1b-2c3d4e5f6a7b"}]},
    )
    user_id: str


@router.get("/users", response_model=UserPage, summary="People, filtered and paged")
async def list_users(
    calls: Calls,
    department_id: str | None = None,
    role: str | None = None,
    q: Annotated[
        str | None, Query(max_length=100, description="part of a name or username")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Any:
    return await calls(
        "org",
        "list_users",
        department_id=department_id,
        role=role,
        q=q,
        limit=limit,
        cursor=cursor,
    )


@router.post(
    "/users",
    response_model=schemas.User,
    status_code=status.HTTP_201_CREATED,
    summary="Add a person (administrators)",
    responses=FORBIDDEN,
)
async def create_user(calls: Calls, body: Annotated[schemas.NewUser, Body()]) -> Any:
    return await calls("org", "create_user", data=body.model_dump(mode="json"))


@router.get("/users/{user_id}", response_model=schemas.User, responses=NOT_FOUND)
async def get_user(calls: Calls, user_id: str) -> Any:
    return await calls("org", "get_user", user_id=user_id)


@router.put(
    "/users/{user_id}/roles",
    response_model=schemas.User,
    summary="Replace a person's roles (administrators)",
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def set_roles(calls: Calls, user_id: str, body: Annotated[RolesBody, Body()]) -> Any:
    return await calls("org", "set_roles", user_id=user_id, roles=body.roles)


@router.get("/departments", response_model=list[schemas.Department])
async def list_departments(calls: Calls) -> Any:
    return await calls("org", "list_departments")


@router.post(
    "/departments",
    response_model=schemas.Department,
    status_code=status.HTTP_201_CREATED,
    responses={**FORBIDDEN, **NOT_FOUND, 409: PROBLEM_RESPONSES[409]},
)
async def create_department(calls: Calls, body: Annotated[schemas.NewDepartment, Body()]) -> Any:
    return await calls("org", "create_department", data=body.model_dump(mode="json"))


@router.get("/departments/{department_id}", response_model=schemas.Department, responses=NOT_FOUND)
async def get_department(calls: Calls, department_id: str) -> Any:
    return await calls("org", "get_department", department_id=department_id)


@router.put(
    "/departments/{department_id}/head",
    response_model=schemas.Department,
    summary="Name the head of a department (administrators)",
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def set_head(calls: Calls, department_id: str, body: Annotated[HeadBody, Body()]) -> Any:
    return await calls(
        "org", "set_department_head", department_id=department_id, user_id=body.user_id
    )


@router.get("/roles", response_model=list[schemas.Role])
async def list_roles(calls: Calls) -> Any:
    return await calls("org", "list_roles")


@router.get(
    "/absences", response_model=list[schemas.Absence], summary="Who is away, and who stands in"
)
async def list_absences(
    calls: Calls, user_id: str | None = None, at: datetime | None = None
) -> Any:
    return await calls("org", "list_absences", user_id=user_id, at=at.isoformat() if at else None)


@router.post(
    "/absences",
    response_model=schemas.Absence,
    status_code=status.HTTP_201_CREATED,
    summary="Register an absence and its deputy (the person or an administrator)",
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def create_absence(calls: Calls, body: Annotated[schemas.NewAbsence, Body()]) -> Any:
    return await calls("org", "create_absence", data=body.model_dump(mode="json"))


@router.get("/legal-entities", response_model=list[schemas.LegalEntity])
async def list_legal_entities(calls: Calls) -> Any:
    return await calls("org", "list_legal_entities")


@router.get(
    "/assignees",
    response_model=list[schemas.Assignee],
    summary="Who would get a task for this rule at this moment (deputies substituted)",
    responses=NOT_FOUND,
)
async def resolve_assignees(
    calls: Calls,
    kind: Literal["role", "department_head", "user"],
    at: datetime,
    role: str | None = None,
    user_id: str | None = None,
) -> Any:
    rule = {"kind": kind, "role": role, "user_id": user_id}
    return await calls("org", "resolve_assignees", rule=rule, at=at.isoformat())


@router.get(
    "/calendar",
    response_model=schemas.CalendarYear,
    summary="The production calendar of a year: working, short, weekend and holiday days",
)
async def calendar_year(calls: Calls, year: Annotated[int, Query(ge=2000, le=2100)] = 2026) -> Any:
    return await calls("org", "calendar_year", year=year)


class Imported(BaseModel):
    imported: int


@router.put(
    "/calendar/overrides",
    response_model=Imported,
    summary="Import official production-calendar days (administrators); the latest wins",
    responses=FORBIDDEN,
)
async def import_calendar(calls: Calls, body: Annotated[schemas.CalendarImport, Body()]) -> Any:
    return await calls("org", "import_calendar", data=body.model_dump(mode="json"))
