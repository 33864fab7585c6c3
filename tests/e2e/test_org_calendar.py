"""The production calendar through the gateway: the built-in Russian one, then imports."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]


def days(gateway: httpx.Client, headers: dict[str, str], year: int) -> dict[str, dict]:
    answer = gateway.get("/api/v1/org/calendar", headers=headers, params={"year": year})
    assert answer.status_code == 200, answer.text
    return {d["day"]: d for d in answer.json()["days"]}


def test_the_russian_calendar_knows_holidays_and_transferred_days(
    gateway: httpx.Client, token_for: Headers
) -> None:
    year = days(gateway, token_for("lawyer"), 2025)
    assert year["2025-01-01"]["kind"] == "holiday"
    assert year["2025-01-08"]["kind"] == "holiday"
    assert year["2025-11-01"]["kind"] in ("working", "short")  # a working Saturday
    assert year["2025-11-03"]["kind"] == "holiday"  # the day off it was moved to
    assert year["2025-01-09"]["kind"] == "working" and year["2025-01-09"]["hours"]
    assert year["2025-01-11"]["kind"] == "weekend" and year["2025-01-11"]["hours"] == []


def test_an_imported_override_changes_the_calendar_and_only_admins_import(
    gateway: httpx.Client, token_for: Headers
) -> None:
    body = {"days": {"2031-06-02": "holiday", "2031-06-07": "working"}}
    refused = gateway.put("/api/v1/org/calendar/overrides", headers=token_for("lawyer"), json=body)
    assert refused.status_code == 403
    assert days(gateway, token_for("lawyer"), 2031)["2031-06-02"]["kind"] == "working"

    done = gateway.put("/api/v1/org/calendar/overrides", headers=token_for("admin"), json=body)
    assert done.json() == {"imported": 2}
    year = days(gateway, token_for("lawyer"), 2031)
    assert (year["2031-06-02"]["kind"], year["2031-06-02"]["override"]) == ("holiday", "holiday")
    assert year["2031-06-07"]["kind"] == "working"  # a Saturday made a working day


@pytest.mark.parametrize(
    "body",
    [{"days": {"2031-06-02": "siesta"}}, {"days": {"not-a-date": "holiday"}}, {"day": {}}],
)
def test_a_bad_import_is_422_and_changes_nothing(
    gateway: httpx.Client, token_for: Headers, body: dict
) -> None:
    answer = gateway.put("/api/v1/org/calendar/overrides", headers=token_for("admin"), json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
