"""One router per database.

Two routing engines on one database would each offer the same waiting interaction to an agent
of their own. On PostgreSQL the queue therefore holds a session advisory lock for as long as it
runs, on a connection of its own; a second instance started against the same database waits a
little (a killed predecessor's session takes a moment to end) and then refuses to start. SQLite
is one service process by nature. Running several instances side by side (every one ingesting,
one routing, with a fencing epoch on its writes) is the planned next step; see the README.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.store.db import Database

# An application-chosen advisory lock key ("ccrt"); advisory locks are per database.
ROUTER_LOCK_KEY = 0x63637274


class RouterTaken(RuntimeError):
    """Another process routes this database's queue."""


class RouterLock:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: AsyncConnection | None = None

    async def acquire(self, wait: float = 10.0) -> None:
        """Hold the lock, trying for up to `wait` seconds; RouterTaken if another holds it."""
        if self.db.is_sqlite or self._conn is not None:
            return
        conn = await self.db.engine.execution_options(isolation_level="AUTOCOMMIT").connect()
        deadline = time.monotonic() + wait
        try:
            while not (
                await conn.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": ROUTER_LOCK_KEY}
                )
            ).scalar_one():
                if time.monotonic() >= deadline:
                    raise RouterTaken(
                        "another contactcenter instance routes the queue of this database; "
                        "run one instance per database"
                    )
                await asyncio.sleep(0.5)
        except BaseException:
            await conn.close()  # the lock was not taken: nothing to give back
            raise
        self._conn = conn

    async def release(self) -> None:
        """Unlock, then give the connection back (a pooled session would keep the lock)."""
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            await conn.execute(
                text("SELECT pg_advisory_unlock(:key)").bindparams(key=ROUTER_LOCK_KEY)
            )
        except Exception:
            await conn.invalidate()  # a broken session: dropping it ends the lock
        finally:
            await conn.close()
