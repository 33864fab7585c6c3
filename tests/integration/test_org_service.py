"""org_svc over real RPC: identity is required, roles are enforced, deputies stand in."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.auth import Identity
from services.devstack import Stack
from services.testing.plugin import Rpc, eventually

pytestmark = pytest.mark.integration


def test_a_call_without_identity_is_refused_before_any_work(rpc: Rpc) -> None:
    with pytest.raises(Exception) as caught:
        rpc(None, "org", "list_departments")
    assert getattr(caught.value, "exc_type", "") == "Unauthenticated"


def test_health_answers_without_identity(rpc: Rpc) -> None:
    assert rpc(None, "org", "health") == {"service": "org", "status": "ok"}


def test_only_administrators_add_people(rpc: Rpc, people: dict[str, Identity]) -> None:
    lawyer = people["lawyer"]
    with pytest.raises(Exception) as caught:
        rpc(
            lawyer,
            "org",
            "create_user",
            data={
                "username": "intruder",
                "full_name": "X",
                "department_id": lawyer.department_id,
            },
        )
    assert getattr(caught.value, "exc_type", "") == "Forbidden"


def test_a_taken_username_is_a_conflict(rpc: Rpc, people: dict[str, Identity]) -> None:
    admin = people["admin"]
    with pytest.raises(Exception) as caught:
        rpc(
            admin,
            "org",
            "create_user",
            data={
                "username": "lawyer",
                "full_name": "Двойник",
                "department_id": admin.department_id,
            },
        )
    assert getattr(caught.value, "exc_type", "") == "Conflict"


def test_the_demo_company_has_every_role_of_the_processes(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    roles = {r["code"] for r in rpc(people["lawyer"], "org", "list_roles")}
    needed = {
        "pto",
        "lawyer",
        "finance_manager",
        "financial_director",
        "chief_accountant",
        "accountant",
        "junior_accountant",
        "ceo",
        "director",
        "operations_manager",
        "office_manager",
        "reception",
        "curator",
    }
    assert needed <= roles
    held = set().union(*(p.roles for p in people.values()))
    assert needed <= held
    entities = rpc(people["lawyer"], "org", "list_legal_entities")
    assert len(entities) == 2


def test_a_deputy_stands_in_for_an_absent_lawyer_only_during_the_absence(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    lawyer, deputy = people["lawyer2"], people["lawyer"]
    start = datetime(2031, 7, 1, 0, 0, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 300)
    rpc(
        lawyer,
        "org",
        "create_absence",
        data={
            "user_id": lawyer.user_id,
            "deputy_id": deputy.user_id,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(days=7)).isoformat(),
        },
    )
    during = rpc(
        lawyer,
        "org",
        "resolve_assignees",
        rule={"kind": "user", "user_id": lawyer.user_id},
        at=(start + timedelta(days=1)).isoformat(),
    )
    assert during == [{"user_id": deputy.user_id, "on_behalf_of": lawyer.user_id, "absent": False}]
    after = rpc(
        lawyer,
        "org",
        "resolve_assignees",
        rule={"kind": "user", "user_id": lawyer.user_id},
        at=(start + timedelta(days=8)).isoformat(),
    )
    assert after == [{"user_id": lawyer.user_id, "on_behalf_of": None, "absent": False}]


def test_nobody_registers_someone_elses_absence(rpc: Rpc, people: dict[str, Identity]) -> None:
    with pytest.raises(Exception) as caught:
        rpc(
            people["manager"],
            "org",
            "create_absence",
            data={
                "user_id": people["ceo"].user_id,
                "deputy_id": people["manager"].user_id,
                "starts_at": "2031-01-10T00:00:00+03:00",
                "ends_at": "2031-01-20T00:00:00+03:00",
            },
        )
    assert getattr(caught.value, "exc_type", "") == "Forbidden"


def test_the_head_of_the_initiators_department_is_resolved(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    found = rpc(
        people["manager"],
        "org",
        "resolve_assignees",
        rule={"kind": "department_head", "user_id": people["manager"].user_id},
        at="2026-11-23T10:00:00+03:00",
    )
    assert [a["user_id"] for a in found] == [people["sales.head"].user_id]


def test_every_call_is_counted_and_logged_with_its_ids(
    rpc: Rpc, people: dict[str, Identity], suite: Stack
) -> None:
    rpc(people["lawyer"], "org", "get_user", user_id=people["ceo"].user_id)
    port = suite.metrics_ports["org_svc"]

    def get_user_counts() -> list[float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        wanted = ('entrypoint="get_user"', 'kind="rpc"', 'service="org"')
        return [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("docflow_entrypoint_calls_total{")
            and all(label in line for label in wanted)
        ]

    counts = eventually(get_user_counts)
    assert counts and counts[0] >= 1

    def access_lines() -> list[dict[str, str]]:
        log = (suite.log_dir / "org_svc.log").read_text()
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("entrypoint") == "get_user"]

    # Other services call get_user too (as the system): find the lawyer's call.
    access = eventually(
        lambda: [a for a in access_lines() if a.get("user_id") == people["lawyer"].user_id]
    )
    assert access and access[-1]["call_id"].startswith("org.get_user")
