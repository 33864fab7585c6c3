"""The running state of a route: instance, tasks, decisions, timers, and what a command returns.

Plain dataclasses the engine copies before changing, so a caller's instance is
never touched. ``to_dict``/``from_dict`` give the JSON stored in PostgreSQL
(JSONB); ``schema_version`` lets later versions migrate old documents.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import TypeAdapter

from services.workflow.timeline import TimelineEntry

INSTANCE_SCHEMA_VERSION = 1

InstanceState = Literal["running", "returned", "rejected", "completed", "waiting", "cancelled"]
TERMINAL_STATES: frozenset[str] = frozenset({"rejected", "completed", "cancelled"})
TaskKind = Literal["approval", "task", "subtask"]
TaskState = Literal["open", "done", "cancelled"]
TimerKind = Literal["check", "remind", "escalate", "due", "wait"]
StepStatus = Literal["active", "completed", "cancelled"]


@dataclass(frozen=True)
class Assignee:
    """A person who must act; ``on_behalf_of`` names the absent person a deputy replaces."""

    user_id: str
    on_behalf_of: str | None = None


class OrgLookup(Protocol):
    """The org directory as the engine sees it (org_svc implements it over RPC).

    ``rule`` is one of ``{"kind": "role", "role": ...}``,
    ``{"kind": "department_head", "user_id": ...}``, ``{"kind": "user", "user_id": ...}``.
    Absent people come back as their deputy with ``on_behalf_of`` set.
    """

    def resolve(self, rule: dict[str, str], at: datetime) -> list[Assignee]: ...


@dataclass(frozen=True)
class Decision:
    round: int
    step_id: str
    task_id: str
    #: The person whose task it was (the slot), whoever acted on it.
    assignee_id: str
    actor_id: str
    on_behalf_of: str | None
    action: str
    at: datetime
    comment: str | None = None
    reason_code: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Task:
    id: str
    step_id: str
    round: int
    kind: TaskKind
    assignee_id: str
    created_at: datetime
    on_behalf_of: str | None = None
    subtask_id: str | None = None
    state: TaskState = "open"
    taken_at: datetime | None = None
    due_at: datetime | None = None
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    #: People who may act in the assignee's place after an escalation.
    escalated_to: list[str] = field(default_factory=list)
    #: Where the "not started" watch counts from: the creation, moved on by pauses.
    watch_from: datetime | None = None
    #: Who added this reviewer to the step, when it was not in the route.
    added_by: str | None = None
    #: How the assignee was found when the step's own rules found nobody.
    fallback: str | None = None
    decision: Decision | None = None
    #: What was decided in the previous round: shown to the approver on re-submission.
    previous_decisions: list[Decision] = field(default_factory=list)

    def clone(self) -> Task:
        twin = copy.copy(self)
        twin.escalated_to = list(self.escalated_to)
        twin.previous_decisions = list(self.previous_decisions)
        return twin

    @property
    def slot(self) -> str:
        """The person this task belongs to: the absent one when a deputy holds it."""
        return self.on_behalf_of or self.assignee_id


@dataclass(frozen=True)
class Timer:
    id: str
    kind: TimerKind
    fire_at: datetime
    step_id: str
    round: int
    task_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _TIMER.dump_python(self, mode="json")  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timer:
        return _TIMER.validate_python(data)


@dataclass
class StepRun:
    step_id: str
    status: StepStatus
    started_at: datetime
    completed_at: datetime | None = None
    #: Condition: the branch taken. Parallel: the branches still running.
    branch: str | None = None
    pending_branches: list[str] = field(default_factory=list)
    #: Approval: approvals needed (mode ``min``, lowered when fewer people exist).
    required: int | None = None
    #: Approval: people whose approval in an earlier round still counts.
    carried: list[str] = field(default_factory=list)

    def clone(self) -> StepRun:
        twin = copy.copy(self)
        twin.pending_branches = list(self.pending_branches)
        twin.carried = list(self.carried)
        return twin


@dataclass
class Instance:
    id: str
    route_id: str
    route_version: int
    initiator_id: str
    card: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    state: InstanceState = "running"
    round: int = 1
    resubmitted: bool = False
    version: int = 1
    steps: dict[str, StepRun] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    timers: dict[str, Timer] = field(default_factory=dict)
    #: Reviewers added by people, per step; they are asked again in later rounds.
    extra_reviewers: dict[str, list[str]] = field(default_factory=dict)
    #: Who must rework and resubmit while the instance is returned.
    returned_to: list[str] = field(default_factory=list)
    #: Paused (``Suspend``) since then: nobody acts, no timer runs; ``held`` keeps the
    #: timers to set again, later by the paused working time, on ``Resume``.
    suspended_at: datetime | None = None
    held: list[Timer] = field(default_factory=list)
    id_seq: int = 0
    timeline_seq: int = 0
    timeline_head: str = ""
    schema_version: int = INSTANCE_SCHEMA_VERSION

    def open_tasks(self) -> list[Task]:
        return [task for task in self.tasks.values() if task.state == "open"]

    @property
    def responsible(self) -> list[str]:
        """Who must act now: open tasks' holders and escalation targets, or the reworker."""
        if self.state == "returned":
            return list(self.returned_to)
        if self.state != "running":
            return []
        people: dict[str, None] = {}
        for task in self.open_tasks():
            people[task.assignee_id] = None
            for target in task.escalated_to:
                people[target] = None
        return list(people)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = _INSTANCE.dump_python(self, mode="json")
        # Stored too, so that "waiting for my action" is one JSONB query.
        data["responsible"] = self.responsible
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Instance:
        data = {key: value for key, value in data.items() if key != "responsible"}
        version = data.get("schema_version", INSTANCE_SCHEMA_VERSION)
        if version != INSTANCE_SCHEMA_VERSION:
            raise ValueError(f"instance schema_version {version} is not supported")
        return _INSTANCE.validate_python(data)

    def copy(self) -> Instance:
        """A copy the engine may change freely.

        Decisions and timers are frozen and shared; everything the engine
        changes in place is copied. Hand-written because ``deepcopy`` was the
        largest cost of a decision.
        """
        twin = copy.copy(self)
        twin.card = copy.deepcopy(self.card)
        twin.steps = {key: run.clone() for key, run in self.steps.items()}
        twin.tasks = {key: task.clone() for key, task in self.tasks.items()}
        twin.decisions = list(self.decisions)
        twin.timers = dict(self.timers)
        twin.extra_reviewers = {key: list(users) for key, users in self.extra_reviewers.items()}
        twin.returned_to = list(self.returned_to)
        twin.held = list(self.held)
        return twin


_INSTANCE: TypeAdapter[Instance] = TypeAdapter(Instance)
_TIMER: TypeAdapter[Timer] = TypeAdapter(Timer)


@dataclass(frozen=True)
class Event:
    """A fact for other services (notifications, the SLA board, the card's status)."""

    type: str
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "payload": self.payload}


class Result(NamedTuple):
    instance: Instance
    timeline: list[TimelineEntry]
    events: list[Event]
    timers_to_set: list[Timer]
    timers_to_cancel: list[str]
