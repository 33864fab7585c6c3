"""Counterparties and the catalogue as a company system sees them: over HTTP only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from counterparty_svc.testing import OneCStub, legal_entity, onec_item, sole_proprietor
from services.devstack import Stack

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
Headers = Callable[[str], dict[str, str]]
BASE = "/api/v1/counterparties"


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_create_read_and_change_a_card_with_its_version(
    gateway: httpx.Client, token_for: Headers
) -> None:
    created = gateway.post(BASE, headers=token_for("lawyer"), json=legal_entity())
    assert created.status_code == 201, created.text
    card = created.json()
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == f"{BASE}/{card['id']}"

    read = gateway.get(f"{BASE}/{card['id']}", headers=token_for("reception"))
    assert read.json() == card

    changed = gateway.patch(
        f"{BASE}/{card['id']}",
        headers={**token_for("lawyer"), "If-Match": '"1"'},
        json={"category": "tenant"},
    )
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    stale = gateway.patch(
        f"{BASE}/{card['id']}",
        headers={**token_for("lawyer2"), "If-Match": '"1"'},
        json={"category": "client"},
    )
    problem(stale, 409)
    assert (
        gateway.get(f"{BASE}/{card['id']}", headers=token_for("lawyer")).json()["category"]
        == "tenant"
    )


def test_a_bad_card_is_422_with_field_paths(gateway: httpx.Client, token_for: Headers) -> None:
    data = legal_entity()
    wrong = data["inn"][:-1] + str((int(data["inn"][-1]) + 1) % 10)
    body = problem(gateway.post(BASE, headers=token_for("lawyer"), json=data | {"inn": wrong}), 422)
    assert [e["loc"] for e in body["errors"]] == [["inn"]]
    body = problem(
        gateway.post(BASE, headers=token_for("lawyer"), json=data | {"kind": "partnership"}), 422
    )
    assert ["body", "kind"] in [e["loc"] for e in body["errors"]]
    accounts = [{"bik": "044525225", "account": "40702810038000000001"}]
    body = problem(
        gateway.post(BASE, headers=token_for("lawyer"), json=data | {"bank_accounts": accounts}),
        422,
    )
    # nameko stringifies non-string values in an error's args: the index arrives as "0".
    assert [[str(p) for p in e["loc"]] for e in body["errors"]] == [
        ["bank_accounts", "0", "account"]
    ]
    assert (
        gateway.get(BASE, headers=token_for("lawyer"), params={"inn": data["inn"]}).json()["items"]
        == []
    )


def test_a_duplicate_is_409_and_reception_may_not_create(
    gateway: httpx.Client, token_for: Headers
) -> None:
    data = sole_proprietor()
    assert gateway.post(BASE, headers=token_for("office"), json=data).status_code == 201
    problem(gateway.post(BASE, headers=token_for("accountant"), json=data), 409)
    problem(gateway.post(BASE, headers=token_for("reception"), json=sole_proprietor()), 403)


def test_lists_filter_and_page_with_a_cursor(gateway: httpx.Client, token_for: Headers) -> None:
    tag = uuid.uuid4().hex[:8]
    for i in range(5):
        data = legal_entity(short_name=f"Пагинация {tag} {i}")
        assert gateway.post(BASE, headers=token_for("lawyer"), json=data).status_code == 201
    gateway.post(
        BASE, headers=token_for("lawyer"), json=sole_proprietor(short_name=f"Пагинация {tag} ИП")
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": tag, "kind": "legal_entity", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = gateway.get(BASE, headers=token_for("reception"), params=params).json()
        seen += [c["short_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"Пагинация {tag} {i}" for i in range(5)]
    problem(gateway.get(BASE, headers=token_for("lawyer"), params={"kind": "partnership"}), 422)


def test_lookup_verify_and_1c_down(gateway: httpx.Client, token_for: Headers, suite: Stack) -> None:
    onec = OneCStub(suite)
    data = legal_entity()
    onec.add(onec_item(data))
    found = gateway.post(f"{BASE}/lookup", headers=token_for("manager"), json={"inn": data["inn"]})
    assert found.status_code == 200
    draft = found.json()["onec"][0]["card"]
    created = gateway.post(BASE, headers=token_for("manager"), json=draft | {"category": "client"})
    assert created.status_code == 201, created.text
    verified = gateway.post(f"{BASE}/{created.json()['id']}/verify", headers=token_for("manager"))
    assert verified.json()["outcome"] == "confirmed"
    onec.mode(down=True)
    try:
        body = problem(
            gateway.post(f"{BASE}/{created.json()['id']}/verify", headers=token_for("manager")),
            503,
        )
        assert "1C" in body["detail"]
    finally:
        onec.mode(down=False)
    problem(gateway.post(f"{BASE}/lookup", headers=token_for("manager"), json={"inn": "1"}), 422)


def test_import_runs_in_the_background_with_progress(
    gateway: httpx.Client, token_for: Headers
) -> None:
    from services.testing.plugin import eventually

    started = gateway.post(f"{BASE}/import", headers=token_for("chief.accountant"), json={})
    assert started.status_code == 202, started.text
    location = started.headers["Location"]

    def completed() -> dict[str, Any] | None:
        job: dict[str, Any] = gateway.get(location, headers=token_for("reception")).json()
        return job if job["state"] == "completed" else None

    job = eventually(completed, seconds=60, pause=0.3)
    assert job and job["done"] == job["total"]
    problem(gateway.post(f"{BASE}/import", headers=token_for("lawyer"), json={}), 403)
    problem(gateway.get(f"{BASE}/import/{uuid.uuid4()}", headers=token_for("lawyer")), 404)


def test_documents_arrive_one_by_one_and_the_checklist_follows(
    gateway: httpx.Client, token_for: Headers
) -> None:
    card = gateway.post(BASE, headers=token_for("lawyer"), json=legal_entity()).json()
    url = f"{BASE}/{card['id']}/documents"
    view = gateway.get(url, headers=token_for("reception")).json()
    assert {x["doc_type"]: x["status"] for x in view["checklist"]} == {
        "charter": "missing",
        "egrul_extract": "missing",
        "director_appointment": "missing",
    }
    added = gateway.post(
        url,
        headers=token_for("lawyer"),
        json={"doc_type": "charter", "issued_on": "2020-03-01", "file_id": "file-1"},
    )
    assert added.status_code == 201, added.text
    view = gateway.get(url, headers=token_for("reception")).json()
    assert {x["doc_type"]: x["status"] for x in view["checklist"]}["charter"] == "present"
    assert view["complete"] is False and len(view["documents"]) == 1
    problem(
        gateway.post(
            url,
            headers=token_for("reception"),
            json={"doc_type": "charter", "issued_on": "2020-03-01", "file_id": "f"},
        ),
        403,
    )


def test_the_catalogue_tree_items_and_prices(gateway: httpx.Client, token_for: Headers) -> None:
    editor, reader = token_for("accountant"), token_for("lawyer")
    root = gateway.post("/api/v1/catalog/sections", headers=editor, json={"name": "Услуги"})
    assert root.status_code == 201, root.text
    child = gateway.post(
        "/api/v1/catalog/sections",
        headers=editor,
        json={"name": "Уборка", "parent_id": root.json()["id"]},
    ).json()
    tree = gateway.get("/api/v1/catalog/sections", headers=reader).json()
    [mine] = [s for s in tree if s["id"] == root.json()["id"]]
    assert [c["id"] for c in mine["children"]] == [child["id"]]

    item = gateway.post(
        "/api/v1/catalog/items",
        headers=editor,
        json={
            "section_id": child["id"],
            "name": "Уборка номера",
            "item_type": "service",
            "unit": {"code": "796", "name": "шт"},
            "price": "1500.5",
            "currency": "RUB",
        },
    )
    assert item.status_code == 201, item.text
    assert item.json()["price"] == "1500.50" and item.json()["unit"]["code"] == "796"
    changed = gateway.patch(
        f"/api/v1/catalog/items/{item.json()['id']}",
        headers={**editor, "If-Match": '"1"'},
        json={"price": "1600.00"},
    )
    assert changed.json()["price"] == "1600.00" and changed.json()["version"] == 2
    listed = gateway.get(
        "/api/v1/catalog/items", headers=reader, params={"section_id": child["id"]}
    ).json()
    assert [i["name"] for i in listed["items"]] == ["Уборка номера"]
    problem(gateway.post("/api/v1/catalog/sections", headers=reader, json={"name": "Чужое"}), 403)
    problem(gateway.delete(f"/api/v1/catalog/sections/{child['id']}", headers=editor), 409)
    assert (
        gateway.delete(f"/api/v1/catalog/items/{item.json()['id']}", headers=editor).status_code
        == 204
    )
    assert (
        gateway.delete(f"/api/v1/catalog/sections/{child['id']}", headers=editor).status_code == 204
    )
    bad_price = gateway.post(
        "/api/v1/catalog/items",
        headers=editor,
        json={
            "section_id": root.json()["id"],
            "name": "x",
            "unit": {"code": "7", "name": "шт"},
            "price": "-1",
        },
    )
    problem(bad_price, 422)


def test_openapi_documents_the_counterparty_endpoints(gateway: httpx.Client) -> None:
    schema = gateway.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        BASE,
        f"{BASE}/lookup",
        f"{BASE}/import",
        f"{BASE}/import/{{job_id}}",
        f"{BASE}/{{counterparty_id}}",
        f"{BASE}/{{counterparty_id}}/verify",
        f"{BASE}/{{counterparty_id}}/documents",
        "/api/v1/catalog/sections",
        "/api/v1/catalog/items",
    ):
        assert path in paths, path
    assert schema["components"]["schemas"]["NewCounterparty"]["examples"][0]["inn"] == "7707083893"
    assert (
        PROBLEM
        in paths[f"{BASE}/{{counterparty_id}}/verify"]["post"]["responses"]["503"]["content"]
    )


def test_concurrent_creations_of_one_card_give_one_card_and_conflicts(
    suite: Stack, token_for: Headers
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = legal_entity()
    headers = token_for("lawyer")

    def create(_: int) -> int:
        with httpx.Client(base_url=suite.gateway_url, timeout=30) as client:
            return client.post(BASE, headers=headers, json=data).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(create, range(6)))
    # Whether the duplicate is caught by the look-up or by the unique index
    # (IntegrityError), the answer is 409 - never a 5xx.
    assert codes == [201, 409, 409, 409, 409, 409]
