"""The process layer's link to org_svc from workers that have no caller (timers, events)."""

from __future__ import annotations

from types import SimpleNamespace

from nameko.containers import WorkerContext

from services.auth import SYSTEM, Identity
from services.processes import OrgDirectory


def worker(data: dict[str, str]) -> WorkerContext:
    container = SimpleNamespace(config={}, service_name="contracts")
    entrypoint = SimpleNamespace(method_name="sweep_on_schedule")
    return WorkerContext(container, service=None, entrypoint=entrypoint, data=dict(data))


def directory() -> OrgDirectory:
    proxy = OrgDirectory()
    proxy.rpc_reply_listener = object()  # set by nameko at bind time; unused here
    return proxy


def test_a_worker_without_a_caller_asks_org_as_the_system() -> None:
    ctx = worker({})
    directory().get_dependency(ctx)
    # What the proxy will send in its message headers when it calls org_svc.
    assert Identity.from_context(ctx.context_data) == SYSTEM


def test_a_callers_identity_is_kept() -> None:
    lawyer = Identity(user_id="u-1", username="lawyer", roles=frozenset({"lawyer"}))
    ctx = worker(lawyer.to_context())
    directory().get_dependency(ctx)
    assert Identity.from_context(ctx.context_data) == lawyer
