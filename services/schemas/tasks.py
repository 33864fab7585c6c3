"""Contract of "my tasks" across process services (contracts, payments, letters)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["approve", "approve_with_remarks", "return", "reject", "complete"]


class DecisionRequest(BaseModel):
    """``POST /api/v1/tasks/{id}/decision``."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"action": "approve"},
                {
                    "action": "return",
                    "comment": "Нет доверенности подписанта со стороны контрагента",
                    "reason_code": "missing_documents",
                },
                {"action": "complete", "outputs": {"registration_number": "Д-2026-0042"}},
            ]
        },
    )

    action: Action
    comment: Annotated[str, Field(max_length=4000)] | None = None
    reason_code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")] | None = None
    outputs: dict[str, Any] = Field(default_factory=dict)
    #: The instance version the person saw; a stale one is refused with 409.
    expected_version: Annotated[int, Field(ge=1)] | None = None


class DelegationRequest(BaseModel):
    """``POST /api/v1/tasks/{id}/delegate``."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "user_id": "9c1f0b2e-7d4a-4e55-8a1b-2c3d4e5f6a7b",
                    "comment": "В отпуске до пятницы, прошу согласовать за меня",
                }
            ]
        },
    )

    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    comment: Annotated[str, Field(max_length=4000)] | None = None
    expected_version: Annotated[int, Field(ge=1)] | None = None


class PastDecision(BaseModel):
    round: int
    step_id: str
    assignee_id: str
    actor_id: str
    on_behalf_of: str | None
    action: str
    at: datetime
    comment: str | None
    reason_code: str | None


class TaskView(BaseModel):
    """One task as "my tasks" shows it, whatever process it belongs to."""

    id: str = Field(description="`<service>:<instance>:<task>`; use it in /api/v1/tasks/{id}")
    service: str
    process: str
    card_id: str
    card_title: str
    link: str
    instance_id: str
    instance_version: int
    step_id: str
    title: str
    kind: Literal["approval", "task", "subtask"]
    state: str
    assignee_id: str
    on_behalf_of: str | None
    escalated_to: list[str]
    created_at: datetime
    taken_at: datetime | None
    due_at: datetime | None
    overdue: bool
    round: int
    resubmitted: bool = Field(description="the card came back after rework")
    previous_decisions: list[PastDecision] = Field(
        description="what was decided on this step in earlier rounds"
    )
    allowed_actions: list[str]
    comment_required: list[str]
    reason_codes: list[str]
    outputs: dict[str, str] = Field(description="outputs the action needs: name -> type")


class ProcessView(BaseModel):
    """The process box of a card: state, who is responsible now, open tasks, decisions."""

    instance_id: str
    route_id: str
    state: str
    round: int
    resubmitted: bool
    version: int
    responsible: list[str]
    open_tasks: list[TaskView]
    decisions: list[PastDecision]


class DecisionResult(BaseModel):
    task: TaskView
    process: ProcessView


class TimelineEntry(BaseModel):
    instance_id: str
    seq: int
    at: datetime
    action: str
    round: int
    actor_id: str | None = None
    on_behalf_of: str | None = None
    step_id: str | None = None
    task_id: str | None = None
    comment: str | None = None
    reason_code: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str | None = None
    hash: str


class BulkDecisionItem(DecisionRequest):
    task_id: Annotated[str, Field(min_length=3, max_length=200)]


class BulkDecisionRequest(BaseModel):
    """``POST /api/v1/tasks/decisions``: several tasks at once from "my tasks"."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decisions": [
                        {"task_id": "contracts:3f0c…:t2", "action": "approve"},
                        {"task_id": "payments:9a1b…:t1", "action": "approve"},
                    ]
                }
            ]
        },
    )

    decisions: Annotated[list[BulkDecisionItem], Field(min_length=1, max_length=50)]


class BulkDecisionOutcome(BaseModel):
    task_id: str
    #: The HTTP status this decision alone would have had (200, 403, 404, 409, 422…).
    status: int
    detail: str | None = None
    result: DecisionResult | None = None


class BulkDecisionResult(BaseModel):
    outcomes: list[BulkDecisionOutcome]


class TaskList(BaseModel):
    items: list[TaskView]
    #: Services that did not answer: their tasks are missing from this list.
    unavailable: list[str] = Field(default_factory=list)
