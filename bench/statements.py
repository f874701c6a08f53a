"""Benchmark (in-process): the CPU one SQL statement costs this process, by how it is run.

    .venv/bin/python bench/statements.py [--count 3000]

The call lookup every phone webhook makes (`SELECT … FROM calls WHERE call_sid = …`, no row),
against a fresh PostgreSQL database: as the service runs it (a pooled connection checked out,
the statement built, executed by SQLAlchemy Core), with the statement built once, and by asyncpg
directly (a prepared statement on one connection). CPU is `time.process_time()` of this process,
so the database server's own work is not in it. An in-process figure: it says what the driver
layers cost, not what a client sees (bench/voice.py does that).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
from served import databases
from sqlalchemy import select

from contactcenter.store.db import Database
from contactcenter.store.migrate import migrate
from contactcenter.store.tables import calls

SID = "CA" + "0" * 32


async def cpu_each(run: Callable[[], Awaitable[object]], count: int) -> float:
    """Microseconds of this process's CPU per run, after a warm-up."""
    for _ in range(count // 10):
        await run()
    start = time.process_time()
    for _ in range(count):
        await run()
    return (time.process_time() - start) / count * 1e6


async def main_async(count: int) -> None:
    async for _label, url in databases("postgresql", "statements"):
        await measure(url, count)


async def measure(url: str, count: int) -> None:
    db = Database(url=url.replace("postgresql://", "postgresql+asyncpg://", 1))
    await migrate(db)
    built = select(calls).where(calls.c.call_sid == SID)

    async def as_the_service_does() -> object:
        async with db.connect() as conn:
            query = select(calls).where(calls.c.call_sid == SID)
            return (await conn.execute(query)).one_or_none()

    async def built_once() -> object:
        async with db.connect() as conn:
            return (await conn.execute(built)).one_or_none()

    async def checkout_only() -> object:
        async with db.connect() as conn:
            return conn

    raw = await asyncpg.connect(url)
    prepared = await raw.prepare("SELECT * FROM calls WHERE call_sid = $1")

    async def asyncpg_prepared() -> object:
        return await prepared.fetchrow(SID)

    try:
        for name, run in (
            ("SQLAlchemy Core, as the service runs it", as_the_service_does),
            ("SQLAlchemy Core, statement built once", built_once),
            ("SQLAlchemy pool checkout alone", checkout_only),
            ("asyncpg, prepared statement", asyncpg_prepared),
        ):
            print(f"[in-process] {name:42s} {await cpu_each(run, count):6.0f} µs CPU")
    finally:
        await raw.close()
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    asyncio.run(main_async(parser.parse_args().count))


if __name__ == "__main__":
    main()
