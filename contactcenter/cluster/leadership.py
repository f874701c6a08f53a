"""Which instance leads: routes the queue and runs the periodic jobs (outbox, IMAP, sweeps).

On PostgreSQL the leader holds a session advisory lock on a connection of its own. Once it has
the lock it raises the fencing epoch in `router_epoch`, and every part that leads gets the
database fenced with that epoch (`Database.fenced`): should the lock be lost (its connection
dropped, the database restarted) and another instance be elected, the old leader's writes fail
the epoch check and it stands down. A killed leader's session ends with its connection, so
another instance, trying every `retry_seconds`, takes over within about a second.

On SQLite the one process always leads, with the plain database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import structlog

from contactcenter.cluster.notify import connect
from contactcenter.store.db import Database

log = structlog.get_logger(__name__)

# Application-chosen advisory lock keys ("ccrt", "ccin"); advisory locks are per database.
LEADER_LOCK_KEY = 0x63637274
# Every instance holds this one shared while it runs: the leader counts its holders to know
# whether anyone else listens (alone, it writes no view and relays no events).
MEMBER_LOCK_KEY = 0x6363696E
_OTHERS = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND mode = 'ShareLock'
  AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1
  AND pid <> pg_backend_pid()
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_RAISE_EPOCH = """
INSERT INTO router_epoch (id, epoch, instance, elected_at) VALUES (1, 1, $1, now())
ON CONFLICT (id) DO UPDATE
SET epoch = router_epoch.epoch + 1, instance = excluded.instance, elected_at = excluded.elected_at
RETURNING epoch
"""


@dataclass(frozen=True, slots=True)
class Part:
    """Something that runs only while this instance leads: `lead(db)` starts it with the
    (fenced) database, `stand_down()` stops it."""

    name: str
    lead: Callable[[Database], Awaitable[None]]
    stand_down: Callable[[], Awaitable[None]]


class Leadership:
    def __init__(self, *, db: Database, instance: str, retry_seconds: float = 0.5) -> None:
        self.db = db
        self.instance = instance
        self.retry_seconds = retry_seconds
        self._parts: list[Part] = []
        self._led: list[Part] = []
        self._epoch: int | None = None
        self._db: Database | None = None  # the fenced database, while leading
        self._conn: asyncpg.Connection | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._deposed = asyncio.Event()
        self._others = 0  # other instances running, as the leader last counted them
        self._joined: list[Callable[[], None]] = []

    async def join(
        self,
        name: str,
        lead: Callable[[Database], Awaitable[None]],
        stand_down: Callable[[], Awaitable[None]],
    ) -> None:
        """A part that runs only on the leader: started now if this instance leads, else
        when it is elected. Parts start in the order they joined and stop in reverse."""
        part = Part(name, lead, stand_down)
        self._parts.append(part)
        if self._db is not None:
            await part.lead(self._db)
            self._led.append(part)

    def leading(self) -> bool:
        return self._epoch is not None

    def alone(self) -> bool:
        """Whether no other instance runs against this database (as counted at most a second
        ago; always on SQLite). Only the leader counts; others are never alone."""
        return self.db.is_sqlite or (self._epoch is not None and self._others == 0)

    def on_company(self, joined: Callable[[], None]) -> None:
        """Call `joined()` when the leader, alone until now, sees another instance."""
        self._joined.append(joined)

    def epoch(self) -> int | None:
        """The fencing epoch this instance leads with (None: it does not lead)."""
        return self._epoch

    async def start(self) -> None:
        """Lead now if no other instance does (on SQLite, always); else keep trying."""
        if self.db.is_sqlite:
            await self._elected(0, self.db)
            return
        await self._try()
        self._keeper = asyncio.create_task(self._keep(), name="leadership")

    async def stop(self) -> None:
        """Stand down (the parts stop) and give the lock back."""
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
            self._keeper = None
        await self._stand_down()
        await self._drop_lock()

    def deposed(self) -> None:
        """A fenced write found another leader's epoch: stand down (soon, not in the caller)."""
        self._deposed.set()

    async def _try(self) -> None:
        """One attempt at the lock; on success, raise the epoch and lead."""
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await connect(self.db)
                await self._conn.execute("SELECT pg_advisory_lock_shared($1)", MEMBER_LOCK_KEY)
            if not await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY):
                return
            epoch = await self._conn.fetchval(_RAISE_EPOCH, self.instance)
            self._others = await self._conn.fetchval(_OTHERS, MEMBER_LOCK_KEY)
        except Exception:
            log.warning("leadership.attempt_failed", exc_info=True)
            await self._drop_lock()
            return
        self._deposed.clear()
        try:
            await self._elected(epoch, self.db.fenced(epoch, self.deposed))
        except Exception:
            log.exception("leadership.lead_failed", epoch=epoch)
            await self._stand_down()
            await self._drop_lock()

    async def _elected(self, epoch: int, db: Database) -> None:
        self._epoch, self._db = epoch, db
        log.info("leadership.elected", instance=self.instance, epoch=epoch)
        for part in list(self._parts):
            await part.lead(db)
            self._led.append(part)

    def _counted(self, others: int) -> None:
        was_alone, self._others = self._others == 0, others
        if was_alone and others:
            log.info("leadership.not_alone", others=others)
            for joined in self._joined:
                joined()

    async def _stand_down(self) -> None:
        if self._epoch is None:
            return
        log.warning("leadership.standing_down", instance=self.instance, epoch=self._epoch)
        self._epoch = self._db = None
        while self._led:
            part = self._led.pop()
            try:
                await part.stand_down()
            except Exception:
                log.exception("leadership.stand_down_failed", part=part.name)

    async def _drop_lock(self) -> None:
        """Close the lock's connection: its session, and with it the lock, ends."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
            if not conn.is_closed():
                conn.terminate()

    async def _keep(self) -> None:
        """Follow: try for the lock every `retry_seconds`. Lead: check every second that the
        lock's connection lives, and stand down if it does not or a fenced write failed."""
        while True:
            if self._epoch is None:
                await asyncio.sleep(self.retry_seconds)
                await self._try()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._deposed.wait()
            lost = self._deposed.is_set()
            if not lost:
                try:
                    assert self._conn is not None
                    async with asyncio.timeout(5):
                        others = await self._conn.fetchval(_OTHERS, MEMBER_LOCK_KEY)
                except Exception:
                    lost = True
                else:
                    self._counted(others)
            if lost:
                await self._stand_down()
                await self._drop_lock()
