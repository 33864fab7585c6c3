"""Commands an instance accepts, as dataclasses and from their JSON form.

``expected_version`` is the instance version the caller saw; when given and
stale, the command is refused with Conflict (optimistic concurrency).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from services.workflow.errors import Invalid
from services.workflow.model import Timer


@dataclass(frozen=True)
class Decide:
    task_id: str
    actor_id: str
    action: str
    comment: str | None = None
    reason_code: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    expected_version: int | None = None


@dataclass(frozen=True)
class CompleteSubtask:
    task_id: str
    actor_id: str
    outputs: dict[str, Any] = field(default_factory=dict)
    comment: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class Take:
    """The assignee opened the task: the "not started" reminders stop."""

    task_id: str
    actor_id: str
    expected_version: int | None = None


@dataclass(frozen=True)
class AddReviewer:
    step_id: str
    actor_id: str
    user_id: str
    comment: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class Resubmit:
    actor_id: str
    #: The reworked card; None keeps the current one.
    card: dict[str, Any] | None = None
    comment: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class Delegate:
    """The holder passes an open task to a colleague, who then acts on their behalf."""

    task_id: str
    actor_id: str
    user_id: str
    comment: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class Suspend:
    """Pause a running instance (a payment request frozen, documents awaited): nobody
    decides, no reminder runs. The service decides who may; the engine records who did."""

    actor_id: str
    comment: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class Resume:
    """Go on where the instance stopped: deadlines and the watch move later by the
    working time spent paused."""

    actor_id: str
    comment: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class TimerFired:
    timer: Timer
    expected_version: int | None = None


@dataclass(frozen=True)
class Cancel:
    actor_id: str
    comment: str | None = None
    #: Set by the service after it checked the caller's admin role; the
    #: engine itself only lets the initiator cancel.
    as_admin: bool = False
    expected_version: int | None = None


Command = (
    Decide
    | CompleteSubtask
    | Take
    | AddReviewer
    | Delegate
    | Resubmit
    | Suspend
    | Resume
    | TimerFired
    | Cancel
)

COMMANDS: dict[str, type[Command]] = {
    "decide": Decide,
    "complete_subtask": CompleteSubtask,
    "take": Take,
    "add_reviewer": AddReviewer,
    "delegate": Delegate,
    "resubmit": Resubmit,
    "suspend": Suspend,
    "resume": Resume,
    "timer_fired": TimerFired,
    "cancel": Cancel,
}


def parse_command(data: dict[str, Any]) -> Command:
    """``{"type": "decide", "task_id": ..., ...}`` -> Decide(...)."""
    kind = data.get("type")
    cls = COMMANDS.get(str(kind))
    if cls is None:
        raise Invalid(
            f"unknown command type {kind!r}",
            [{"loc": ["type"], "msg": f"one of {sorted(COMMANDS)}"}],
        )
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names - {"type"})
    if unknown:
        raise Invalid(
            f"unknown field(s) for {kind}: {', '.join(unknown)}",
            [{"loc": [name], "msg": "unexpected"} for name in unknown],
        )
    args = {key: value for key, value in data.items() if key != "type"}
    if cls is TimerFired and isinstance(args.get("timer"), dict):
        args["timer"] = Timer.from_dict(args["timer"])
    try:
        return cls(**args)
    except TypeError as exc:
        raise Invalid(f"bad {kind} command: {exc}") from None


def command_to_dict(command: Command) -> dict[str, Any]:
    data: dict[str, Any] = {"type": next(k for k, v in COMMANDS.items() if isinstance(command, v))}
    for item in fields(command):
        value = getattr(command, item.name)
        data[item.name] = value.to_dict() if isinstance(value, Timer) else value
    return data
