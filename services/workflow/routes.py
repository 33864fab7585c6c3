"""Route definitions: YAML data, validated into frozen pydantic models.

The shapes are checked by pydantic; the rules that span several fields (unique
ids, where ``next`` may point, which branch a condition case picks, comment
rules) are checked by ``services.workflow.validation`` so that every error can
name the exact path of the bad field. ``load_route`` runs both.
"""

from __future__ import annotations

from datetime import date, time
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

from services.calendar import WorkingDuration

ApprovalAction = Literal["approve", "approve_with_remarks", "return", "reject"]
TaskAction = Literal["complete", "return", "reject"]
OutputType = Literal["string", "file_id", "number", "date"]
_APPROVAL_ACTIONS: tuple[ApprovalAction, ...] = (
    "approve",
    "approve_with_remarks",
    "return",
    "reject",
)
_TASK_ACTIONS: tuple[TaskAction, ...] = ("complete", "return", "reject")
STEP_KINDS: tuple[str, ...] = ("approval", "task", "parallel", "condition", "wait_until")

#: Ends the list a step is in: the whole route at the top level, a branch inside one.
END = "end"

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
FieldName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")]


def _duration(value: Any) -> WorkingDuration:
    if isinstance(value, WorkingDuration):
        return value
    return WorkingDuration.parse(value)


Duration = Annotated[
    WorkingDuration,
    PlainValidator(_duration, json_schema_input_type=str),
    PlainSerializer(str, return_type=str),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AssigneeRule(_Strict):
    """One of ``{role}``, ``{department_head_of}``, ``{user_field}``, ``{user}``."""

    role: Identifier | None = None
    department_head_of: FieldName | None = None
    user_field: FieldName | None = None
    user: str | None = None

    def describe(self) -> str:
        for key in ("role", "department_head_of", "user_field", "user"):
            value = getattr(self, key)
            if value is not None:
                return f"{key}: {value}"
        return "empty rule"


Assignees = Annotated[list[AssigneeRule], Field(min_length=1)]


class DueCutoff(_Strict):
    """Due at the end of the same working day if started before the cutoff, else the next one."""

    end_of_day_if_before: time

    def __str__(self) -> str:
        return f"end of day if before {self.end_of_day_if_before.isoformat('minutes')}"


def _due(value: Any) -> WorkingDuration | DueCutoff:
    if isinstance(value, WorkingDuration | DueCutoff):
        return value
    if isinstance(value, dict) and "end_of_day_if_before" in value:
        return DueCutoff.model_validate(value)
    return WorkingDuration.parse(value)


def _dump_due(value: WorkingDuration | DueCutoff) -> str | dict[str, str]:
    if isinstance(value, DueCutoff):
        return {"end_of_day_if_before": value.end_of_day_if_before.isoformat("minutes")}
    return str(value)


Due = Annotated[
    WorkingDuration | DueCutoff,
    PlainValidator(_due, json_schema_input_type=str | dict[str, str]),
    PlainSerializer(_dump_due),
]


class SLA(_Strict):
    due: Due | None = None
    #: A date or datetime field of the card that, when set, wins over ``due``.
    due_field: FieldName | None = None
    #: Count ``due`` from the task's creation or from the instance's start.
    due_from: Literal["task", "instance"] = "task"
    check_every: Duration | None = None
    remind_after: Duration | None = None
    escalate_after: Duration | None = None
    escalate_to: Identifier | None = None


class _Step(_Strict):
    id: Identifier
    title: str | None = None
    #: The step to go to afterwards (a later step of the same list), or ``end``.
    next: str | None = None


class ApprovalStep(_Step):
    kind: Literal["approval"]
    assignees: Assignees
    mode: Literal["all", "any", "min"] = "all"
    min_count: int | None = Field(default=None, ge=1)
    actions: list[ApprovalAction] = Field(default_factory=lambda: list(_APPROVAL_ACTIONS))
    #: Actions that need a comment; by default every one but a plain approve.
    comment_required: list[ApprovalAction] | None = None
    #: Allowed reason codes; when set, a return or reject must carry one of them.
    reason_codes: list[Identifier] = Field(default_factory=list)
    #: After rework: ask everyone again, or only those who did not approve.
    resubmission: Literal["all", "not_approved"] = "all"
    fallback: AssigneeRule | None = None
    allow_extra_reviewers: bool = True
    sla: SLA | None = None

    def comment_rules(self) -> list[str]:
        if self.comment_required is not None:
            return list(self.comment_required)
        return [a for a in self.actions if a != "approve"]


class Subtask(_Strict):
    id: Identifier
    title: str | None = None
    assignees: Assignees
    outputs: dict[Identifier, OutputType] = Field(default_factory=dict)
    fallback: AssigneeRule | None = None
    sla: SLA | None = None


class TaskStep(_Step):
    kind: Literal["task"]
    assignees: Assignees
    #: ``any``: one of the assignees does it; ``all``: each of them must.
    mode: Literal["any", "all"] = "any"
    actions: list[TaskAction] = Field(default_factory=lambda: list(_TASK_ACTIONS[:1]))
    #: Actions that need a comment; by default return and reject.
    comment_required: list[TaskAction] | None = None
    reason_codes: list[Identifier] = Field(default_factory=list)
    outputs: dict[Identifier, OutputType] = Field(default_factory=dict)
    subtasks: list[Subtask] = Field(default_factory=list)
    fallback: AssigneeRule | None = None
    sla: SLA | None = None

    def comment_rules(self) -> list[str]:
        if self.comment_required is not None:
            return list(self.comment_required)
        return [a for a in self.actions if a in ("return", "reject")]


class Branch(_Strict):
    id: Identifier
    title: str | None = None
    steps: list[Step]


class ParallelStep(_Step):
    kind: Literal["parallel"]
    branches: list[Branch]


Scalar = bool | int | float | str | date


class Case(_Strict):
    field: FieldName | None = None
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    gt: Scalar | None = None
    gte: Scalar | None = None
    lt: Scalar | None = None
    lte: Scalar | None = None
    exists: bool | None = None
    branch: str

    def operator(self) -> tuple[str, Any]:
        """The single comparison this case makes (validation guarantees there is one)."""
        for name in CASE_OPERATORS:
            value = getattr(self, "in_" if name == "in" else name)
            if value is not None:
                return name, value
        raise ValueError("case without an operator")


CASE_OPERATORS: tuple[str, ...] = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "exists",
)


class ConditionStep(_Step):
    kind: Literal["condition"]
    field: FieldName
    cases: list[Case]
    #: The branch taken when no case matches; required so no card falls through silently.
    default: str
    branches: list[Branch]


class WaitUntilStep(_Step):
    kind: Literal["wait_until"]
    #: A date or datetime field of the card.
    field: FieldName
    #: The clock time on a date-only field; the start of that working day otherwise.
    at: time | None = None


Step = Annotated[
    ApprovalStep | TaskStep | ParallelStep | ConditionStep | WaitUntilStep,
    Field(discriminator="kind"),
]
AnyStep = ApprovalStep | TaskStep | ParallelStep | ConditionStep | WaitUntilStep


class Route(_Strict):
    schema_version: Literal[1] = 1
    id: Identifier
    version: int = Field(default=1, ge=1)
    title: str | None = None
    #: Who takes a step when its assignee rules find nobody, and the last escalation target.
    escalation_role: Identifier | None = None
    steps: list[Step]

    @cached_property
    def index(self) -> RouteIndex:
        return RouteIndex(self)

    def step(self, step_id: str) -> AnyStep:
        return self.index.steps[step_id].step

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Route:
        from services.workflow.validation import load_route

        return load_route(data)


class Placement:
    """Where a step sits: its list (by key), its position, and the step owning the list."""

    __slots__ = ("index", "list_key", "owner_id", "step")

    def __init__(self, step: AnyStep, list_key: str, index: int, owner_id: str | None) -> None:
        self.step = step
        self.list_key = list_key
        self.index = index
        self.owner_id = owner_id


ROOT = "root"


def list_key(owner_id: str, branch_id: str) -> str:
    return f"{owner_id}/{branch_id}"


class RouteIndex:
    """Step lookups the engine needs on every command, built once per route."""

    def __init__(self, route: Route) -> None:
        self.steps: dict[str, Placement] = {}
        self.lists: dict[str, list[AnyStep]] = {}
        #: list key -> (owning parallel/condition step id, branch id); the root has none.
        self.list_owner: dict[str, tuple[str, str]] = {}
        self._walk(ROOT, list(route.steps), None)

    def _walk(self, key: str, steps: list[AnyStep], owner_id: str | None) -> None:
        self.lists[key] = steps
        for position, step in enumerate(steps):
            # Duplicates are reported by validation; the first one wins here.
            self.steps.setdefault(step.id, Placement(step, key, position, owner_id))
            if isinstance(step, ParallelStep | ConditionStep):
                for branch in step.branches:
                    child = list_key(step.id, branch.id)
                    self.list_owner[child] = (step.id, branch.id)
                    self._walk(child, list(branch.steps), step.id)


for _model in (Branch, ParallelStep, ConditionStep, Route):
    _model.model_rebuild()
