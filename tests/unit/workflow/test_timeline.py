"""The hash-chained timeline, and the instance's JSON form."""

from __future__ import annotations

import dataclasses
import json
import uuid

from services.workflow.commands import Decide, Resubmit, TimerFired, command_to_dict, parse_command
from services.workflow.model import Instance, Timer
from services.workflow.timeline import TimelineEntry, verify_chain
from tests.unit.workflow.fakes import Driver, at, example


def finished_contract() -> Driver:
    flow = Driver(example("contract_approval"), card={"curator_id": "ivan"})
    flow.decide("olga")
    flow.decide("pavel", "return", comment="drawings", reason_code=None)
    flow.do(Resubmit(actor_id="ivan", comment="drawings attached"))
    for person in ("pavel", "lena", "fedor", "anna", "dmitry"):
        flow.decide(person)
    flow.decide("rita", "complete", outputs={"signed_scan": str(uuid.uuid4())})
    flow.decide("oleg", "complete", outputs={"registration_number": "Д-1"})
    return flow


def test_the_whole_history_forms_one_unbroken_chain() -> None:
    flow = finished_contract()
    entries = flow.timeline
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    check = verify_chain(entries, head=flow.instance.timeline_head)
    assert check.ok and check.broken_at is None
    actions = [e.action for e in entries]
    assert actions[0] == "instance.started" and actions[-1] == "instance.completed"
    assert "instance.returned" in actions and "instance.resubmitted" in actions
    returned = next(e for e in entries if e.action == "return")
    assert (returned.actor_id, returned.comment, returned.round) == ("pavel", "drawings", 1)


def test_changing_a_comment_is_detected() -> None:
    entries = finished_contract().timeline
    target = next(i for i, e in enumerate(entries) if e.action == "return")
    entries[target] = dataclasses.replace(entries[target], comment="all fine")
    check = verify_chain(entries)
    assert not check
    assert check.broken_at == entries[target].seq
    assert check.reason == "hash does not match the entry's content"


def test_rehashing_a_changed_entry_breaks_the_link_to_the_next() -> None:
    from services.workflow.timeline import seal

    entries = finished_contract().timeline
    entries[3] = seal(dataclasses.replace(entries[3], actor_id="someone_else"))
    check = verify_chain(entries)
    assert not check and check.broken_at == entries[4].seq


def test_dropping_reordering_or_cutting_entries_is_detected() -> None:
    flow = finished_contract()
    entries = flow.timeline
    assert not verify_chain(entries[:5] + entries[6:])
    assert not verify_chain([entries[1], entries[0], *entries[2:]])
    assert not verify_chain(entries[1:])
    # A cut tail looks like a shorter valid chain: only the remembered head tells.
    assert verify_chain(entries[:-2])
    assert not verify_chain(entries[:-2], head=flow.instance.timeline_head)


def test_entries_survive_a_json_round_trip() -> None:
    flow = finished_contract()
    stored = json.loads(json.dumps([e.to_dict() for e in flow.timeline]))
    loaded = [TimelineEntry.from_dict(row) for row in stored]
    assert verify_chain(loaded, head=flow.instance.timeline_head)
    stored[2]["data"]["assignee_id"] = "mallory"
    assert not verify_chain([TimelineEntry.from_dict(row) for row in stored])


def test_the_instance_round_trips_through_json_and_keeps_working() -> None:
    flow = Driver(example("payment_request"), now=at(2025, 3, 17, 10))
    flow.fire_until(at(2025, 3, 18, 13))
    stored = json.loads(json.dumps(flow.instance.to_dict()))
    assert stored["schema_version"] == 1
    assert stored["responsible"] == ["olga"]
    loaded = Instance.from_dict(stored)
    assert loaded.to_dict() == flow.instance.to_dict()
    task = flow.task("olga").id
    from_memory = flow.engine.handle(
        flow.route, flow.instance, Decide(task, "olga", "approve"), flow.now, flow.org
    )
    from_store = flow.engine.handle(
        flow.route, loaded, Decide(task, "olga", "approve"), flow.now, flow.org
    )
    assert from_store.instance.to_dict() == from_memory.instance.to_dict()
    assert [e.hash for e in from_store.timeline] == [e.hash for e in from_memory.timeline]


def test_commands_and_timers_have_a_json_form() -> None:
    timer = Timer(
        id="i:tm1", kind="remind", fire_at=at(2025, 3, 17, 10), step_id="a", round=1, task_id="i:t1"
    )
    command = TimerFired(timer, expected_version=3)
    data = json.loads(json.dumps(command_to_dict(command)))
    assert data["type"] == "timer_fired"
    assert parse_command(data) == command
    decide = parse_command({"type": "decide", "task_id": "t", "actor_id": "a", "action": "approve"})
    assert decide == Decide("t", "a", "approve")
