"""Fixtures of the security suite: the objects the authorization matrix probes,
signed tokens made with the running gateway's own key, and problem checks.

Everything runs against the ``suite`` fixture (every service and the gateway as
processes on this run's vhost and databases); nothing is mocked.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import jwt
import pytest

from counterparty_svc.testing import legal_entity
from services.devstack import Stack

Headers = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"

#: Every seeded demo person (org_svc/seed.py).
PEOPLE = (
    "admin",
    "ceo",
    "director",
    "ops",
    "lawyer",
    "lawyer2",
    "findir",
    "finman",
    "chief.accountant",
    "accountant",
    "junior.accountant",
    "pto",
    "sales.head",
    "manager",
    "manager2",
    "office",
    "reception",
)


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, (answer.request.method, answer.request.url, answer.text)
    assert answer.headers["content-type"] == PROBLEM, answer.headers
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.request.method, answer.request.url, answer.text)
    return answer.json() if answer.content else None


@pytest.fixture(scope="session")
def jwt_secret(suite: Stack) -> str:
    """The HS256 key the suite's gateway signs its own (demo) tokens with."""
    return suite.extra_env["DOCFLOW_JWT_SECRET"]


@pytest.fixture(scope="session")
def mint(jwt_secret: str) -> Callable[..., str]:
    """A token as ``gateway.auth.issue_token`` makes it; keyword arguments change or drop
    (``None``) claims; ``key``/``algorithm``/``headers`` change the signing."""

    def make(
        person: dict[str, Any],
        *,
        key: Any = None,
        algorithm: str = "HS256",
        headers: dict[str, Any] | None = None,
        **changes: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "docflow",
            "aud": "docflow-api",
            "sub": person["id"],
            "preferred_username": person["username"],
            "roles": person["roles"],
            "department_id": person["department_id"],
            "iat": now,
            "exp": now + 600,
        }
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(
            claims, jwt_secret if key is None else key, algorithm=algorithm, headers=headers
        )

    return make


@pytest.fixture(scope="session")
def card_of(gateway: httpx.Client, token_for: Headers) -> Callable[[str], dict[str, Any]]:
    """A demo person's directory card (``GET /me``), by username."""
    cache: dict[str, dict[str, Any]] = {}

    def get(username: str) -> dict[str, Any]:
        if username not in cache:
            cache[username] = ok(gateway.get("/api/v1/me", headers=token_for(username)))
        return cache[username]

    return get


FULL_PACKAGE = ("charter", "egrul_extract", "director_appointment")


def new_counterparty(gateway: httpx.Client, token_for: Headers) -> dict[str, Any]:
    """A counterparty with its statutory documents in order (so a contract can be submitted)."""
    lawyer = token_for("lawyer")
    card: dict[str, Any] = ok(
        gateway.post("/api/v1/counterparties", headers=lawyer, json=legal_entity()), 201
    )
    for doc_type in FULL_PACKAGE:
        scan = ok(
            gateway.post(
                "/api/v1/files",
                headers=lawyer,
                data={"counterparty_id": card["id"]},
                files={"file": (f"{doc_type}.pdf", b"%PDF-1.7 scan", "application/pdf")},
            ),
            201,
        )
        ok(
            gateway.post(
                f"/api/v1/counterparties/{card['id']}/documents",
                headers=lawyer,
                json={
                    "doc_type": doc_type,
                    "issued_on": date.today().isoformat(),
                    "file_id": scan["id"],
                },
            ),
            201,
        )
    return card


def new_contract(
    gateway: httpx.Client, token_for: Headers, counterparty_id: str, author: str = "manager"
) -> dict[str, Any]:
    body = {
        "number": f"SEC-{uuid.uuid4().hex[:6]}",
        "contract_type": "supply",
        "subject": "Поставка текстиля (проверка прав)",
        "counterparty_id": counterparty_id,
        "amount": "1000.00",
        "currency": "RUB",
    }
    created: dict[str, Any] = ok(
        gateway.post("/api/v1/contracts", headers=token_for(author), json=body), 201
    )
    return created


@dataclass(frozen=True)
class World:
    """What the matrix probes; every object made by a person of the sales department."""

    counterparty: dict[str, Any]
    draft: dict[str, Any]  # manager's draft contract
    submitted: dict[str, Any]  # manager's contract, in approval
    task_id: str  # the sales head's open approval task on ``submitted``
    file: dict[str, Any]  # manager's file in the sales folder
    notification_id: str  # the sales head's "to approve" notification


@pytest.fixture(scope="module")
def world(gateway: httpx.Client, token_for: Headers) -> World:
    cp = new_counterparty(gateway, token_for)
    draft = new_contract(gateway, token_for, cp["id"])
    submitted = new_contract(gateway, token_for, cp["id"])
    ok(
        gateway.post(
            f"/api/v1/contracts/{submitted['id']}/submit", headers=token_for("manager"), json={}
        )
    )
    tasks = ok(gateway.get("/api/v1/tasks", headers=token_for("sales.head")))["items"]
    task_ids = [t["id"] for t in tasks if t["card_id"] == submitted["id"]]
    assert len(task_ids) == 1, tasks
    file = ok(
        gateway.post(
            "/api/v1/files",
            headers=token_for("manager"),
            data={"title": "Коммерческое предложение (отдел продаж)"},
            files={"file": ("offer.pdf", b"%PDF-1.7 sales-only offer", "application/pdf")},
        ),
        201,
    )

    def notification() -> str | None:
        page = ok(gateway.get("/api/v1/notifications", headers=token_for("sales.head")))
        found = [n["id"] for n in page["items"] if n["card_id"] == submitted["id"]]
        return found[0] if found else None

    from services.testing.plugin import eventually

    notification_id = eventually(notification, seconds=20)
    assert notification_id, "the sales head got no notification of the task"
    return World(cp, draft, submitted, task_ids[0], file, notification_id)
