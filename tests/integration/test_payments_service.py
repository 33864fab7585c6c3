"""payments_svc over real RPC, PostgreSQL and RabbitMQ: decisions through
``decide_task``, refusals that write nothing, and the timers a freeze holds and
an unfreeze gives back (read straight from the service's database)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from counterparty_svc.testing import legal_entity
from services.auth import Identity
from services.testing.plugin import Rpc

pytestmark = pytest.mark.integration

People = dict[str, Identity]


def new_request(rpc: Rpc, people: People, gateway: httpx.Client, token_for: Any) -> dict[str, Any]:
    cp = rpc(people["lawyer"], "counterparty", "create_counterparty", data=legal_entity())
    # Files never ride on AMQP: the invoice reaches the archive through the gateway.
    upload = gateway.post(
        "/api/v1/files",
        headers=token_for("manager"),
        data={"counterparty_id": cp["id"]},
        files={"file": ("счёт.pdf", b"%PDF-1.7 invoice", "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    return rpc(  # type: ignore[no-any-return]
        people["manager"],
        "payments",
        "create_request",
        data={
            "counterparty_id": cp["id"],
            "amount": "5000.00",
            "cost_item": "Канцелярия",
            "invoice_file_id": upload.json()["id"],
        },
    )


def pending_timers(service_db: Callable[[str], Any], instance_id: str) -> list[Any]:
    with service_db("payments_svc").connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT kind, fire_at, payload->>'id' FROM workflow_timers "
                    "WHERE instance_id = :i AND fired_at IS NULL AND cancelled_at IS NULL "
                    "ORDER BY payload->>'id'"
                ),
                {"i": instance_id},
            )
        )


def refused(caught: pytest.ExceptionInfo[Exception]) -> str:
    return str(getattr(caught.value, "exc_type", ""))


def test_a_reject_without_a_reason_is_refused_over_rpc_and_changes_nothing(
    rpc: Rpc, people: People, gateway: httpx.Client, token_for: Any
) -> None:
    r = new_request(rpc, people, gateway, token_for)
    head_task = next(
        t for t in rpc(people["sales.head"], "payments", "my_tasks") if t["card_id"] == r["id"]
    )
    rpc(
        people["sales.head"],
        "payments",
        "decide_task",
        task_id=head_task["id"].split(":", 1)[1],
        data={"action": "approve"},
    )
    task = next(t for t in rpc(people["finman"], "payments", "my_tasks") if t["card_id"] == r["id"])
    local_id = task["id"].split(":", 1)[1]
    before = rpc(people["manager"], "payments", "get_request", request_id=r["id"])
    with pytest.raises(Exception) as caught:
        rpc(
            people["finman"],
            "payments",
            "decide_task",
            task_id=local_id,
            data={"action": "reject", "comment": "Нет"},
        )
    assert refused(caught) == "Invalid"
    after = rpc(people["manager"], "payments", "get_request", request_id=r["id"])
    assert after["version"] == before["version"] and after["process"] == before["process"]
    done = rpc(
        people["finman"],
        "payments",
        "decide_task",
        task_id=local_id,
        data={"action": "reject", "comment": "Нет бюджета", "reason_code": "no_budget"},
    )
    assert done["process"]["state"] == "rejected"


def test_a_freeze_holds_the_route_timers_and_an_unfreeze_gives_them_back_later(
    rpc: Rpc,
    people: People,
    gateway: httpx.Client,
    token_for: Any,
    service_db: Callable[[str], Any],
) -> None:
    r = new_request(rpc, people, gateway, token_for)
    instance_id = r["process"]["instance_id"]
    before = pending_timers(service_db, instance_id)
    assert {kind for kind, _, _ in before} == {"due", "check"}
    frozen = rpc(
        people["finman"], "payments", "freeze", request_id=r["id"], data={"comment": "Пауза"}
    )
    assert frozen["status"] == "frozen"
    assert pending_timers(service_db, instance_id) == []
    with service_db("payments_svc").connect() as conn:
        held = conn.execute(
            text("SELECT data->'held' FROM workflow_instances WHERE id = :i"), {"i": instance_id}
        ).scalar_one()
    # The route instance itself holds them (the engine's Suspend), to set again on Resume.
    assert sorted(h["id"] for h in held) == [t for _, _, t in before]

    # Only administrators run timers; a frozen request's task is not decided meanwhile.
    with pytest.raises(Exception) as caught:
        rpc(people["finman"], "payments", "run_timers")
    assert refused(caught) == "Forbidden"
    task = next(
        t for t in rpc(people["sales.head"], "payments", "my_tasks") if t["card_id"] == r["id"]
    )
    with pytest.raises(Exception) as caught:
        rpc(
            people["sales.head"],
            "payments",
            "decide_task",
            task_id=task["id"].split(":", 1)[1],
            data={"action": "approve"},
        )
    assert refused(caught) == "Conflict"

    rpc(people["finman"], "payments", "unfreeze", request_id=r["id"], data={"comment": "Дальше"})
    after = pending_timers(service_db, instance_id)
    # Set again (with new ids), each no earlier than before the freeze.
    assert sorted(k for k, _, _ in after) == sorted(k for k, _, _ in before)
    was = {kind: moment for kind, moment, _ in before}
    for kind, moment, _ in after:
        assert isinstance(moment, datetime) and moment >= was[kind]
