"""One instance leads at a time; a leader that lost its lock can write nothing routing-wise."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from contactcenter.cluster.leadership import Leadership
from contactcenter.errors import Unavailable
from contactcenter.store.db import Database
from tests.conftest import asyncpg_dsn


class Part:
    """A leader-only job that records what it was told."""

    def __init__(self) -> None:
        self.told: list[str] = []
        self.db: Database | None = None

    async def lead(self, db: Database) -> None:
        self.db = db
        self.told.append("lead")

    async def stand_down(self) -> None:
        self.told.append("stand down")


async def _cut_lock_session(db: Database) -> None:
    """The leader's lock connection dies (a network cut, an administrator's kill)."""
    conn = await asyncpg.connect(asyncpg_dsn(db.url.render_as_string(False)))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()


async def test_one_leads_and_the_next_takes_over_with_a_higher_epoch(pg: Database) -> None:
    first, second = Leadership(db=pg, instance="a"), Leadership(db=pg, instance="b")
    job_a, job_b = Part(), Part()
    await first.join("job", job_a.lead, job_a.stand_down)
    await second.join("job", job_b.lead, job_b.stand_down)
    await first.start()
    await second.start()
    try:
        assert first.leading() and not second.leading()
        assert job_a.told == ["lead"] and job_b.told == []
        epoch = first.epoch()
        assert epoch is not None

        await first.stop()  # a clean stop gives the lock back
        assert job_a.told == ["lead", "stand down"]
        async with asyncio.timeout(5):
            while not second.leading():  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the keeper tries every half second
        assert second.epoch() == epoch + 1 and job_b.told == ["lead"]
    finally:
        await first.stop()
        await second.stop()


async def test_a_deposed_leader_writes_nothing_and_stands_down(pg: Database) -> None:
    first, second = Leadership(db=pg, instance="a"), Leadership(db=pg, instance="b")
    job_a = Part()
    await first.join("job", job_a.lead, job_a.stand_down)
    await first.start()
    await second.start()
    try:
        assert job_a.db is not None
        async with job_a.db.begin() as conn:  # the fence lets the elected leader write
            await conn.execute(text("SELECT 1"))
        await _cut_lock_session(pg)
        async with asyncio.timeout(5):
            while not second.leading():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        # Whatever the old leader still tries is refused by the database's epoch check.
        with pytest.raises(Unavailable, match="no longer routes"):
            async with job_a.db.begin() as conn:
                await conn.execute(text("SELECT 1"))
        async with asyncio.timeout(5):
            while first.leading():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert job_a.told == ["lead", "stand down"]
    finally:
        await first.stop()
        await second.stop()


async def test_sqlite_always_leads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(url=f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    leadership = Leadership(db=db, instance="only")
    job = Part()
    try:
        await leadership.start()
        await leadership.join("job", job.lead, job.stand_down)
        assert leadership.leading() and job.told == ["lead"] and job.db is db
        await leadership.stop()
        assert job.told == ["lead", "stand down"]
    finally:
        await db.dispose()
