"""Idempotency-Key on writes: a retried request changes nothing more."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]
URL = "/api/v1/org/departments"


def test_the_same_key_and_body_give_the_first_result_and_one_department(
    gateway: httpx.Client, token_for: Headers
) -> None:
    code = f"idem-{uuid.uuid4().hex[:6]}"
    headers = {**token_for("admin"), "Idempotency-Key": f"create-{code}"}
    body = {"name": "Отдел повторов", "code": code}
    first = gateway.post(URL, headers=headers, json=body)
    again = gateway.post(URL, headers=headers, json=body)
    assert first.status_code == 201 and again.status_code == 201, again.text
    assert again.json() == first.json()
    listed = gateway.get(URL, headers=token_for("admin")).json()
    assert [d["id"] for d in listed if d["code"] == code] == [first.json()["id"]]
    # Without the key the same request is a plain duplicate.
    plain = gateway.post(URL, headers=token_for("admin"), json=body)
    assert plain.status_code == 409


def test_a_key_reused_with_another_body_is_refused(
    gateway: httpx.Client, token_for: Headers
) -> None:
    key = f"k-{uuid.uuid4().hex}"
    headers = {**token_for("admin"), "Idempotency-Key": key}
    code = f"idem-{uuid.uuid4().hex[:6]}"
    assert gateway.post(URL, headers=headers, json={"name": "A", "code": code}).status_code == 201
    other = gateway.post(URL, headers=headers, json={"name": "B", "code": code + "b"})
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    listed = gateway.get(URL, headers=token_for("admin")).json()
    assert not [d for d in listed if d["code"] == code + "b"]


def test_a_refused_request_leaves_its_key_free_for_a_corrected_retry(
    gateway: httpx.Client, token_for: Headers
) -> None:
    key = f"k-{uuid.uuid4().hex}"
    code = f"idem-{uuid.uuid4().hex[:6]}"
    lawyer = {**token_for("lawyer"), "Idempotency-Key": key}
    assert gateway.post(URL, headers=lawyer, json={"name": "X", "code": code}).status_code == 403
    admin = {**token_for("admin"), "Idempotency-Key": key}
    assert gateway.post(URL, headers=admin, json={"name": "X", "code": code}).status_code == 201


def test_keys_are_per_person(gateway: httpx.Client, token_for: Headers) -> None:
    key = f"shared-{uuid.uuid4().hex}"
    first = gateway.post(
        "/api/v1/org/absences",
        headers={**token_for("lawyer2"), "Idempotency-Key": key},
        json={
            "user_id": gateway.get("/api/v1/me", headers=token_for("lawyer2")).json()["id"],
            "deputy_id": gateway.get("/api/v1/me", headers=token_for("lawyer")).json()["id"],
            "starts_at": "2032-02-01T00:00:00+03:00",
            "ends_at": "2032-02-05T00:00:00+03:00",
        },
    )
    assert first.status_code == 201, first.text
    # Another person's identical key is another request: here it is refused on its merits.
    other = gateway.post(
        URL,
        headers={**token_for("manager"), "Idempotency-Key": key},
        json={"name": "Y", "code": f"idem-{uuid.uuid4().hex[:6]}"},
    )
    assert other.status_code == 403


def test_a_malformed_key_is_422(gateway: httpx.Client, token_for: Headers) -> None:
    headers = {**token_for("admin"), "Idempotency-Key": "x" * 201}
    answer = gateway.post(URL, headers=headers, json={"name": "Z", "code": "zz-never"})
    assert answer.status_code == 422
