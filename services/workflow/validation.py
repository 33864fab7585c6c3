"""Loading a route: YAML or a dict in, a validated ``Route`` out, or every error with its path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from services.workflow.errors import FieldErrors, RouteInvalid
from services.workflow.routes import (
    CASE_OPERATORS,
    END,
    SLA,
    STEP_KINDS,
    AnyStep,
    ApprovalStep,
    ConditionStep,
    ParallelStep,
    Route,
    TaskStep,
)

Loc = list[str | int]


def load_route(source: str | Path | Mapping[str, Any]) -> Route:
    """Parse and validate a route; raise RouteInvalid naming each bad field's path."""
    if isinstance(source, Path):
        source = source.read_text(encoding="utf-8")
    if isinstance(source, str):
        try:
            data: Any = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise RouteInvalid(f"the route is not valid YAML: {exc}") from None
    else:
        data = dict(source)
    if not isinstance(data, Mapping):
        raise RouteInvalid("a route is a mapping with id and steps")
    try:
        route = Route.model_validate(data)
    except ValidationError as exc:
        raise _report(_from_pydantic(exc)) from None
    errors = _Checker(route).run()
    if errors:
        raise _report(errors)
    return route


def _report(errors: FieldErrors) -> RouteInvalid:
    first = errors[0]
    where = format_loc(first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return RouteInvalid(f"invalid route: {where}: {first['msg']}{more}", errors)


def format_loc(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "route"


def _from_pydantic(exc: ValidationError) -> FieldErrors:
    errors: FieldErrors = []
    for err in exc.errors(include_url=False, include_context=False):
        loc: Loc = []
        for part in err["loc"]:
            # Drop what pydantic adds for unions: the discriminator tag after a
            # list index and the validator's own name; neither is in the YAML.
            if isinstance(part, str) and (
                (part in STEP_KINDS and loc and isinstance(loc[-1], int))
                or part.startswith("function-")
            ):
                continue
            loc.append(part)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "union_tag_invalid":
            message = f"unknown step kind; expected one of {', '.join(STEP_KINDS)}"
            loc.append("kind")
        elif err["type"] == "union_tag_not_found":
            message = "a step needs a kind"
            loc.append("kind")
        errors.append({"loc": loc, "msg": message})
    return errors


class _Checker:
    """The rules spanning several fields; collects all errors rather than stopping at one."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.errors: FieldErrors = []
        self.seen: dict[str, Loc] = {}

    def error(self, loc: Loc, msg: str) -> None:
        self.errors.append({"loc": loc, "msg": msg})

    def run(self) -> FieldErrors:
        if not self.route.steps:
            self.error(["steps"], "a route needs at least one step")
        self.steps(list(self.route.steps), ["steps"])
        return self.errors

    def claim(self, step_id: str, loc: Loc) -> None:
        if step_id == END:
            self.error([*loc, "id"], f"{END!r} is reserved: 'next: end' means the end of the list")
        elif step_id in self.seen:
            self.error(
                [*loc, "id"],
                f"duplicate id {step_id!r}: already used at {format_loc(self.seen[step_id])}",
            )
        else:
            self.seen[step_id] = loc

    def steps(self, steps: list[AnyStep], loc: Loc) -> None:
        positions = {step.id: index for index, step in enumerate(steps)}
        for index, step in enumerate(steps):
            here: Loc = [*loc, index]
            self.claim(step.id, here)
            self.next(step, index, positions, here)
            if isinstance(step, ApprovalStep):
                self.approval(step, here)
            elif isinstance(step, TaskStep):
                self.task(step, here)
            elif isinstance(step, ParallelStep):
                self.parallel(step, here)
            elif isinstance(step, ConditionStep):
                self.condition(step, here)

    def next(self, step: AnyStep, index: int, positions: dict[str, int], loc: Loc) -> None:
        target = step.next
        if target is None or target == END:
            return
        if target not in positions:
            known = self.route.index.steps.get(target)
            if known is None:
                self.error([*loc, "next"], f"next points to unknown step {target!r}")
            else:
                self.error(
                    [*loc, "next"],
                    f"next may only name a later step of the same list (or 'end'); "
                    f"{target!r} is in another list",
                )
        elif positions[target] <= index:
            # Forward-only jumps keep every route finite: loops happen through
            # rework rounds, never inside one round.
            self.error([*loc, "next"], f"next must point forward; {target!r} does not come later")

    def decisions(self, step: ApprovalStep | TaskStep, loc: Loc, positive: str) -> None:
        actions: list[str] = list(step.actions)
        if positive not in actions:
            self.error(
                [*loc, "actions"], f"actions must include {positive!r}, or the step never ends"
            )
        if len(set(actions)) != len(actions):
            self.error([*loc, "actions"], "an action is listed twice")
        rules = step.comment_rules()
        for action in ("return", "reject"):
            if action in actions and action not in rules:
                self.error(
                    [*loc, "comment_required"],
                    f"missing comment rule: {action!r} is allowed, so comment_required "
                    "must list it (a return or a rejection always needs a comment)",
                )
        for position, action in enumerate(step.comment_required or []):
            if action not in actions:
                self.error(
                    [*loc, "comment_required", position],
                    f"{action!r} is not among this step's actions",
                )
        if len(set(step.reason_codes)) != len(step.reason_codes):
            self.error([*loc, "reason_codes"], "a reason code is listed twice")
        if step.sla is not None:
            self.sla(step.sla, [*loc, "sla"])

    def approval(self, step: ApprovalStep, loc: Loc) -> None:
        self.decisions(step, loc, "approve")
        if step.mode == "min" and step.min_count is None:
            self.error(
                [*loc, "min_count"], "mode 'min' needs min_count (how many approvals suffice)"
            )
        if step.mode != "min" and step.min_count is not None:
            self.error(
                [*loc, "min_count"], f"min_count only applies to mode 'min', not {step.mode!r}"
            )

    def task(self, step: TaskStep, loc: Loc) -> None:
        self.decisions(step, loc, "complete")
        local: set[str] = set()
        for index, subtask in enumerate(step.subtasks):
            here: Loc = [*loc, "subtasks", index]
            if subtask.id in local:
                self.error([*here, "id"], f"duplicate subtask id {subtask.id!r}")
            local.add(subtask.id)
            if subtask.sla is not None:
                self.sla(subtask.sla, [*here, "sla"])

    def parallel(self, step: ParallelStep, loc: Loc) -> None:
        if len(step.branches) < 2:
            self.error([*loc, "branches"], "a parallel step needs at least two branches")
        self.branches(step, loc, allow_empty=False)

    def branches(self, step: ParallelStep | ConditionStep, loc: Loc, *, allow_empty: bool) -> None:
        names: set[str] = set()
        for index, branch in enumerate(step.branches):
            here: Loc = [*loc, "branches", index]
            if branch.id in names:
                self.error([*here, "id"], f"duplicate branch id {branch.id!r}")
            names.add(branch.id)
            if not branch.steps and not allow_empty:
                self.error([*here, "steps"], "a parallel branch needs at least one step")
            self.steps(list(branch.steps), [*here, "steps"])

    def condition(self, step: ConditionStep, loc: Loc) -> None:
        self.branches(step, loc, allow_empty=True)
        names = [branch.id for branch in step.branches]
        if not step.cases:
            self.error([*loc, "cases"], "a condition needs at least one case")
        for index, case in enumerate(step.cases):
            here: Loc = [*loc, "cases", index]
            used = [name for name in CASE_OPERATORS if name in _set_fields(case)]
            if len(used) != 1:
                self.error(
                    here,
                    f"a case compares with exactly one of {', '.join(CASE_OPERATORS)}; "
                    f"found {used or 'none'}",
                )
            for name in used:
                value = getattr(case, "in_" if name == "in" else name)
                if name in ("in", "not_in") and not isinstance(value, list):
                    self.error([*here, name], f"{name} needs a list of values")
                if name in ("gt", "gte", "lt", "lte") and isinstance(value, bool | list):
                    self.error([*here, name], f"{name} compares with a number, a date or a string")
            if case.branch not in names:
                self.error(
                    [*here, "branch"],
                    f"case refers to no branch: {case.branch!r} is not one of {names}",
                )
        if step.default not in names:
            self.error(
                [*loc, "default"],
                f"default refers to no branch: {step.default!r} is not one of {names}",
            )

    def sla(self, sla: SLA, loc: Loc) -> None:
        if sla.escalate_to is not None and sla.escalate_after is None:
            self.error(
                [*loc, "escalate_after"], "escalate_to needs escalate_after (when to escalate)"
            )
        if (
            sla.escalate_after is not None
            and sla.escalate_to is None
            and not self.route.escalation_role
        ):
            self.error(
                [*loc, "escalate_to"],
                "escalate_after needs escalate_to (a role), or the route's escalation_role",
            )
        if sla.check_every is not None and sla.remind_after is None:
            self.error(
                [*loc, "remind_after"], "check_every needs remind_after: what is checked for?"
            )
        if sla.due_from == "instance" and sla.due is None:
            self.error([*loc, "due"], "due_from needs due")


def _set_fields(case: Any) -> set[str]:
    return {"in" if name == "in_" else name for name in case.model_fields_set}
