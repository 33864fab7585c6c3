"""A route as a Mermaid flowchart, for docs and for the card's "where is it" view."""

from __future__ import annotations

from collections.abc import Sequence

from services.workflow.routes import (
    END,
    AnyStep,
    ApprovalStep,
    ConditionStep,
    ParallelStep,
    Route,
    TaskStep,
    WaitUntilStep,
)

START_NODE = "start"
FINISH_NODE = "finish"


def _node(step_id: str) -> str:
    # A prefix keeps step ids clear of Mermaid's keywords (end, graph, style...).
    return f"s_{step_id}"


def _text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _case_label(operator: str, value: object) -> str:
    symbols = {
        "equals": "=",
        "not_equals": "≠",
        "gt": ">",
        "gte": "≥",
        "lt": "<",
        "lte": "≤",
        "in": "in",
        "not_in": "not in",
    }
    if operator == "exists":
        return "is set" if value else "is empty"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return f"{symbols[operator]} {value}"


class _Renderer:
    def __init__(self, route: Route) -> None:
        self.route = route
        self.lines: list[str] = []

    def entry(self, step: AnyStep) -> str:
        return _node(step.id) + ("_fork" if isinstance(step, ParallelStep) else "")

    def render_list(self, steps: Sequence[AnyStep], exit_node: str) -> str:
        if not steps:
            return exit_node
        by_id = {step.id: step for step in steps}
        for position, step in enumerate(steps):
            if step.next == END:
                successor = exit_node
            elif step.next is not None:
                successor = self.entry(by_id[step.next])
            elif position + 1 < len(steps):
                successor = self.entry(steps[position + 1])
            else:
                successor = exit_node
            self.render_step(step, successor)
        return self.entry(steps[0])

    def render_step(self, step: AnyStep, successor: str) -> None:
        node = _node(step.id)
        title = _text(step.title or step.id)
        if isinstance(step, ApprovalStep | TaskStep):
            who = ", ".join(rule.describe() for rule in step.assignees)
            detail = f"{step.kind} · {step.mode}"
            if isinstance(step, ApprovalStep) and step.mode == "min":
                detail += f" {step.min_count}"
            lines = [title, _text(detail), _text(who)]
            if isinstance(step, TaskStep):
                if step.subtasks:
                    lines.append(_text("subtasks: " + ", ".join(s.id for s in step.subtasks)))
                if step.outputs:
                    lines.append(_text("outputs: " + ", ".join(step.outputs)))
            if step.sla is not None and step.sla.due is not None:
                lines.append(_text(f"due {step.sla.due}"))
            shape = ('["', '"]') if isinstance(step, ApprovalStep) else ('("', '")')
            self.lines.append(f"    {node}{shape[0]}{'<br/>'.join(lines)}{shape[1]}")
            self.lines.append(f"    {node} --> {successor}")
        elif isinstance(step, WaitUntilStep):
            self.lines.append(f'    {node}[/"{title}<br/>wait until {_text(step.field)}"/]')
            self.lines.append(f"    {node} --> {successor}")
        elif isinstance(step, ParallelStep):
            fork, join = f"{node}_fork", f"{node}_join"
            self.lines.append(f'    {fork}{{{{"{title}<br/>parallel"}}}}')
            self.lines.append(f'    {join}{{{{"join {title}"}}}}')
            for branch in step.branches:
                entry = self.render_list(list(branch.steps), join)
                self.lines.append(f'    {fork} -->|"{_text(branch.title or branch.id)}"| {entry}')
            self.lines.append(f"    {join} --> {successor}")
        else:
            self.render_condition(step, successor)

    def render_condition(self, step: ConditionStep, successor: str) -> None:
        node = _node(step.id)
        label = f"{_text(step.title or step.id)}<br/>{_text(step.field)}?"
        self.lines.append(f'    {node}{{"{label}"}}')
        entries = {
            branch.id: self.render_list(list(branch.steps), successor) for branch in step.branches
        }
        for case in step.cases:
            operator, value = case.operator()
            label = _case_label(operator, value)
            if case.field and case.field != step.field:
                label = f"{case.field} {label}"
            self.lines.append(f'    {node} -->|"{_text(label)}"| {entries[case.branch]}')
        self.lines.append(f'    {node} -->|"default"| {entries[step.default]}')


def to_mermaid(route: Route) -> str:
    """A ``flowchart TD`` with every step, parallel forks and joins, and condition branches."""
    renderer = _Renderer(route)
    entry = renderer.render_list(list(route.steps), FINISH_NODE)
    header = [
        "flowchart TD",
        f'    {START_NODE}(("{_text(route.title or route.id)}"))',
        f'    {FINISH_NODE}(("end"))',
        f"    {START_NODE} --> {entry}",
    ]
    return "\n".join(header + renderer.lines) + "\n"
