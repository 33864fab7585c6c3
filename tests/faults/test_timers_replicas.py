"""Durable timers survive a kill -9 and fire exactly once with two replicas sweeping.

Contracts are submitted (their first tasks set reminder, escalation and
deadline timers), contracts_svc is killed without warning and started again,
and a second contracts_svc process joins on the same vhost and database. Then
many sweeps run at once at a simulated time when all those timers are due;
the RPC queue hands them to both replicas. Every due timer must fire, and
the fired counts the sweeps report must add up to the timers marked fired: a
timer fired by both replicas would be counted twice.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from org_svc.seed import DEMO_PASSWORD
from services.devstack import Stack
from tests.faults.broker import PrivateBroker
from tests.faults.support import Approvals, kill_hard, settled, start_service, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

CONTRACTS = 6
SWEEPS = 8
REPLICA = "contracts_svc-2"
TIMER_ACTIONS = ("task.overdue", "task.reminded", "task.escalated", "task.escalation_failed")


def rows(engine: Any, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def consumers(broker: PrivateBroker, queue: str) -> int:
    listed = broker.ctl("list_queues", "name", "consumers", "--quiet").stdout
    for line in listed.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == queue:
            return int(parts[1])
    return 0


def run_timers_calls(stack: Stack, name: str) -> float:
    """How many ``run_timers`` calls this process has served (its own metrics)."""
    body = httpx.get(f"http://127.0.0.1:{stack.metrics_ports[name]}/metrics", timeout=5).text
    found = re.search(
        r'^docflow_entrypoint_calls_total\{[^}]*entrypoint="run_timers"[^}]*\} ([\d.e+]+)$',
        body,
        re.M,
    )
    return float(found.group(1)) if found else 0.0


def test_timers_fire_after_a_kill_and_exactly_once_with_two_replicas(
    fault_stack: Stack, private_broker: PrivateBroker, fault_db: Callable[[str], Any]
) -> None:
    db = fault_db("contracts_svc")
    approvals = Approvals(fault_stack.gateway_url)
    with httpx.Client(base_url=fault_stack.gateway_url, timeout=30) as client:
        processes = [approvals.new_contract(client) for _ in range(CONTRACTS)]
    assert all(processes), approvals.outcome.failures
    instances = [p["instance_id"] for p in processes if p]

    kill_hard(fault_stack, "contracts_svc")
    start_service(fault_stack, "contracts_svc")
    start_service(fault_stack, "contracts_svc", REPLICA)
    wait_for(lambda: consumers(private_broker, "rpc-contracts") == 2, 60, "two replicas")

    now = datetime.now(UTC) + timedelta(days=30)
    ours = rows(
        db,
        "SELECT id FROM workflow_timers WHERE instance_id = ANY(:ids) "
        "AND fired_at IS NULL AND cancelled_at IS NULL AND fire_at <= :now",
        ids=instances,
        now=now,
    )
    assert len(ours) >= CONTRACTS, "the submitted contracts set no timers"

    admin = settled(
        lambda: httpx.post(
            fault_stack.gateway_url + "/api/v1/auth/token",
            json={"username": "admin", "password": DEMO_PASSWORD},
        )
    ).json()
    headers = {"Authorization": f"Bearer {admin['access_token']}"}

    def sweep(_: int) -> int:
        answer = settled(
            lambda: httpx.post(
                fault_stack.gateway_url + "/api/v1/admin/timers/run",
                headers=headers,
                json={"now": now.isoformat()},
                timeout=60,
            )
        )
        return int(answer.json()["fired"]["contracts"])

    with ThreadPoolExecutor(SWEEPS) as pool:
        reported = sum(pool.map(sweep, range(SWEEPS)))

    assert run_timers_calls(fault_stack, "contracts_svc") > 0, "the restarted one never swept"
    assert run_timers_calls(fault_stack, REPLICA) > 0, "the replica never swept"
    unfired = rows(
        db,
        "SELECT id FROM workflow_timers WHERE id = ANY(:ids) AND fired_at IS NULL",
        ids=[t for (t,) in ours],
    )
    assert unfired == [], "a timer set before the kill did not fire"
    fired_rows = rows(db, "SELECT count(*) FROM workflow_timers WHERE fired_at = :now", now=now)
    assert reported == fired_rows[0][0], "the sweeps fired more timers than there are"
    entries = rows(
        db,
        "SELECT instance_id, entry->>'task_id', action FROM workflow_timeline "
        "WHERE at = :now AND action = ANY(:actions)",
        now=now,
        actions=list(TIMER_ACTIONS),
    )
    twice = [key for key, n in Counter(entries).items() if n > 1]
    assert twice == [], "a timer's effect is in the timeline twice"
    overdue = {(i, t) for i, t, a in entries if a == "task.overdue" and i in instances}
    assert len(overdue) == CONTRACTS, "each first task is overdue once"
