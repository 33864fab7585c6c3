"""Approval decisions under load while RabbitMQ restarts and contracts_svc is killed -9.

Clients decide contracts' tasks through the gateway and retry what failed with
the same ``Idempotency-Key``, as the API asks. Meanwhile the broker is stopped
and started, and later the contracts service is killed without warning and
started again. Afterwards:

- every acknowledged decision (HTTP 200) is in the timeline exactly once and
  no task was decided twice;
- the outbox has nothing left unpublished;
- every event reached the broker (a queue of our own bound to
  ``contracts.events`` holds each outbox event, duplicates only where the
  relay legitimately re-sent one) and a real consumer — archive_svc's
  ``task.assigned`` handler — handled each exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from services.devstack import Stack
from tests.faults.broker import PrivateBroker
from tests.faults.support import (
    Approvals,
    declare_tap,
    drain,
    kill_hard,
    revive,
    start_service,
    wait_for,
)

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

CLIENTS = 4
#: Decisions acknowledged before each fault and after the last one.
SHARE = 15


def rows(engine: Any, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def test_every_acknowledged_decision_is_applied_once_and_every_event_delivered(
    fault_stack: Stack, private_broker: PrivateBroker, fault_db: Callable[[str], Any]
) -> None:
    contracts_db, archive_db = fault_db("contracts_svc"), fault_db("archive_svc")
    tap = declare_tap(private_broker.amqp_uri, "contracts")
    approvals = Approvals(fault_stack.gateway_url, deadline_seconds=100)

    revived: list[str] = []

    def progress(after: int, what: str) -> int:
        def done() -> bool:
            # A service whose container gave up on the broker is restarted, as in production.
            revived.extend(revive(fault_stack))
            return approvals.acknowledged() >= after + SHARE

        wait_for(done, 60, what)
        return approvals.acknowledged()

    # The load runs until told to stop, so every fault lands in the middle of it.
    approvals.start(CLIENTS)
    before_broker = progress(0, "decisions before the broker restart")
    private_broker.restart()
    before_kill = progress(before_broker, "decisions after the broker restart")
    kill_hard(fault_stack, "contracts_svc")
    start_service(fault_stack, "contracts_svc")
    progress(before_kill, "decisions after contracts_svc was killed")
    approvals.stop()
    outcome = approvals.outcome
    assert not outcome.failures, outcome.failures
    assert outcome.retried, "no request failed: the faults did not hit the load"

    # The timeline: every acknowledged decision once, and no task decided twice.
    decided = outcome.acknowledged + outcome.applied_unacknowledged
    assert len(decided) == len(set(decided))
    entries = rows(
        contracts_db,
        "SELECT entry->>'task_id' FROM workflow_timeline t JOIN contracts c "
        "ON c.instance_id = t.instance_id WHERE c.id = ANY(CAST(:ids AS uuid[])) "
        "AND t.action = 'approve'",
        ids=outcome.contracts,
    )
    per_task = Counter(f"contracts:{task_id}" for (task_id,) in entries)
    assert [t for t, n in per_task.items() if n > 1] == [], "a task was decided twice"
    assert set(per_task) == set(decided), "the timeline and the answers disagree"

    # Events: nothing left behind, everything on the wire, each handled once.
    wait_for(
        lambda: not rows(contracts_db, "SELECT 1 FROM outbox WHERE published_at IS NULL"),
        30,
        "the outbox to be empty after recovery",
    )
    sent = {str(e) for (e,) in rows(contracts_db, "SELECT event_id FROM outbox")}
    assigned = {
        str(e)
        for (e,) in rows(
            contracts_db, "SELECT event_id FROM outbox WHERE event_type = 'task.assigned'"
        )
    }
    seen: list[str] = []

    def tapped_everything() -> bool:
        seen.extend(drain(private_broker.amqp_uri, tap))
        return sent <= set(seen)

    wait_for(tapped_everything, 30, "every outbox event on contracts.events")
    assert set(seen) == sent

    def archive_handled() -> set[str]:
        return {
            str(e)
            for (e,) in rows(
                archive_db,
                "SELECT event_id FROM processed_events WHERE handler = :h",
                h="archive.contract_task_grant",
            )
        }

    wait_for(lambda: archive_handled() >= assigned, 30, "archive handling every task.assigned")
    assert archive_handled() == assigned
    # The relay may re-send after a crash (at-least-once); say how often it did.
    print(
        f"decisions: {len(outcome.acknowledged)} acknowledged, "
        f"{len(outcome.applied_unacknowledged)} applied with the answer lost; "
        f"retries {dict(outcome.retried)}; events {len(sent)}, "
        f"re-sent {len(seen) - len(set(seen))}; restarted after the outage: {revived}"
    )
