"""The engine's ``OrgLookup`` over org_svc's ``resolve_assignees`` RPC.

A service passes a callable that makes the RPC (``self.org.resolve_assignees``
through a nameko ``RpcProxy("org")``), so this module imports no nameko. A
rule naming someone the directory does not know (org answers ``NotFound``)
resolves to nobody, and the engine's fallback rules take over.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.workflow.model import Assignee

ResolveCall = Callable[..., list[dict[str, Any]]]


class RpcOrgLookup:
    def __init__(self, resolve_assignees: ResolveCall) -> None:
        self._resolve = resolve_assignees

    def resolve(self, rule: dict[str, str], at: datetime) -> list[Assignee]:
        try:
            found = self._resolve(rule=rule, at=at.isoformat())
        except Exception as exc:  # nameko's RemoteError carries the wire class name
            if getattr(exc, "exc_type", None) == "NotFound":
                return []
            raise
        return [Assignee(a["user_id"], on_behalf_of=a.get("on_behalf_of")) for a in found]
