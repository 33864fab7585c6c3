"""How many decisions per second the pure workflow engine makes, with no I/O.

Measures, on the example routes and an in-memory org directory:

  start            engine.start of contract_approval (first task assigned, timers planned)
  decide           one decision of the approve-through run of contract_approval
                   (8 decisions per instance: 6 approvals, 2 completions with outputs)
  decide-parallel  the same on contract_approval_parallel (5 approvals)
  timer            one timer firing of payment_request's smart-reminder chain
  copy             Instance.copy() alone: the price of never mutating the input
  json             Instance.to_dict + json.dumps + json.loads + Instance.from_dict
  verify           verify_chain over one finished instance's timeline (per entry)

Printed as operations per second and microseconds per operation (median of
``--rounds`` rounds). Not part of the test run.
Run: ``.venv/bin/python bench/workflow.py [--rounds 5] [--instances 200]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from services.workflow import (
    Assignee,
    Decide,
    Instance,
    Route,
    TimerFired,
    WorkflowEngine,
    load_route,
    verify_chain,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "services" / "workflow" / "examples"
MSK = ZoneInfo("Europe/Moscow")
START = datetime(2025, 3, 17, 10, tzinfo=MSK)
ROLES = {
    "pto": "pavel",
    "lawyer": "lena",
    "finance_manager": "fedor",
    "accountant": "anna",
    "director": "dmitry",
    "reception": "rita",
    "office_manager": "oleg",
    "operations_manager": "oksana",
    "chief_accountant": "chris",
    "junior_accountant": "julia",
}


class Org:
    def resolve(self, rule: dict[str, str], at: datetime) -> list[Assignee]:
        if rule["kind"] == "role":
            return [Assignee(ROLES[rule["role"]])]
        if rule["kind"] == "department_head":
            return [Assignee("olga")]
        return [Assignee(rule["user_id"])]


ORG = Org()
OUTPUTS = {"sign": {"signed_scan": str(uuid.uuid4())}, "register": {"registration_number": "D-1"}}


def approve_through(
    engine: WorkflowEngine, route: Route, instance: Instance
) -> tuple[Instance, int]:
    decisions = 0
    now = START
    while instance.state == "running":
        task = instance.open_tasks()[0]
        action = "complete" if task.kind == "task" else "approve"
        command = Decide(
            task.id,
            task.assignee_id,
            action,
            outputs=OUTPUTS.get(task.step_id, {}),
            expected_version=instance.version,
        )
        now += timedelta(minutes=30)
        instance = engine.handle(route, instance, command, now, ORG).instance
        decisions += 1
    return instance, decisions


def rate(rounds: int, body: Callable[[], int]) -> tuple[float, float]:
    """(operations per second, microseconds per operation), median over rounds."""
    per_op = []
    for _ in range(rounds):
        started = time.perf_counter()
        count = body()
        per_op.append((time.perf_counter() - started) / count)
    median = statistics.median(per_op)
    return 1 / median, median * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="then the timer sweep over 10k..1M open timers in PostgreSQL (bench/timer_sweep.py)",
    )
    args = parser.parse_args()
    engine = WorkflowEngine()
    contract = load_route(EXAMPLES / "contract_approval.yaml")
    parallel = load_route(EXAMPLES / "contract_approval_parallel.yaml")
    payment = load_route(EXAMPLES / "payment_request.yaml")
    n = args.instances

    started = [engine.start(contract, {}, "ivan", START, ORG).instance for _ in range(n)]
    started_parallel = [engine.start(parallel, {}, "ivan", START, ORG).instance for _ in range(n)]

    def starts() -> int:
        for _ in range(n):
            engine.start(contract, {"curator_id": "ivan"}, "ivan", START, ORG)
        return n

    def decisions(route: Route, instances: list[Instance]) -> Callable[[], int]:
        def body() -> int:
            return sum(approve_through(engine, route, instance)[1] for instance in instances)

        return body

    def timers() -> int:
        fired = 0
        for _ in range(max(1, n // 4)):
            instance = engine.start(payment, {}, "ivan", START, ORG).instance
            while instance.timers:
                timer = min(instance.timers.values(), key=lambda t: (t.fire_at, t.id))
                instance = engine.handle(
                    payment, instance, TimerFired(timer), timer.fire_at, ORG
                ).instance
                fired += 1
        return fired

    finished, _ = approve_through(engine, contract, started[0])
    mid = engine.start(payment, {}, "ivan", START, ORG).instance

    def copies() -> int:
        for _ in range(n * 5):
            finished.copy()
        return n * 5

    def json_round_trips() -> int:
        for _ in range(n):
            Instance.from_dict(json.loads(json.dumps(finished.to_dict())))
        return n

    timeline = []
    instance = engine.start(contract, {}, "ivan", START, ORG)
    timeline.extend(instance.timeline)
    current = instance.instance
    while current.state == "running":
        task = current.open_tasks()[0]
        action = "complete" if task.kind == "task" else "approve"
        result = engine.handle(
            contract,
            current,
            Decide(task.id, task.assignee_id, action, outputs=OUTPUTS.get(task.step_id, {})),
            START,
            ORG,
        )
        timeline.extend(result.timeline)
        current = result.instance

    def verifies() -> int:
        for _ in range(n):
            assert verify_chain(timeline, head=current.timeline_head)
        return n * len(timeline)

    rows = [
        ("start", rate(args.rounds, starts)),
        ("decide", rate(args.rounds, decisions(contract, started))),
        ("decide-parallel", rate(args.rounds, decisions(parallel, started_parallel))),
        ("timer", rate(args.rounds, timers)),
        ("copy", rate(args.rounds, copies)),
        ("json", rate(args.rounds, json_round_trips)),
        ("verify (per entry)", rate(args.rounds, verifies)),
    ]
    size = len(json.dumps(finished.to_dict()))
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds, {n} instances per round")
    print(f"{'operation':<20} {'ops/s':>10} {'µs/op':>10}")
    for name, (per_second, micros) in rows:
        print(f"{name:<20} {per_second:>10.0f} {micros:>10.1f}")
    print(f"finished contract instance: {size} bytes of JSON, {len(timeline)} timeline entries")
    print(f"payment request after start: {len(json.dumps(mid.to_dict()))} bytes of JSON")
    if args.sweep:
        import timer_sweep  # bench/ is on sys.path when this file runs as a script

        print()
        sys.argv = [sys.argv[0]]
        timer_sweep.main()


if __name__ == "__main__":
    main()
