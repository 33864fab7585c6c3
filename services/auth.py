"""Who is calling: identity carried in nameko context data, and permission checks.

The gateway authenticates the person and sends ``user_id``, ``username``,
``roles`` (comma-separated), ``department_id`` and ``correlation_id`` as
nameko context data (AMQP headers ``nameko.<key>``). nameko copies context
data onto every onward RPC and event, so a service that calls another passes
the same caller along. Services authorise on it themselves: the gateway is not
the only guard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nameko.extensions import DependencyProvider

from services.errors import Forbidden

#: Role of the services themselves (timer sweeps, internal calls, seeding).
SYSTEM_ROLE = "system"
#: Role that administers the org directory and the calendar.
ADMIN_ROLE = "admin"

CONTEXT_KEYS = ("user_id", "username", "roles", "department_id", "correlation_id")


@dataclass(frozen=True)
class Identity:
    user_id: str
    username: str = ""
    roles: frozenset[str] = frozenset()
    department_id: str | None = None

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_system(self) -> bool:
        return SYSTEM_ROLE in self.roles

    def to_context(self, correlation_id: str | None = None) -> dict[str, str]:
        """Context data for an outgoing call (every value a string: AMQP headers)."""
        data = {
            "user_id": self.user_id,
            "username": self.username,
            "roles": ",".join(sorted(self.roles)),
        }
        if self.department_id:
            data["department_id"] = self.department_id
        if correlation_id:
            data["correlation_id"] = correlation_id
        return data

    @classmethod
    def from_context(cls, data: Mapping[str, Any]) -> Identity | None:
        user_id = data.get("user_id")
        if not user_id:
            return None
        raw_roles = data.get("roles") or ""
        roles = raw_roles.split(",") if isinstance(raw_roles, str) else list(raw_roles)
        return cls(
            user_id=str(user_id),
            username=str(data.get("username") or ""),
            roles=frozenset(r for r in roles if r),
            department_id=str(data["department_id"]) if data.get("department_id") else None,
        )


SYSTEM = Identity(user_id="system", username="system", roles=frozenset({SYSTEM_ROLE}))


def require_role(identity: Identity, roles: Iterable[str], action: str) -> None:
    allowed = set(roles) | {SYSTEM_ROLE}
    if not identity.roles.intersection(allowed):
        raise Forbidden(f"{action} needs one of the roles: {', '.join(sorted(set(roles)))}")


ANONYMOUS = Identity(user_id="", username="anonymous")


class Caller(DependencyProvider):  # type: ignore[misc]
    """Injects the caller's ``Identity``.

    RPC entrypoints declared with ``services.entrypoints.rpc`` refuse calls that
    carry no identity before a worker starts, so an RPC method always sees a
    person (or ``ANONYMOUS`` on a ``public`` one). Event handlers and timers act
    for the system unless the event carried the person who caused it.
    """

    def get_dependency(self, worker_ctx: Any) -> Identity:
        identity = Identity.from_context(worker_ctx.context_data)
        if identity is not None:
            return identity
        if type(worker_ctx.entrypoint).__name__.endswith("Rpc"):
            return ANONYMOUS
        return SYSTEM
