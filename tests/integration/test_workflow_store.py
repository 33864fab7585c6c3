"""Route instances in PostgreSQL: one winner per version, append-only timeline,
the open-task projection, timers through the sweep, and the org RPC adapter."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from services import timers
from services.auth import Identity
from services.outbox import OutboxWriter, infrastructure_tables
from services.testing.plugin import Rpc
from services.workflow import WorkflowEngine
from services.workflow.commands import Decide, TimerFired
from services.workflow.errors import Conflict
from services.workflow.org_rpc import RpcOrgLookup
from services.workflow.store import (
    WorkflowStore,
    install_append_only_trigger,
    timer_from_payload,
    workflow_tables,
)
from tests.unit.workflow.fakes import FakeOrg, at, example

pytestmark = pytest.mark.integration

ORG = FakeOrg(
    roles={
        "finance_manager": ["fin"],
        "chief_accountant": ["chief"],
        "junior_accountant": ["junior"],
        "operations_manager": ["ops"],
    },
    departments={"ivan": "sales", "head": "sales"},
    heads={"sales": "head"},
)
ENGINE = WorkflowEngine()
ROUTE = example("payment_request")
EVENTS = OutboxWriter("payments", None)


@pytest.fixture(scope="module")
def factory(scratch_engine: Any) -> sessionmaker[Session]:
    metadata = MetaData()
    tables = workflow_tables(metadata)
    infrastructure_tables(metadata)
    metadata.drop_all(scratch_engine)
    metadata.create_all(scratch_engine)
    with scratch_engine.begin() as conn:
        install_append_only_trigger(conn)
    factory = sessionmaker(scratch_engine)
    factory.store = WorkflowStore(tables, "payments")  # type: ignore[attr-defined]
    return factory


def started(factory: sessionmaker[Session]) -> tuple[WorkflowStore, str]:
    store: WorkflowStore = factory.store  # type: ignore[attr-defined]
    card_id = f"pr-{uuid.uuid4().hex[:8]}"
    result = ENGINE.start(ROUTE, {"initiator_id": "ivan"}, "ivan", at(2025, 3, 17), ORG)
    with factory.begin() as session:
        store.create(session, card_id, result, EVENTS)
    return store, result.instance.id


def test_a_started_instance_is_stored_with_its_task_timeline_timers_and_events(
    factory: sessionmaker[Session],
) -> None:
    store, instance_id = started(factory)
    with factory() as session:
        instance, card_id = store.load(session, instance_id)
        assert instance.responsible == ["head"]
        tasks = store.open_tasks_of(session, "head")
        assert [t["step_id"] for t in tasks if t["instance_id"] == instance_id] == [
            "department_head"
        ]
        assert store.timeline(session, instance_id)[0].seq == 1
        assert timers.pending(session, instance_id), "the SLA watch is scheduled"
        events = (
            session.execute(
                text("SELECT payload FROM outbox WHERE payload->'data'->>'card_id' = :c"),
                {"c": card_id},
            )
            .scalars()
            .all()
        )
        assert events and all(e["data"]["process"] == "payments" for e in events)


def test_of_two_decisions_on_the_same_version_exactly_one_wins(
    factory: sessionmaker[Session],
) -> None:
    store, instance_id = started(factory)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def decide(action: str, comment: str | None) -> None:
        with factory() as session:
            instance, _ = store.load(session, instance_id)
            task = instance.open_tasks()[0]
            command = Decide(
                task.id, "head", action, comment=comment, expected_version=instance.version
            )
            result = ENGINE.handle(ROUTE, instance, command, at(2025, 3, 17, 11), ORG)
            barrier.wait()
            try:
                store.save(session, instance.version, result, EVENTS)
                session.commit()
                outcomes.append(action)
            except Conflict:
                session.rollback()
                outcomes.append("conflict")

    threads = [
        threading.Thread(target=decide, args=("approve", None)),
        threading.Thread(target=decide, args=("reject", "no budget")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("conflict") == 1
    (winner,) = [o for o in outcomes if o != "conflict"]
    with factory() as session:
        instance, _ = store.load(session, instance_id)
    assert instance.version == 2
    assert instance.state == ("rejected" if winner == "reject" else "running")


def test_the_timeline_cannot_be_edited_or_deleted(factory: sessionmaker[Session]) -> None:
    _, instance_id = started(factory)
    for statement in (
        "UPDATE workflow_timeline SET action = 'forged' WHERE instance_id = :i",
        "DELETE FROM workflow_timeline WHERE instance_id = :i",
    ):
        with pytest.raises(DBAPIError, match="append-only"), factory.begin() as session:
            session.execute(text(statement), {"i": instance_id})


def test_due_timers_reach_the_engine_through_the_sweep(factory: sessionmaker[Session]) -> None:
    store, instance_id = started(factory)

    def fire(session: Session, due: timers.DueTimer, now: Any) -> None:
        instance, _ = store.load(session, due.instance_id)
        command = TimerFired(timer_from_payload(due.payload), expected_version=instance.version)
        result = ENGINE.handle(ROUTE, instance, command, now, ORG)
        store.save(session, instance.version, result, EVENTS)

    # Three working days later the whole watch is due; a fired timer may set the next
    # one (check -> remind -> escalate), which the following sweep picks up.
    def sweep_until_quiet(now: Any) -> list[str]:
        for _ in range(10):
            if timers.sweep(factory, now, fire) == 0:
                break
        with factory() as session:
            return [e.action for e in store.timeline(session, instance_id)]

    actions = sweep_until_quiet(at(2025, 3, 20, 12))
    assert "task.reminded" in actions and not any("escalat" in a for a in actions)
    # The escalation comes one working hour after the reminder, not before.
    actions = sweep_until_quiet(at(2025, 3, 20, 14))
    assert any("escalat" in a for a in actions), actions
    with factory() as session:
        instance, _ = store.load(session, instance_id)
    assert "ops" in instance.responsible  # the operations manager may now act


def test_the_org_adapter_calls_org_svc_and_maps_unknown_people_to_nobody(
    rpc: Rpc, people: dict[str, Identity]
) -> None:
    lawyer = people["lawyer"]
    lookup = RpcOrgLookup(lambda **kwargs: rpc(lawyer, "org", "resolve_assignees", **kwargs))
    found = lookup.resolve({"kind": "role", "role": "chief_accountant"}, at(2025, 3, 17))
    assert [a.user_id for a in found] == [people["chief.accountant"].user_id]
    assert lookup.resolve({"kind": "user", "user_id": str(uuid.uuid4())}, at(2025, 3, 17)) == []
