"""Approval decisions per second through the gateway, with p50/p99.

Starts the suite on its own vhost and databases (like the tests), submits
many contracts, then lets N concurrent clients take them through the six
approvals of the default route with ``POST /api/v1/tasks/{id}/decision``
(each client takes the next contract when its current one reaches signing;
the next task comes from the decision's answer, as a UI would show it).

A decision is the whole write path: JWT check, the gateway's RPC, the card's
visibility check, loading the instance (JSONB), the pure engine, the
versioned UPDATE, timeline, open-task projection, timers, outbox rows, the
card mirror, idempotency bookkeeping and the commit; the relay publishes the
events afterwards, on the same CPU.

Baselines measured in the same run: a raw AMQP round trip (bare aio-pika echo,
the floor of any RPC here) at the same concurrency, and the pure engine's
decision rate (no I/O, bench/workflow.py).

Run: ``.venv/bin/python bench/decisions.py [--clients 1,16] [--decisions 300]``
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
import uuid
from typing import Any

import httpx
from rpc import Result, raw_amqp  # bench/rpc.py: the AMQP floor
from workflow import EXAMPLES, ORG, START, approve_through, rate  # bench/workflow.py

from counterparty_svc.testing import legal_entity
from org_svc.seed import DEMO_PASSWORD
from services.devstack import isolated_stack
from services.workflow import WorkflowEngine, load_route

APPROVERS = ("sales.head", "pto", "lawyer", "lawyer2", "finman", "accountant", "director")
STEPS = 6


class Gateway:
    def __init__(self, base_url: str, concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.http = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60)
        self.tokens: dict[str, dict[str, str]] = {}
        self.by_user_id: dict[str, dict[str, str]] = {}
        self.counterparty_id = ""
        self.retries = 0

    async def sign_in(self) -> None:
        for username in ("manager", *APPROVERS):
            answer = await self.http.post(
                "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
            )
            answer.raise_for_status()
            headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            self.tokens[username] = headers
            me = (await self.http.get("/api/v1/me", headers=headers)).json()
            self.by_user_id[me["id"]] = headers
        answer = await self.http.post(
            "/api/v1/counterparties", headers=self.tokens["lawyer"], json=legal_entity()
        )
        answer.raise_for_status()
        self.counterparty_id = answer.json()["id"]

    async def post(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        """A set-up write, sent again (same Idempotency-Key) when the gateway times out:
        on a loaded 2-core machine a 10 s RPC timeout is within reach."""
        keyed = {**headers, "Idempotency-Key": f"bench-{uuid.uuid4()}"}
        for _ in range(5):
            answer = await self.http.post(url, headers=keyed, json=body)
            if answer.status_code not in (502, 503, 504):
                break
            await asyncio.sleep(1)
        answer.raise_for_status()
        return answer.json()

    async def submitted(self, count: int, concurrency: int = 4) -> list[dict[str, Any]]:
        """``count`` contracts in approval (set-up, not timed)."""
        manager = self.tokens["manager"]
        out: list[dict[str, Any]] = []

        async def one() -> None:
            draft = await self.post(
                "/api/v1/contracts",
                manager,
                {
                    "contract_type": "supply",
                    "subject": "Bench supply",
                    "counterparty_id": self.counterparty_id,
                    "amount": "1000.00",
                    "currency": "RUB",
                },
            )
            card = await self.post(f"/api/v1/contracts/{draft['id']}/submit", manager, {})
            out.append(card["process"])

        for start in range(0, count, concurrency):
            await asyncio.gather(*(one() for _ in range(min(concurrency, count - start))))
        return out

    async def decide(self, task: dict[str, Any]) -> dict[str, Any]:
        """One decision as a client does it: keyed, and sent again after a 5xx (the
        shared database server of this machine sometimes refuses connections)."""
        headers = {**self.by_user_id[task["assignee_id"]], "Idempotency-Key": task["id"]}
        for _ in range(10):
            answer = await self.http.post(
                f"/api/v1/tasks/{task['id']}/decision", headers=headers, json={"action": "approve"}
            )
            if answer.status_code == 200:
                return answer.json()["process"]  # type: ignore[no-any-return]
            if answer.status_code not in (502, 503, 504):
                break
            self.retries += 1
            await asyncio.sleep(0.5)
        raise RuntimeError(f"decision refused: {answer.status_code} {answer.text[:300]}")


async def decisions(gateway: Gateway, clients: int, count: int) -> Result:
    processes = await gateway.submitted(math.ceil(count / STEPS))
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for process in processes:
        queue.put_nowait(process)
    latencies: list[float] = []

    async def client() -> None:
        while not queue.empty():
            process = queue.get_nowait()
            for _ in range(STEPS):
                task = next(
                    t for t in process["open_tasks"] if t["assignee_id"] in gateway.by_user_id
                )
                started = time.perf_counter()
                process = await gateway.decide(task)
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Result(f"decisions-{clients}", len(latencies), time.perf_counter() - started, latencies)


def engine_rate() -> float:
    """Pure engine decisions per second on the same route shape (no I/O)."""
    engine = WorkflowEngine()
    route = load_route(EXAMPLES / "contract_approval.yaml")
    instances = [engine.start(route, {}, "ivan", START, ORG).instance for _ in range(100)]
    per_second, _ = rate(3, lambda: sum(approve_through(engine, route, i)[1] for i in instances))
    return per_second


async def run(base_url: str, amqp_uri: str, levels: list[int], count: int) -> list[Result]:
    gateway = Gateway(base_url, max(levels) + 8)
    await gateway.sign_in()
    try:
        await decisions(gateway, 1, STEPS * 2)  # warm-up: caches, connections, plans
        results = []
        for clients in levels:
            results.append(await raw_amqp(amqp_uri, count, clients))
            results[-1].name = f"raw-amqp-{clients}"
            results.append(await decisions(gateway, clients, count))
        print(f"decisions sent again after a 5xx: {gateway.retries}")
        return results
    finally:
        await gateway.http.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", default="1,16", help="concurrency levels, comma-separated")
    parser.add_argument("--decisions", type=int, default=300, help="decisions per level")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    engine = engine_rate()
    with isolated_stack("bench", extra_env={"DOCFLOW_CONTRACTS_DOCUMENTS_POLICY": "flag"}) as stack:
        results = asyncio.run(run(stack.gateway_url, stack.amqp_uri, levels, args.decisions))
    print(f"{args.decisions} decisions per level; pure engine: {engine:,.0f} decisions/s\n")
    print("| path | clients | per s | p50 ms | p99 ms | ratio to raw AMQP | ratio to engine |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    floors = {r.name.rsplit("-", 1)[1]: r.rate for r in results if r.name.startswith("raw")}
    for r in results:
        clients = r.name.rsplit("-", 1)[1]
        path = "raw AMQP round trip" if r.name.startswith("raw") else "decision via gateway"
        print(
            f"| {path} | {clients} | {r.rate:,.1f} | {r.percentile(0.5):.1f} | "
            f"{r.percentile(0.99):.1f} | {r.rate / floors[clients]:.3f} | {r.rate / engine:.4f} |"
        )


if __name__ == "__main__":
    main()
