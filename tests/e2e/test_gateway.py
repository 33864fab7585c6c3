"""The suite as a company system sees it: over HTTP, through the gateway only."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
Headers = Callable[[str], dict[str, str]]


def assert_problem(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, object] = answer.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


def test_readiness_reports_every_service(gateway: httpx.Client) -> None:
    answer = gateway.get("/readyz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ready" and body["broker"] is True
    assert set(body["services"]) == {
        "org",
        "counterparty",
        "contracts",
        "payments",
        "mail",
        "archive",
        "notify",
    }
    assert set(body["services"].values()) == {"ok"}


def test_health_and_metrics_need_no_token(gateway: httpx.Client) -> None:
    assert gateway.get("/healthz").json() == {"status": "ok"}
    metrics = gateway.get("/metrics")
    assert metrics.status_code == 200
    assert "docflow_http_requests_total" in metrics.text


def test_a_demo_person_signs_in_and_sees_their_card(
    gateway: httpx.Client, token_for: Headers
) -> None:
    me = gateway.get("/api/v1/me", headers=token_for("chief.accountant"))
    assert me.status_code == 200
    assert me.json()["username"] == "chief.accountant"
    assert me.json()["roles"] == ["chief_accountant"]


def test_a_wrong_password_is_401(gateway: httpx.Client) -> None:
    answer = gateway.post("/api/v1/auth/token", json={"username": "ceo", "password": "guess"})
    assert_problem(answer, 401)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Basic Y2VvOmd1ZXNz", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"],
)
def test_every_api_endpoint_refuses_a_missing_or_wrong_token(
    gateway: httpx.Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for path in (
        "/api/v1/me",
        "/api/v1/org/users",
        "/api/v1/org/departments",
        "/api/v1/org/roles",
        "/api/v1/org/absences",
    ):
        body = assert_problem(gateway.get(path, headers=headers), 401)
        assert body["title"] == "Not authenticated"


def test_an_unknown_user_is_404(gateway: httpx.Client, token_for: Headers) -> None:
    for user_id in (str(uuid.uuid4()), "no-such-id"):
        answer = gateway.get(f"/api/v1/org/users/{user_id}", headers=token_for("lawyer"))
        assert_problem(answer, 404)


def test_a_malformed_body_is_422_with_field_paths(
    gateway: httpx.Client, token_for: Headers
) -> None:
    answer = gateway.post(
        "/api/v1/org/users", headers=token_for("admin"), json={"username": "Bad Name!"}
    )
    body = assert_problem(answer, 422)
    locations = {tuple(e["loc"]) for e in body["errors"]}  # type: ignore[attr-defined]
    assert ("body", "username") in locations and ("body", "department_id") in locations


def test_an_administrator_builds_the_directory_and_others_may_not(
    gateway: httpx.Client, token_for: Headers
) -> None:
    code = f"qa-{uuid.uuid4().hex[:6]}"
    dept = gateway.post(
        "/api/v1/org/departments",
        headers=token_for("admin"),
        json={"name": "Отдел качества", "code": code},
    )
    assert dept.status_code == 201, dept.text
    person = gateway.post(
        "/api/v1/org/users",
        headers=token_for("admin"),
        json={
            "username": f"{code}.head",
            "full_name": "Глава Качества",
            "department_id": dept.json()["id"],
            "roles": ["curator"],
        },
    )
    assert person.status_code == 201, person.text
    head = gateway.put(
        f"/api/v1/org/departments/{dept.json()['id']}/head",
        headers=token_for("admin"),
        json={"user_id": person.json()["id"]},
    )
    assert head.json()["head_user_id"] == person.json()["id"]

    listed = gateway.get(
        "/api/v1/org/users",
        headers=token_for("lawyer"),
        params={"department_id": dept.json()["id"]},
    )
    assert [u["username"] for u in listed.json()["items"]] == [f"{code}.head"]

    refused = gateway.post(
        "/api/v1/org/departments",
        headers=token_for("lawyer"),
        json={"name": "Теневой отдел", "code": f"{code}-x"},
    )
    assert_problem(refused, 403)
    duplicate = gateway.post(
        "/api/v1/org/departments",
        headers=token_for("admin"),
        json={"name": "Отдел качества", "code": code},
    )
    assert_problem(duplicate, 409)


def test_users_page_with_a_cursor(gateway: httpx.Client, token_for: Headers) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = gateway.get("/api/v1/org/users", headers=token_for("lawyer"), params=params)
        assert page.status_code == 200
        seen += [u["username"] for u in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) >= 17
    assert_problem(
        gateway.get("/api/v1/org/users", headers=token_for("lawyer"), params={"cursor": "%%%"}), 422
    )


def test_who_would_get_a_task_for_a_role(gateway: httpx.Client, token_for: Headers) -> None:
    answer = gateway.get(
        "/api/v1/org/assignees",
        headers=token_for("manager"),
        params={"kind": "role", "role": "chief_accountant", "at": "2026-11-23T10:00:00+03:00"},
    )
    assert answer.status_code == 200
    me = gateway.get("/api/v1/me", headers=token_for("chief.accountant")).json()
    assert [a["user_id"] for a in answer.json()] == [me["id"]]


def test_the_correlation_id_comes_back(gateway: httpx.Client, token_for: Headers) -> None:
    answer = gateway.get(
        "/api/v1/me", headers={**token_for("ceo"), "X-Correlation-ID": "trace-0123456789"}
    )
    assert answer.headers["X-Correlation-ID"] == "trace-0123456789"


def test_openapi_documents_examples_and_problems(gateway: httpx.Client) -> None:
    schema = gateway.get("/openapi.json").json()
    assert "/api/v1/org/users" in schema["paths"]
    token_body = schema["components"]["schemas"]["TokenRequest"]
    assert token_body["examples"][0]["username"] == "lawyer"
    get_user = schema["paths"]["/api/v1/org/users/{user_id}"]["get"]
    assert "application/problem+json" in get_user["responses"]["404"]["content"]
