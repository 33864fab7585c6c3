"""Mass assignment: server-owned fields in a body are refused (422) or ignored, never
applied. Every case reads the object back as its owner to prove it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.security.conftest import new_contract, new_counterparty, ok, problem

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]
FOREIGN = "00000000-0000-4000-8000-00000000beef"

#: Fields a client must never set on a card.
SERVER_OWNED: dict[str, Any] = {
    "id": FOREIGN,
    "status": "completed",
    "version": 99,
    "created_by": FOREIGN,
    "register_number": "Д-2026-9999",
    "responsible": [FOREIGN],
    "created_at": "2020-01-01T00:00:00Z",
}


@pytest.fixture(scope="module")
def counterparty(gateway: httpx.Client, token_for: Headers) -> dict[str, Any]:
    return new_counterparty(gateway, token_for)


@pytest.mark.parametrize(("field", "value"), list(SERVER_OWNED.items()))
def test_contract_create_refuses_server_owned_fields(
    gateway: httpx.Client,
    token_for: Headers,
    counterparty: dict[str, Any],
    field: str,
    value: Any,
) -> None:
    body = {
        "subject": "Поставка (лишние поля)",
        "counterparty_id": counterparty["id"],
        "amount": "10.00",
        field: value,
    }
    refused = problem(
        gateway.post("/api/v1/contracts", headers=token_for("manager"), json=body), 422
    )
    assert [field] in [e["loc"][-1:] for e in refused["errors"]]
    listed = ok(
        gateway.get(
            "/api/v1/contracts",
            headers=token_for("admin"),
            params={"counterparty_id": counterparty["id"], "limit": 200},
        )
    )
    assert all(c["subject"] != "Поставка (лишние поля)" for c in listed["items"])


@pytest.mark.parametrize(
    ("field", "value"),
    [*SERVER_OWNED.items(), ("department_id", FOREIGN), ("counterparty_id", FOREIGN)],
)
def test_contract_patch_refuses_server_owned_fields(
    gateway: httpx.Client,
    token_for: Headers,
    counterparty: dict[str, Any],
    field: str,
    value: Any,
) -> None:
    card = new_contract(gateway, token_for, counterparty["id"])
    url = f"/api/v1/contracts/{card['id']}"
    problem(gateway.patch(url, headers=token_for("manager"), json={field: value}), 422)
    after = ok(gateway.get(url, headers=token_for("manager")))
    assert after == card | {"process": after["process"]}


@pytest.mark.parametrize(("field", "value"), list(SERVER_OWNED.items()))
def test_counterparty_patch_refuses_server_owned_fields(
    gateway: httpx.Client,
    token_for: Headers,
    counterparty: dict[str, Any],
    field: str,
    value: Any,
) -> None:
    url = f"/api/v1/counterparties/{counterparty['id']}"
    before = ok(gateway.get(url, headers=token_for("lawyer")))
    problem(gateway.patch(url, headers=token_for("lawyer"), json={field: value}), 422)
    assert ok(gateway.get(url, headers=token_for("lawyer"))) == before


def test_a_person_cannot_give_themselves_roles_or_move_department(
    gateway: httpx.Client, token_for: Headers, card_of: Callable[[str], dict[str, Any]]
) -> None:
    me = card_of("manager")
    for body in ({"roles": ["admin"]}, {"department_id": card_of("lawyer")["department_id"]}):
        answer = gateway.put("/api/v1/me/channels", headers=token_for("manager"), json=body)
        problem(answer, 422)
    problem(
        gateway.put(
            f"/api/v1/org/users/{me['id']}/roles",
            headers=token_for("manager"),
            json={"roles": ["admin"]},
        ),
        403,
    )
    token = gateway.post(
        "/api/v1/auth/token",
        json={"username": "manager", "password": "docflow-demo", "roles": ["admin"]},
    )
    problem(token, 422)
    assert ok(gateway.get("/api/v1/me", headers=token_for("manager"))) == me


def test_a_new_person_gets_no_server_owned_fields(
    gateway: httpx.Client, token_for: Headers, card_of: Callable[[str], dict[str, Any]]
) -> None:
    body = {
        "username": "mass.assign",
        "full_name": "Лишние Поля",
        "department_id": card_of("manager")["department_id"],
        "id": FOREIGN,
        "active": False,
        "password_hash": "x",
    }
    refused = problem(gateway.post("/api/v1/org/users", headers=token_for("admin"), json=body), 422)
    assert {tuple(e["loc"][-1:]) for e in refused["errors"]} >= {("id",), ("password_hash",)}
    found = ok(
        gateway.get("/api/v1/org/users", headers=token_for("admin"), params={"q": "mass.assign"})
    )
    assert found["items"] == []


def test_a_decision_cannot_name_another_actor(
    gateway: httpx.Client, token_for: Headers, counterparty: dict[str, Any]
) -> None:
    card = new_contract(gateway, token_for, counterparty["id"])
    ok(
        gateway.post(
            f"/api/v1/contracts/{card['id']}/submit", headers=token_for("manager"), json={}
        )
    )
    tasks = ok(gateway.get("/api/v1/tasks", headers=token_for("sales.head")))["items"]
    task = next(t for t in tasks if t["card_id"] == card["id"])
    for extra in ({"actor_id": FOREIGN}, {"assignee_id": FOREIGN}, {"state": "done"}):
        problem(
            gateway.post(
                f"/api/v1/tasks/{task['id']}/decision",
                headers=token_for("sales.head"),
                json={"action": "approve", **extra},
            ),
            422,
        )
    after = ok(gateway.get(f"/api/v1/tasks/{task['id']}", headers=token_for("sales.head")))
    assert (after["state"], after["assignee_id"], after["instance_version"]) == (
        "open",
        task["assignee_id"],
        task["instance_version"],
    )


def test_upload_form_fields_cannot_set_owner_id_or_another_departments_folder(
    gateway: httpx.Client, token_for: Headers, card_of: Callable[[str], dict[str, Any]]
) -> None:
    me = card_of("manager")
    made = ok(
        gateway.post(
            "/api/v1/files",
            headers=token_for("manager"),
            data={"id": FOREIGN, "created_by": FOREIGN, "version": "7", "folder_path": "dept-x"},
            files={"file": ("a.txt", b"mass assignment", "text/plain")},
        ),
        201,
    )
    back = ok(gateway.get(f"/api/v1/files/{made['id']}", headers=token_for("manager")))
    assert back["id"] != FOREIGN and back["created_by"] == me["id"]
    assert back["version"] == 1 and back["department_id"] == me["department_id"]
    assert back["folder_path"] == f"dept-{me['department_id']}"
    # Filing into another department's folder needs the archivist role.
    problem(
        gateway.post(
            "/api/v1/files",
            headers=token_for("manager"),
            data={"department_id": card_of("findir")["department_id"]},
            files={"file": ("b.txt", b"elsewhere", "text/plain")},
        ),
        403,
    )
