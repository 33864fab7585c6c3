"""POST /api/v1/admin/timers/run: every service's sweep, driven in simulated time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import httpx
import pytest

from counterparty_svc.testing import sole_proprietor

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]
URL = "/api/v1/admin/timers/run"


def test_an_administrator_runs_every_services_timers(
    gateway: httpx.Client, token_for: Headers
) -> None:
    answer = gateway.post(URL, headers=token_for("admin"), json={})
    assert answer.status_code == 200, answer.text
    fired = answer.json()["fired"]
    assert set(fired) == {
        "org",
        "counterparty",
        "contracts",
        "payments",
        "mail",
        "archive",
        "notify",
    }
    assert all(isinstance(n, int) and n >= 0 for n in fired.values())


def test_simulated_time_fires_what_is_due_then_and_only_once(
    gateway: httpx.Client, token_for: Headers
) -> None:
    # A statutory document that expires in 10 days: due for announcement only then.
    card = gateway.post(
        "/api/v1/counterparties", headers=token_for("lawyer"), json=sole_proprietor()
    ).json()
    issued = date.today() - timedelta(days=20)  # the EGRIP extract lives 30 days
    added = gateway.post(
        f"/api/v1/counterparties/{card['id']}/documents",
        headers=token_for("lawyer"),
        json={"doc_type": "egrip_extract", "issued_on": issued.isoformat(), "file_id": "f-1"},
    )
    assert added.status_code == 201, added.text
    later = (date.today() + timedelta(days=12)).isoformat() + "T12:00:00+03:00"
    first = gateway.post(URL, headers=token_for("admin"), json={"now": later})
    assert first.status_code == 200, first.text
    assert first.json()["fired"]["counterparty"] >= 1
    again = gateway.post(URL, headers=token_for("admin"), json={"now": later})
    assert again.json()["fired"]["counterparty"] == 0


def test_only_administrators_and_only_with_an_offset(
    gateway: httpx.Client, token_for: Headers
) -> None:
    refused = gateway.post(URL, headers=token_for("lawyer"), json={})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    naive = gateway.post(URL, headers=token_for("admin"), json={"now": "2026-12-01T10:00:00"})
    assert naive.status_code == 422
    assert gateway.post(URL, json={}).status_code == 401
