"""Benchmark: the lapsed sweep and the tier review over a large book of customers, on PostgreSQL.

    .venv/bin/python bench/lifecycle.py [--customers 1000000] [--orders-each 10]

A real `contactcenter serve` runs against a fresh database. The benchmark then writes, straight
into that database with SQL (`generate_series`), N customers and ten orders each spread over
three years, each customer's `last_order_at`, and buying stages; most customers buy little, one
in a hundred a lot. Then, over HTTP as a supervisor would, it asks the service to run the lapsed
sweep (`POST /api/v1/lifecycle/sweep`) and the tier review (`POST /api/v1/tier-reviews/run`),
and prints each one's time, how many customers it changed or listed, the service's CPU, and its
memory (RSS) before and at its peak while the job ran (sampled every 50 ms). Goal (issue 19):
under 60 s each and memory that does not grow with the book.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time

import aiohttp
import asyncpg
from served import databases, served

# Ten orders a customer over the last three years; amounts mostly small, one customer in a
# hundred buying enough for a higher tier; one customer in four has not ordered for over a year,
# so the sweep lapses them.
LOAD = """
INSERT INTO customers (name, organisation, tier, lifecycle_stage, tags, verified, created_at,
                       updated_at)
SELECT 'Customer ' || c, '', CASE WHEN c % 500 = 2 THEN 'key_account' ELSE 'transactional' END,
       (ARRAY['first_purchase', 'repeat', 'loyal', 'won_back'])[1 + c % 4], '[]', false,
       now(), now()
FROM generate_series(1, $1::bigint) AS c;

INSERT INTO orders (customer_id, external_ref, ordered_at, amount_cents, currency, products,
                    created_at)
SELECT c, NULL,
       now() - make_interval(days => (
           CASE WHEN c % 4 = 0 THEN 400 + (c * 13 + k * 101) % 690
                ELSE (c * 13 + k * 101 + (c % 7) * 149) % 1095 END)::int),
       CASE WHEN c % 100 = 1 THEN 2500000 ELSE 1000 + (c * 7919 + k * 31) % 40000 END,
       'USD', '[]', now()
FROM generate_series(1, $1::bigint) AS c, generate_series(0, $2::int - 1) AS k;

UPDATE customers SET last_order_at = m.last
FROM (SELECT customer_id, max(ordered_at) AS last FROM orders GROUP BY customer_id) AS m
WHERE m.customer_id = customers.id;

ANALYZE customers;
ANALYZE orders;
"""


async def load(url: str, customers: int, each: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        for statement in filter(str.strip, LOAD.split(";\n")):
            if "$2" in statement:
                await conn.execute(statement, customers, each)
            elif "$1" in statement:
                await conn.execute(statement, customers)
            else:
                await conn.execute(statement)
    finally:
        await conn.close()
    return time.perf_counter() - started


async def timed_job(service, session, path: str) -> tuple[dict, float, float, int, int]:  # type: ignore[no-untyped-def]
    """Run one job over HTTP: (answer, seconds, CPU seconds, RSS KiB before, peak RSS KiB)."""
    before_rss = service.rss_kib()
    peak = before_rss
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, service.rss_kib())
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    cpu = service.cpu_seconds()
    started = time.perf_counter()
    async with session.post(service.base + path) as response:
        answer = await response.json()
        assert response.status == 200, answer
    elapsed = time.perf_counter() - started
    cpu = service.cpu_seconds() - cpu
    done.set()
    await watcher
    return answer, elapsed, cpu, before_rss, peak


async def main_async(args: argparse.Namespace) -> None:
    async for _label, url in databases("postgresql", "lifecycle"):
        async with served(url, {}) as service:
            token = await service.api_token()
            seconds = await load(url, args.customers, args.orders_each)
            orders = args.customers * args.orders_each
            print(f"loaded {args.customers:,} customers and {orders:,} orders in {seconds:.0f} s")
            headers = {"Authorization": f"Bearer {token}"}
            timeout = aiohttp.ClientTimeout(total=3600)
            async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
                for name, path, key in (
                    ("lapsed sweep", "/api/v1/lifecycle/sweep", "lapsed"),
                    ("tier review", "/api/v1/tier-reviews/run", "suggested"),
                ):
                    answer, elapsed, cpu, rss, peak = await timed_job(service, session, path)
                    print(
                        f"{name}: {answer[key]:,} {key} in {elapsed:.1f} s; service CPU "
                        f"{cpu:.1f} s; RSS {rss / 1024:.0f} MiB before, peak "
                        f"{peak / 1024:.0f} MiB (+{(peak - rss) / 1024:.1f} MiB)"
                    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders-each", type=int, default=10)
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; PostgreSQL"
    )
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
