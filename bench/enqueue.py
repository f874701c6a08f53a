"""Benchmark: `POST /api/v1/interactions` as another system sends it, over HTTP.

    .venv/bin/python bench/enqueue.py [--connections 50] [--seconds 10] [--rate 200]
                                      [--backend sqlite|postgresql|both] [--profile PREFIX]
                                      [--workers N] [--pgbench]

A real `contactcenter serve` runs as a subprocess. Each POST is a web form's case: a customer by
email identity (one of 1,000, so most are known after the first round), a subject, a topic and
the customer's text. Two loads, each printing latency at the client and the service's CPU per
POST (user + system time of its process, from /proc, before and after):
- closed loop: `--connections` clients, each posting again as soon as it has its answer, for
  `--seconds`: the most the service takes;
- open loop: `--rate` POSTs a second, each sent on time whatever the answers do, for
  `--seconds`: the latency a steady stream meets.
No agent is signed in, so every interaction waits in the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import platform
import re
import statistics
import time
from pathlib import Path

import aiohttp
from served import Service, databases, served

CUSTOMERS = 1000
SCRIPT = Path(__file__).with_name("enqueue.pgbench.sql")


def body(n: int) -> dict[str, object]:
    return {
        "identity": {"kind": "email", "value": f"customer{n % CUSTOMERS}@example.org"},
        "channel": "email",
        "subject": f"Order {100000 + n} has not arrived",
        "topic": "delivery",
        "message": "I ordered a week ago and the parcel has not come. Where is it?",
    }


def summary(label: str, latencies: list[float], cpu: float, elapsed: float) -> str:
    q = statistics.quantiles(latencies, n=100)
    n = len(latencies)
    return (
        f"[{label}] {n} POSTs in {elapsed:.1f} s = {n / elapsed:,.0f}/s; "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms; service CPU {cpu / n * 1000:.2f} ms per POST"
    )


async def post(session: aiohttp.ClientSession, url: str, n: int, out: list[float]) -> None:
    start = time.perf_counter()
    async with session.post(url, json=body(n)) as response:
        await response.read()
        assert response.status == 201, (response.status, await response.text())
    out.append(time.perf_counter() - start)


async def closed_loop(
    service: Service, session: aiohttp.ClientSession, args: argparse.Namespace, label: str
) -> float:
    """The closed loop; POSTs answered a second."""
    url = f"{service.base}/api/v1/interactions"
    counter = itertools.count()
    latencies: list[float] = []
    stop = time.perf_counter() + args.seconds

    async def client() -> None:
        while time.perf_counter() < stop:
            await post(session, url, next(counter), latencies)

    out = f"{args.profile}-{label}.txt" if args.profile else None
    async with service.profiled(out, args.seconds):
        cpu, start = service.cpu_seconds(workers=True), time.perf_counter()
        await asyncio.gather(*(client() for _ in range(args.connections)))
        elapsed, cpu = time.perf_counter() - start, service.cpu_seconds(workers=True) - cpu
    print(summary(f"{label}, {args.connections} connections", latencies, cpu, elapsed))
    return len(latencies) / elapsed


async def open_loop(
    service: Service, session: aiohttp.ClientSession, args: argparse.Namespace, label: str
) -> None:
    url = f"{service.base}/api/v1/interactions"
    latencies: list[float] = []
    posts = []
    cpu, begin = service.cpu_seconds(workers=True), time.perf_counter()
    for n in range(int(args.rate * args.seconds)):
        delay = begin + n / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        posts.append(asyncio.create_task(post(session, url, 10_000_000 + n, latencies)))
    await asyncio.gather(*posts)
    elapsed, cpu = time.perf_counter() - begin, service.cpu_seconds(workers=True) - cpu
    print(summary(f"{label}, {args.rate:g}/s open loop", latencies, cpu, elapsed))


async def pgbench(database_url: str, args: argparse.Namespace) -> float:
    """Transactions a second pgbench runs with `enqueue.pgbench.sql` (one POST's statements)
    on the same database, with as many connections as the closed loop."""
    found = await asyncio.create_subprocess_exec(
        "pgbench",
        "-n",
        "-M",
        "prepared",
        "-c",
        str(args.connections),
        "-j",
        "2",
        "-T",
        str(int(args.seconds)),
        "-f",
        str(SCRIPT),
        database_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await found.communicate()
    tps = re.search(r"tps = ([0-9.]+)", out.decode())
    assert found.returncode == 0 and tps, err.decode()
    return float(tps.group(1))


async def bench(label: str, database_url: str, args: argparse.Namespace) -> None:
    settings = {"CONTACTCENTER_SEMANTIC_SEARCH": "false"}
    async with served(database_url, settings, workers=args.workers) as service:
        token = await service.api_token()
        headers = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=max(args.connections, 100))
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
            url = f"{service.base}/api/v1/interactions"
            warm: list[float] = []
            for n in range(CUSTOMERS):  # every customer known, as on a service in use
                await post(session, url, n, warm)
            rate = await closed_loop(service, session, args, label)
            await open_loop(service, session, args, label)
            if args.pgbench and label == "postgresql":
                ceiling = await pgbench(database_url, args)
                print(
                    f"[{label}] pgbench, the same statements, {args.connections} connections: "
                    f"{ceiling:,.0f}/s; the service reaches {rate / ceiling:.0%} of it"
                )


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    async for label, url in databases(args.backend, "enqueue"):
        await bench(label, url, args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: POSTs a second")
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="py-spy samples the service in the closed loop: PREFIX-BACKEND.txt, collapsed stacks",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=1, help="serve --workers N (PostgreSQL)")
    parser.add_argument(
        "--pgbench",
        action="store_true",
        help="on PostgreSQL, also run the same statements with pgbench: the database's ceiling",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
