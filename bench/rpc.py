"""How much each hop costs: raw AMQP round trip vs nameko RPC vs gateway -> RPC.

Starts the suite on its own vhost and databases (like the tests), then for a
fixed number of calls measures, in one run on this machine:

  raw-amqp      aio-pika request/reply through a bare echo consumer (the floor)
  proxy-seq     nameko's standalone ClusterRpcProxy, one call after another
  asyncio-seq   our asyncio client of nameko's protocol (gateway/rpc.py), sequential
  proxy-pool    a pool of ClusterRpcProxy, one per thread, CONCURRENCY threads
  asyncio-conc  our asyncio client, CONCURRENCY calls in flight on one connection
  rpc-me        org.me over the asyncio client: the service's part of GET /api/v1/me
  http-ping     the gateway over HTTP, CONCURRENCY clients, /healthz (no RPC)
  http-me       the gateway over HTTP: token check + org.me RPC + a PostgreSQL read
  rpc-card      contracts.get_contract over the asyncio client: the service's part of
                GET /api/v1/contracts/{id} (card row + route instance + progress view)
  http-card     GET /api/v1/contracts/{id} of a submitted contract, as its author
                (HTTP load from wrk when it is installed, else from httpx in this process,
                which then measures mostly httpx itself)

Everything is printed as calls/s, p50/p99, and a ratio against raw-amqp.
Run: ``make bench`` (or ``.venv/bin/python bench/rpc.py [--calls N]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import aio_pika
import httpx
from nameko.standalone.rpc import ClusterRpcProxy

from counterparty_svc.testing import legal_entity
from gateway.rpc import RpcClient
from org_svc.seed import DEMO_PASSWORD
from services.devstack import isolated_stack

CONCURRENCY = 50


@dataclass
class Result:
    name: str
    calls: int
    seconds: float
    latencies: list[float]
    #: Percentiles reported by an external tool (wrk), in ms, when there are no samples.
    reported: dict[float, float] | None = None

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def percentile(self, q: float) -> float:
        if self.reported is not None:
            return self.reported[q]
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run_async(
    name: str, calls: int, concurrency: int, one: Callable[[], Awaitable[object]]
) -> Result:
    latencies: list[float] = []
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await one()
            latencies.append(time.perf_counter() - started)

    for _ in range(min(20, calls)):  # warm-up
        await one()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, calls, time.perf_counter() - started, latencies)


async def raw_amqp(amqp_uri: str, calls: int, concurrency: int) -> Result:
    """An echo consumer and a client, both bare aio-pika: the cost of AMQP itself."""
    connection = await aio_pika.connect_robust(amqp_uri)
    server_channel = await connection.channel()
    requests = await server_channel.declare_queue(f"bench-echo-{uuid.uuid4().hex}", exclusive=True)

    async def echo(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await server_channel.default_exchange.publish(
            aio_pika.Message(message.body, correlation_id=message.correlation_id),
            routing_key=message.reply_to or "",
        )

    await requests.consume(echo, no_ack=True)
    client_channel = await connection.channel()
    replies = await client_channel.declare_queue(exclusive=True)
    pending: dict[str, asyncio.Future[bytes]] = {}

    async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        future = pending.pop(message.correlation_id or "", None)
        if future:
            future.set_result(message.body)

    await replies.consume(on_reply, no_ack=True)

    async def one() -> None:
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        pending[correlation_id] = future
        await client_channel.default_exchange.publish(
            aio_pika.Message(
                b'{"args": [], "kwargs": {}}', correlation_id=correlation_id, reply_to=replies.name
            ),
            routing_key=requests.name,
        )
        await future

    result = await run_async("raw-amqp", calls, concurrency, one)
    await connection.close()
    return result


def proxy_sequential(amqp_uri: str, calls: int) -> Result:
    latencies = []
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}) as proxy:
        for _ in range(20):
            proxy.org.ping(payload="x")
        started = time.perf_counter()
        for _ in range(calls):
            t = time.perf_counter()
            proxy.org.ping(payload="x")
            latencies.append(time.perf_counter() - t)
        return Result("proxy-seq", calls, time.perf_counter() - started, latencies)


def proxy_pool(amqp_uri: str, calls: int, concurrency: int) -> Result:
    local = threading.local()
    proxies: list[ClusterRpcProxy] = []
    lock = threading.Lock()

    def one(_: int) -> float:
        if not hasattr(local, "proxy"):
            runner = ClusterRpcProxy({"AMQP_URI": amqp_uri})
            local.proxy = runner.start()
            with lock:
                proxies.append(runner)
        t = time.perf_counter()
        local.proxy.org.ping(payload="x")
        return time.perf_counter() - t

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency * 2)))  # every thread opens its proxy first
        started = time.perf_counter()
        latencies = list(pool.map(one, range(calls)))
        seconds = time.perf_counter() - started
    for runner in proxies:
        runner.stop()
    return Result("proxy-pool", calls, seconds, latencies)


async def asyncio_client(
    amqp_uri: str, calls: int, concurrency: int, name: str, context: dict[str, str] | None = None
) -> Result:
    client = RpcClient(amqp_uri)
    await client.connect()
    try:
        if context:  # the same RPC the gateway makes for GET /api/v1/me
            return await run_async(
                name, calls, concurrency, lambda: client.call("org", "me", context)
            )
        return await run_async(
            name, calls, concurrency, lambda: client.call("org", "ping", payload="x")
        )
    finally:
        await client.close()


async def lawyer_context(amqp_uri: str) -> dict[str, str]:
    client = RpcClient(amqp_uri)
    await client.connect()
    try:
        found = await client.call("org", "authenticate", username="lawyer", password=DEMO_PASSWORD)
    finally:
        await client.close()
    return {
        "user_id": found["user_id"],
        "roles": ",".join(found["roles"]),
        "department_id": found["department_id"],
    }


async def http(base_url: str, calls: int, concurrency: int) -> tuple[Result, Result]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        token = (
            await client.post(
                "/api/v1/auth/token", json={"username": "lawyer", "password": DEMO_PASSWORD}
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        async def ping() -> None:
            (await client.get("/healthz")).raise_for_status()

        async def me() -> None:
            (await client.get("/api/v1/me", headers=headers)).raise_for_status()

        return (
            await run_async("http-ping", calls, concurrency, ping),
            await run_async("http-me", calls, concurrency, me),
        )


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no {label}% latency:\n{text}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(name: str, url: str, headers: dict[str, str], seconds: int, concurrency: int) -> Result:
    """An HTTP load from wrk (C, its own process): the client costs far less than httpx."""
    command = ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", url]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non_2xx:
        raise RuntimeError(f"{name}: {non_2xx.group(1)} failed requests")
    p50, p99 = _wrk_ms(text, "50"), _wrk_ms(text, "99")
    calls = int(rate * seconds)
    return Result(name, calls, calls / rate, [], reported={0.5: p50, 0.99: p99})


def http_with_wrk(base_url: str, seconds: int, concurrency: int) -> tuple[Result, Result]:
    token = httpx.post(
        base_url + "/api/v1/auth/token", json={"username": "lawyer", "password": DEMO_PASSWORD}
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    return (
        wrk("http-ping", base_url + "/healthz", {}, seconds, concurrency),
        wrk("http-me", base_url + "/api/v1/me", headers, seconds, concurrency),
    )


def submitted_contract(base_url: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """A contract in approval, its author's headers and RPC context (for the card read)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def sign_in(username: str) -> dict[str, str]:
            answer = client.post(
                "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
            )
            answer.raise_for_status()
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        lawyer, manager = sign_in("lawyer"), sign_in("manager")
        counterparty = client.post("/api/v1/counterparties", headers=lawyer, json=legal_entity())
        counterparty.raise_for_status()
        draft = client.post(
            "/api/v1/contracts",
            headers=manager,
            json={
                "contract_type": "supply",
                "subject": "Bench supply",
                "counterparty_id": counterparty.json()["id"],
                "amount": "1000.00",
                "currency": "RUB",
            },
        )
        draft.raise_for_status()
        contract_id = draft.json()["id"]
        client.post(
            f"/api/v1/contracts/{contract_id}/submit", headers=manager, json={}
        ).raise_for_status()
        me = client.get("/api/v1/me", headers=manager).json()
    context = {
        "user_id": me["id"],
        "roles": ",".join(me["roles"]),
        "department_id": me["department_id"],
    }
    return contract_id, manager, context


async def rpc_card(
    amqp_uri: str, calls: int, concurrency: int, contract_id: str, context: dict[str, str]
) -> Result:
    client = RpcClient(amqp_uri)
    await client.connect()
    try:
        return await run_async(
            "rpc-card",
            calls,
            concurrency,
            lambda: client.call("contracts", "get_contract", context, contract_id=contract_id),
        )
    finally:
        await client.close()


def http_card(
    base_url: str, contract_id: str, headers: dict[str, str], calls: int, concurrency: int
) -> Result:
    url = f"/api/v1/contracts/{contract_id}"
    if shutil.which("wrk"):
        return wrk("http-card", base_url + url, headers, 10, concurrency)

    async def load() -> Result:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

            async def one() -> None:
                (await client.get(url, headers=headers)).raise_for_status()

            return await run_async("http-card", calls, concurrency, one)

    return asyncio.run(load())


def report(results: list[Result]) -> str:
    base = {r.name: r for r in results}
    floor_seq = base["raw-amqp-seq"].rate
    floor_conc = base["raw-amqp"].rate
    lines = [f"{'path':<14}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}  ratio to raw AMQP"]
    for r in results:
        floor = floor_seq if r.name.endswith("-seq") else floor_conc
        lines.append(
            f"{r.name:<14}{r.rate:>10.0f}{r.percentile(0.5):>9.2f}"
            f"{r.percentile(0.99):>9.2f}  {r.rate / floor:>6.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="also print results as JSON")
    args = parser.parse_args()
    # Submitting without the statutory documents: the card read is what is measured.
    flag = {"DOCFLOW_CONTRACTS_DOCUMENTS_POLICY": "flag"}
    with isolated_stack("bench", extra_env=flag) as stack:
        n = args.calls
        lawyer = asyncio.run(lawyer_context(stack.amqp_uri))
        contract_id, author, author_context = submitted_contract(stack.gateway_url)
        results = [
            asyncio.run(raw_amqp(stack.amqp_uri, n, 1)),
            proxy_sequential(stack.amqp_uri, n),
            asyncio.run(asyncio_client(stack.amqp_uri, n, 1, "asyncio-seq")),
            asyncio.run(raw_amqp(stack.amqp_uri, n, CONCURRENCY)),
            proxy_pool(stack.amqp_uri, n, CONCURRENCY),
            asyncio.run(asyncio_client(stack.amqp_uri, n, CONCURRENCY, "asyncio-conc")),
            asyncio.run(
                asyncio_client(
                    stack.amqp_uri,
                    n,
                    CONCURRENCY,
                    "rpc-me",
                    lawyer,
                )
            ),
            *(
                http_with_wrk(stack.gateway_url, 10, CONCURRENCY)
                if shutil.which("wrk")
                else asyncio.run(http(stack.gateway_url, n, CONCURRENCY))
            ),
            asyncio.run(rpc_card(stack.amqp_uri, n, CONCURRENCY, contract_id, author_context)),
            http_card(stack.gateway_url, contract_id, author, n, CONCURRENCY),
        ]
        results[0].name = "raw-amqp-seq"
        print(
            f"{n} calls each; concurrency {CONCURRENCY} where not -seq; "
            f"ratios against raw AMQP at the same concurrency\n"
        )
        print(report(results))
        if args.json:
            print(
                json.dumps(
                    {
                        r.name: {
                            "rate": r.rate,
                            "p50_ms": r.percentile(0.5),
                            "p99_ms": r.percentile(0.99),
                        }
                        for r in results
                    }
                )
            )
        print(
            f"\nmedian raw AMQP round trip: {statistics.median(results[0].latencies) * 1000:.2f} ms"
        )


if __name__ == "__main__":
    main()
