"""org_svc entrypoints: people, departments, roles, deputies, assignee resolution."""

from __future__ import annotations

from typing import Any

from org_svc import calendar, usecases
from services.base import ServiceBase
from services.entrypoints import rpc
from services.errors import Unauthenticated
from services.idempotency import idempotent
from services.schemas import org as schemas
from services.validation import dump, parse, parse_moment


class OrgService(ServiceBase):
    name = "org"

    @rpc
    def me(self) -> dict[str, Any]:
        return dump(usecases.get_user(self.db, self.caller.user_id))

    @rpc
    def get_user(self, user_id: str) -> dict[str, Any]:
        return dump(usecases.get_user(self.db, user_id))

    @rpc
    def list_users(
        self,
        department_id: str | None = None,
        role: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        return usecases.list_users(self.db, department_id, role, q, limit, cursor)

    @rpc
    @idempotent
    def create_user(self, data: dict[str, Any]) -> dict[str, Any]:
        out = usecases.create_user(self.db, self.caller, self.events, parse(schemas.NewUser, data))
        self.db.commit()
        return dump(out)

    @rpc
    @idempotent
    def set_roles(self, user_id: str, roles: list[str]) -> dict[str, Any]:
        out = usecases.set_roles(self.db, self.caller, self.events, user_id, roles)
        self.db.commit()
        return dump(out)

    @rpc
    def list_departments(self) -> list[dict[str, Any]]:
        return dump(usecases.list_departments(self.db))  # type: ignore[no-any-return]

    @rpc
    def get_department(self, department_id: str) -> dict[str, Any]:
        return dump(usecases.get_department(self.db, department_id))

    @rpc
    @idempotent
    def create_department(self, data: dict[str, Any]) -> dict[str, Any]:
        new = parse(schemas.NewDepartment, data)
        out = usecases.create_department(self.db, self.caller, self.events, new)
        self.db.commit()
        return dump(out)

    @rpc
    @idempotent
    def set_department_head(self, department_id: str, user_id: str) -> dict[str, Any]:
        out = usecases.set_department_head(
            self.db, self.caller, self.events, department_id, user_id
        )
        self.db.commit()
        return dump(out)

    @rpc
    def list_roles(self) -> list[dict[str, Any]]:
        return dump(usecases.list_roles(self.db))  # type: ignore[no-any-return]

    @rpc
    @idempotent
    def create_absence(self, data: dict[str, Any]) -> dict[str, Any]:
        new = parse(schemas.NewAbsence, data)
        out = usecases.create_absence(self.db, self.caller, self.events, new)
        self.db.commit()
        return dump(out)

    @rpc
    def list_absences(self, user_id: str | None = None, at: str | None = None) -> list[Any]:
        return dump(usecases.list_absences(self.db, user_id, parse_moment(at, "at")))  # type: ignore[no-any-return]

    @rpc
    def resolve_assignees(self, rule: dict[str, Any], at: str) -> list[dict[str, Any]]:
        moment = parse_moment(at, "at")
        assert moment is not None
        found = usecases.resolve_assignees(self.db, parse(schemas.AssigneeRule, rule), moment)
        return dump(found)  # type: ignore[arg-type,no-any-return]

    @rpc
    def list_legal_entities(self) -> list[dict[str, Any]]:
        return dump(usecases.list_legal_entities(self.db))  # type: ignore[arg-type,no-any-return]

    @rpc
    def calendar_year(self, year: int) -> dict[str, Any]:
        return dump(calendar.year_view(self.db, year, self.settings.timezone))

    @rpc
    def calendar_overrides(self) -> dict[str, str]:
        """For services that build their business calendar (route SLAs)."""
        return {d.isoformat(): k for d, k in sorted(calendar.overrides(self.db).items())}

    @rpc
    @idempotent
    def import_calendar(self, data: dict[str, Any]) -> dict[str, int]:
        count = calendar.import_overrides(
            self.db, self.caller, self.events, parse(schemas.CalendarImport, data)
        )
        self.db.commit()
        return {"imported": count}

    @rpc
    def identify(self, username: str) -> dict[str, Any]:
        """The gateway's lookup of an OIDC-authenticated person (system caller only)."""
        if not self.caller.is_system:
            raise Unauthenticated("identify is for the gateway")
        return dump(usecases.identify(self.db, username))

    @rpc(public=True)
    def authenticate(self, username: str, password: str) -> dict[str, Any]:
        """Checks a demo user's password; the gateway then issues a token."""
        found = usecases.authenticate(self.db, username, password)
        if found is None:
            raise Unauthenticated("wrong username or password")
        return dump(found)
