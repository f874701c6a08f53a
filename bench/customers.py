"""Benchmark: customer lookup by identity and CSV import, on SQLite and PostgreSQL.

    .venv/bin/python bench/customers.py [--rows 200000] [--lookups 5000] [--backend both]

For each backend: a fresh database; N customers with two identities each (phone, email) imported
from a generated CSV through `CustomerCsv` (rows/s); then lookups of random identities written
the way channels write them, through `CustomerRecords.resolve` (the whole path: normalise, one
index lookup, load the customer and identities) and through the bare index query, with p50/p90/p99;
and the query plan of the lookup. PostgreSQL comes from CONTACTCENTER_BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/postgres); the benchmark makes and drops its own
database beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import phonenumbers
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from contactcenter.customers.csv_file import CustomerCsv
from contactcenter.customers.records import CustomerRecords
from contactcenter.settings import normalize_database_url
from contactcenter.store.db import Database
from contactcenter.store.migrate import migrate
from contactcenter.store.tables import identities

AREA_CODES = [
    201,
    202,
    206,
    212,
    213,
    303,
    305,
    312,
    404,
    415,
    503,
    512,
    602,
    617,
    646,
    702,
    713,
    718,
    801,
    919,
]
FORMATS = ["+1 ({a}) {x}-{l}", "1-{a}-{x}-{l}", "1{a}{x}{l}", "({a}) {x}-{l}", "{a}.{x}.{l}"]


def make_rows(n: int, seed: int = 7) -> tuple[str, list[tuple[str, str]]]:
    """CSV text of n customers, and (kind, value as written) pairs to look up."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out = io.StringIO()
    out.write("name,tier,segment,phone,email\n")
    probes: list[tuple[str, str]] = []
    tiers = ["transactional"] * 8 + ["relationship", "key_account"]
    while len(seen) < n:
        a, x, line = rng.choice(AREA_CODES), rng.randint(200, 999), rng.randint(0, 9999)
        e164 = f"+1{a}{x}{line:04d}"
        if e164 in seen or not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
            continue
        seen.add(e164)
        i = len(seen)
        written = rng.choice(FORMATS).format(a=a, x=x, l=f"{line:04d}")
        email = f"customer{i}@example{i % 97}.com"
        out.write(f"Customer {i},{rng.choice(tiers)},home,{written},{email}\n")
        if rng.random() < 0.5:
            probes.append(("phone", rng.choice(FORMATS).format(a=a, x=x, l=f"{line:04d}")))
        else:
            probes.append(("email", email.upper() if rng.random() < 0.3 else email))
    return out.getvalue(), probes


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100)
    return (
        f"p50 {statistics.median(ordered) * 1000:.3f} ms  p90 {q[89] * 1000:.3f} ms  "
        f"p99 {q[98] * 1000:.3f} ms  max {ordered[-1] * 1000:.3f} ms"
    )


async def plan(db: Database) -> str:
    async with db.connect() as conn:
        if db.is_sqlite:
            rows = await conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT customer_id FROM identities "
                    "WHERE kind = 'phone' AND value = '+12125550142'"
                )
            )
            return "; ".join(str(r[-1]) for r in rows)
        await conn.execute(text("ANALYZE identities"))
        rows = await conn.execute(
            text(
                "EXPLAIN SELECT customer_id FROM identities "
                "WHERE kind = 'phone' AND value = '+12125550142'"
            )
        )
        return "; ".join(r[0].strip() for r in rows)


async def run(backend: str, url: str, csv_text: str, probes: list[tuple[str, str]]) -> None:
    db = Database(url=url)
    await migrate(db)
    records = CustomerRecords(db=db, default_region="US")
    n = csv_text.count("\n") - 1
    started = time.perf_counter()
    report = await CustomerCsv(records=records).import_rows(io.StringIO(csv_text))
    elapsed = time.perf_counter() - started
    assert not report.errors, report.errors[:3]
    print(
        f"[{backend}] import {n} rows: {elapsed:.1f} s = {n / elapsed:,.0f} rows/s "
        f"({report.created} created)"
    )
    if db.is_sqlite:
        async with db.connect() as conn:
            await conn.execute(text("ANALYZE"))
    print(f"[{backend}] lookup plan: {await plan(db)}")

    for kind, value in probes[:200]:  # warm the pool and caches
        await records.resolve(kind, value)
    resolve_times = []
    for kind, value in probes:
        t0 = time.perf_counter()
        found = await records.resolve(kind, value)
        resolve_times.append(time.perf_counter() - t0)
        assert not found.created
    print(f"[{backend}] resolve() {len(probes)} lookups: {percentiles(resolve_times)}")

    normalised = [records.normalize(k, v) for k, v in probes]
    query_times = []
    async with db.connect() as conn:
        for ident in normalised:
            t0 = time.perf_counter()
            got = (
                await conn.execute(
                    select(identities.c.customer_id).where(
                        identities.c.kind == ident.kind.value, identities.c.value == ident.value
                    )
                )
            ).scalar_one()
            query_times.append(time.perf_counter() - t0)
            assert got
    print(f"[{backend}] index query alone: {percentiles(query_times)}")
    await db.dispose()


async def pg_database(base: str) -> tuple[str, str, str]:
    admin = make_url(normalize_database_url(base)).set(drivername="postgresql")
    name = f"cc_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin.render_as_string(False))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = make_url(normalize_database_url(base)).set(database=name).render_as_string(False)
    return url, admin.render_as_string(False), name


async def drop(admin: str, name: str) -> None:
    conn = await asyncpg.connect(admin)
    await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=5000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {sys.platform}"
    )
    t0 = time.perf_counter()
    csv_text, probes = make_rows(args.rows)
    random.Random(11).shuffle(probes)
    probes = probes[: args.lookups]
    print(
        f"generated {args.rows} customers ({len(csv_text) / 1e6:.1f} MB CSV) "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            await run("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", csv_text, probes)
    if args.backend in ("postgresql", "both"):
        base = os.environ.get(
            "CONTACTCENTER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
        url, admin, name = await pg_database(base)
        try:
            await run("postgresql", url, csv_text, probes)
        finally:
            await drop(admin, name)


if __name__ == "__main__":
    asyncio.run(main())
