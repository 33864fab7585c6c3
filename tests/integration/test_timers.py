"""Durable timers on real PostgreSQL: due ones fire once, even with two sweepers at once."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, select, text
from sqlalchemy.orm import Session, sessionmaker

from services import timers

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def factory(scratch_engine: Any) -> sessionmaker[Session]:
    metadata = MetaData()
    timers.timer_table(metadata)
    metadata.create_all(scratch_engine)
    with scratch_engine.begin() as conn:
        conn.execute(text("TRUNCATE workflow_timers"))
    return sessionmaker(scratch_engine)


def add(
    factory: sessionmaker[Session], count: int, at: datetime, kind: str = "remind"
) -> list[str]:
    instances = [f"inst-{uuid.uuid4().hex[:8]}" for _ in range(count)]
    with factory.begin() as session:
        for instance in instances:
            timers.schedule(session, instance, kind, at, {"task": instance})
    return instances


def test_only_due_timers_fire_and_only_once(factory: sessionmaker[Session]) -> None:
    due = add(factory, 3, T0)
    later = add(factory, 2, T0 + timedelta(hours=4))
    seen: list[str] = []

    def handle(session: Session, timer: timers.DueTimer, now: datetime) -> None:
        seen.append(timer.instance_id)

    assert timers.sweep(factory, T0 + timedelta(minutes=1), handle) == 3
    assert sorted(seen) == sorted(due)
    assert timers.sweep(factory, T0 + timedelta(minutes=2), handle) == 0
    assert timers.sweep(factory, T0 + timedelta(hours=5), handle) == 2
    assert sorted(seen) == sorted(due + later)


def test_a_cancelled_timer_never_fires(factory: sessionmaker[Session]) -> None:
    (instance,) = add(factory, 1, T0)
    with factory.begin() as session:
        assert timers.cancel(session, instance) == 1
        assert timers.pending(session, instance) == []
    fired = timers.sweep(factory, T0 + timedelta(days=1), lambda *_: None)
    assert fired == 0


def test_a_failing_handler_is_retried_later_without_blocking_others(
    factory: sessionmaker[Session],
) -> None:
    bad, good = add(factory, 1, T0)[0], add(factory, 1, T0)[0]

    def handle(session: Session, timer: timers.DueTimer, now: datetime) -> None:
        session.execute(text("SELECT 1"))  # the handler's own work, inside the savepoint
        if timer.instance_id == bad:
            raise RuntimeError("org_svc did not answer")

    def failures() -> float:
        return REGISTRY.get_sample_value("docflow_timer_failures_total", {"kind": "remind"}) or 0

    before = failures()
    assert timers.sweep(factory, T0, handle) == 1
    assert failures() == before + 1
    with factory() as session:
        row = (
            session.execute(select(timers.TIMERS).where(timers.TIMERS.c.instance_id == bad))
            .mappings()
            .one()
        )
    assert row["attempts"] == 1 and row["fired_at"] is None
    assert row["fire_at"] == T0 + timers.RETRY_BASE
    assert "did not answer" in row["last_error"]
    with factory() as session:
        assert timers.pending(session, good) == []


def test_two_sweepers_at_once_fire_each_timer_exactly_once(
    factory: sessionmaker[Session],
) -> None:
    instances = add(factory, 300, T0)
    fired: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(2)

    def handle(session: Session, timer: timers.DueTimer, now: datetime) -> None:
        with lock:
            fired[timer.instance_id] += 1

    def sweeper() -> None:
        start.wait()
        timers.sweep(factory, T0, handle, batch=20)

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(fired) == set(instances)
    assert set(fired.values()) == {1}


def test_naive_times_are_refused(factory: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError), factory.begin() as session:
        timers.schedule(session, "x", "remind", datetime(2026, 1, 1), {})
    with pytest.raises(ValueError):
        timers.sweep(factory, datetime(2026, 1, 1), lambda *_: None)
