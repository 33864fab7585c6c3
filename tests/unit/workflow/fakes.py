"""An in-memory org directory and small factories for the engine's tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from services.workflow.commands import Command, Decide, TimerFired
from services.workflow.engine import WorkflowEngine
from services.workflow.model import Assignee, Result, Task
from services.workflow.routes import Route
from services.workflow.timeline import TimelineEntry
from services.workflow.validation import load_route

MSK = ZoneInfo("Europe/Moscow")
EXAMPLES = Path(__file__).resolve().parents[3] / "services" / "workflow" / "examples"


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def example(name: str) -> Route:
    return load_route(EXAMPLES / f"{name}.yaml")


def route(steps: list[dict[str, Any]], **extra: Any) -> Route:
    return load_route({"id": "test_route", "steps": steps, **extra})


@dataclass
class FakeOrg:
    """Roles, departments with heads, and absences (absent person -> deputy)."""

    roles: dict[str, list[str]] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    deputies: dict[str, str] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)

    def resolve(self, rule: dict[str, str], at: datetime) -> list[Assignee]:
        assert at.tzinfo is not None
        self.calls.append(dict(rule))
        if rule["kind"] == "role":
            people = list(self.roles.get(rule["role"], []))
        elif rule["kind"] == "department_head":
            head = self.heads.get(self.departments.get(rule["user_id"], ""))
            people = [head] if head else []
        elif rule["kind"] == "user":
            people = [rule["user_id"]]
        else:
            raise AssertionError(f"unexpected rule {rule}")
        return [
            Assignee(self.deputies[p], on_behalf_of=p) if p in self.deputies else Assignee(p)
            for p in people
        ]


def company() -> FakeOrg:
    """A small company where every role of PROCESSES.md has someone."""
    return FakeOrg(
        roles={
            "pto": ["pavel"],
            "lawyer": ["lena"],
            "finance_manager": ["fedor"],
            "accountant": ["anna"],
            "director": ["dmitry"],
            "reception": ["rita"],
            "office_manager": ["oleg"],
            "operations_manager": ["oksana"],
            "chief_accountant": ["chris"],
            "junior_accountant": ["julia"],
            "ceo": ["cyril"],
        },
        departments={"ivan": "sales", "olga": "sales", "sergey": "it"},
        heads={"sales": "olga", "it": "sergey"},
    )


class Driver:
    """Runs one instance through commands the way a service would, keeping every result."""

    def __init__(
        self,
        route: Route,
        *,
        org: FakeOrg | None = None,
        card: dict[str, Any] | None = None,
        initiator: str = "ivan",
        now: datetime | None = None,
        engine: WorkflowEngine | None = None,
    ) -> None:
        self.route = route
        self.org = org or company()
        self.engine = engine or WorkflowEngine()
        self.now = now or at(2025, 3, 17, 10)  # a Monday
        first = self.engine.start(
            route, dict(card or {}), initiator, self.now, self.org, instance_id="inst"
        )
        self.instance = first.instance
        self.results: list[Result] = [first]
        self.timeline: list[TimelineEntry] = list(first.timeline)

    def state(self) -> str:
        # A call, not an attribute: mypy would otherwise narrow the state
        # between two commands and call later comparisons unreachable.
        return self.instance.state

    @property
    def last(self) -> Result:
        return self.results[-1]

    def do(self, command: Command, now: datetime | None = None) -> Result:
        if now is not None:
            self.now = now
        result = self.engine.handle(self.route, self.instance, command, self.now, self.org)
        self.instance = result.instance
        self.results.append(result)
        self.timeline.extend(result.timeline)
        return result

    def task(self, user: str, step: str | None = None) -> Task:
        found = [
            t
            for t in self.instance.open_tasks()
            if t.assignee_id == user and (step is None or t.step_id == step)
        ]
        assert len(found) == 1, f"{user} has {len(found)} open tasks: {self.instance.open_tasks()}"
        return found[0]

    def decide(
        self, user: str, action: str = "approve", *, step: str | None = None, **kw: Any
    ) -> Result:
        return self.do(Decide(self.task(user, step).id, user, action, **kw))

    def open_steps(self) -> list[str]:
        return sorted({t.step_id for t in self.instance.open_tasks()})

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e.payload for r in self.results for e in r.events if e.type == kind]

    def fire_until(self, until: datetime) -> list[Result]:
        """Fire every due timer in time order, as the sweeper would, up to ``until``."""
        fired: list[Result] = []
        while True:
            due = sorted(
                (t for t in self.instance.timers.values() if t.fire_at <= until),
                key=lambda t: (t.fire_at, t.id),
            )
            if not due:
                self.now = max(self.now, until)
                return fired
            timer = due[0]
            fired.append(self.do(TimerFired(timer), max(self.now, timer.fire_at)))
