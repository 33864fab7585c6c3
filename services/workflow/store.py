"""Persisting route instances in a service's own database.

A service that runs processes declares ``workflow_tables(Base.metadata)``
(its Alembic migration creates them) and saves every engine ``Result`` with
``save``: the instance row moves only from the version the command was based
on (``UPDATE … WHERE version = :seen``; otherwise ``Conflict``, so of two
concurrent decisions exactly one wins), the timeline rows are appended (a
trigger refuses to change or delete them), the open-task projection that "my
tasks" reads is rewritten, the engine's timers are scheduled or cancelled in
``workflow_timers``, and the events are staged in the outbox — all in the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Column,
    CursorResult,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session

from services import timers
from services.outbox import OutboxWriter
from services.workflow.errors import Conflict, NotFound
from services.workflow.model import Instance, Result, Timer
from services.workflow.timeline import TimelineEntry

#: Refuses UPDATE and DELETE on the timeline: history is appended, never edited.
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION workflow_timeline_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'workflow_timeline is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER workflow_timeline_append_only
    BEFORE UPDATE OR DELETE ON workflow_timeline
    FOR EACH ROW EXECUTE FUNCTION workflow_timeline_append_only();
"""


@dataclass(frozen=True)
class CardLabel:
    """How events and task lists name a card: "Договор Д-2026-0001 с ООО «Ромашка»"."""

    title: str
    link: str


@dataclass(frozen=True)
class WorkflowTables:
    instances: Table
    timeline: Table
    tasks: Table
    timers: Table


def workflow_tables(metadata: MetaData) -> WorkflowTables:
    instances = Table(
        "workflow_instances",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("process", String(40), nullable=False),
        Column("card_id", String(64), nullable=False),
        Column("route_id", String(80), nullable=False),
        Column("state", String(20), nullable=False),
        Column("version", Integer, nullable=False),
        Column("responsible", ARRAY(String(64)), nullable=False),
        Column("data", JSONB, nullable=False),
        #: A short human label of the card and its path, carried by every event.
        Column("title", String(300), nullable=False, server_default=""),
        Column("link", String(300), nullable=False, server_default=""),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Index("ix_workflow_instances_card", "process", "card_id"),
        Index("ix_workflow_instances_responsible", "responsible", postgresql_using="gin"),
    )
    timeline = Table(
        "workflow_timeline",
        metadata,
        Column("instance_id", String(64), primary_key=True),
        Column("seq", Integer, primary_key=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("action", String(60), nullable=False),
        Column("actor_id", String(64)),
        Column("entry", JSONB, nullable=False),
        Column("hash", String(64), nullable=False),
    )
    tasks = Table(
        "workflow_open_tasks",
        metadata,
        Column("task_id", String(80), primary_key=True),
        Column("instance_id", String(64), nullable=False, index=True),
        Column("process", String(40), nullable=False),
        Column("card_id", String(64), nullable=False),
        Column("step_id", String(80), nullable=False),
        Column("assignee_id", String(64), nullable=False),
        #: After an escalation these people may act too (the operations manager).
        Column("escalated_to", ARRAY(String(64)), nullable=False, server_default="{}"),
        Column("due_at", DateTime(timezone=True)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("data", JSONB, nullable=False),
        Index("ix_workflow_open_tasks_assignee", "assignee_id", "due_at"),
        Index("ix_workflow_open_tasks_escalated", "escalated_to", postgresql_using="gin"),
    )
    return WorkflowTables(instances, timeline, tasks, timers.timer_table(metadata))


class WorkflowStore:
    def __init__(self, tables: WorkflowTables, process: str) -> None:
        self.t = tables
        self.process = process

    def create(
        self,
        session: Session,
        card_id: str,
        result: Result,
        events: OutboxWriter,
        label: CardLabel | None = None,
    ) -> None:
        """Save a freshly started instance."""
        label = label or CardLabel(title=card_id, link="")
        instance = result.instance
        session.execute(
            self.t.instances.insert().values(
                id=instance.id,
                process=self.process,
                card_id=card_id,
                route_id=instance.route_id,
                state=instance.state,
                version=instance.version,
                responsible=instance.responsible,
                data=instance.to_dict(),
                title=label.title[:300],
                link=label.link[:300],
                created_at=instance.created_at,
                updated_at=instance.updated_at,
            )
        )
        self._apply(session, card_id, label, result, events)

    def load(self, session: Session, instance_id: str) -> tuple[Instance, str]:
        """The instance and the card it belongs to."""
        row = session.execute(
            select(self.t.instances.c.data, self.t.instances.c.card_id).where(
                self.t.instances.c.id == instance_id
            )
        ).first()
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        return Instance.from_dict(row.data), row.card_id

    def save(
        self, session: Session, seen_version: int, result: Result, events: OutboxWriter
    ) -> None:
        """Move the instance on from ``seen_version``; Conflict if someone moved it first."""
        instance = result.instance
        moved = cast(
            CursorResult[Any],
            session.execute(
                update(self.t.instances)
                .where(
                    self.t.instances.c.id == instance.id,
                    self.t.instances.c.version == seen_version,
                )
                .values(
                    state=instance.state,
                    version=instance.version,
                    responsible=instance.responsible,
                    data=instance.to_dict(),
                    updated_at=instance.updated_at,
                )
                .returning(
                    self.t.instances.c.card_id, self.t.instances.c.title, self.t.instances.c.link
                )
            ),
        )
        row = moved.first()
        if row is None:
            raise Conflict(
                "the process moved on since you looked: reload it and act again",
                [{"loc": ["version"], "msg": f"not {seen_version} any more"}],
            )
        self._apply(session, row.card_id, CardLabel(row.title, row.link), result, events)

    def _apply(
        self,
        session: Session,
        card_id: str,
        label: CardLabel,
        result: Result,
        events: OutboxWriter,
    ) -> None:
        instance = result.instance
        for entry in result.timeline:
            session.execute(
                self.t.timeline.insert().values(
                    instance_id=entry.instance_id,
                    seq=entry.seq,
                    at=entry.at,
                    action=entry.action,
                    actor_id=entry.actor_id,
                    entry=entry.to_dict(),
                    hash=entry.hash,
                )
            )
        session.execute(delete(self.t.tasks).where(self.t.tasks.c.instance_id == instance.id))
        for task in instance.open_tasks():
            session.execute(
                self.t.tasks.insert().values(
                    task_id=task.id,
                    instance_id=instance.id,
                    process=self.process,
                    card_id=card_id,
                    step_id=task.step_id,
                    assignee_id=task.assignee_id,
                    escalated_to=list(task.escalated_to),
                    due_at=task.due_at,
                    created_at=task.created_at,
                    data={
                        "task_id": task.id,
                        "kind": task.kind,
                        "round": task.round,
                        "on_behalf_of": task.on_behalf_of,
                        "resubmitted": instance.resubmitted,
                        "escalated_to": list(task.escalated_to),
                    },
                )
            )
        if result.timers_to_cancel:
            session.execute(
                update(self.t.timers)
                .where(
                    self.t.timers.c.instance_id == instance.id,
                    self.t.timers.c.payload["id"].astext.in_(result.timers_to_cancel),
                    self.t.timers.c.fired_at.is_(None),
                    self.t.timers.c.cancelled_at.is_(None),
                )
                .values(cancelled_at=func.now())
            )
        for timer in result.timers_to_set:
            timers.schedule(session, instance.id, timer.kind, timer.fire_at, timer.to_dict())
        for event in result.events:
            events.add(
                session,
                event.type,
                {
                    **event.payload,
                    "process": self.process,
                    "card_id": card_id,
                    "title": label.title,
                    "link": label.link,
                },
            )

    def timeline(self, session: Session, instance_id: str) -> list[TimelineEntry]:
        rows = session.scalars(
            select(self.t.timeline.c.entry)
            .where(self.t.timeline.c.instance_id == instance_id)
            .order_by(self.t.timeline.c.seq)
        )
        return [TimelineEntry.from_dict(entry) for entry in rows]

    def open_tasks_of(self, session: Session, user_id: str) -> list[dict[str, Any]]:
        """Open tasks the person may act on in this process (as assignee or escalation
        target), soonest due first."""
        tasks = self.t.tasks
        rows = session.execute(
            select(tasks)
            .where(
                tasks.c.process == self.process,
                (tasks.c.assignee_id == user_id) | tasks.c.escalated_to.any(user_id),
            )
            .order_by(tasks.c.due_at.asc().nulls_last(), tasks.c.task_id)
        ).mappings()
        return [dict(row) for row in rows]

    def instance_of_card(self, session: Session, card_id: str) -> str | None:
        """The newest instance of this process for the card."""
        found: str | None = session.scalar(
            select(self.t.instances.c.id)
            .where(
                self.t.instances.c.process == self.process, self.t.instances.c.card_id == card_id
            )
            .order_by(self.t.instances.c.created_at.desc())
            .limit(1)
        )
        return found


def timer_from_payload(payload: dict[str, Any]) -> Timer:
    """The engine's timer back from a ``workflow_timers`` row (for ``TimerFired``)."""
    return Timer.from_dict(payload)


def install_append_only_trigger(session_or_conn: Any) -> None:
    """For the migration that creates ``workflow_timeline``."""
    session_or_conn.execute(text(APPEND_ONLY_SQL))
