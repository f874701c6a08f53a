"""PostgreSQL notifications: one connection of its own that LISTENs, and `notify` for writers.

A notification is delivered when the transaction that sent it commits, so a listener that reads
the database on hearing one finds what was written. A listening connection that drops is opened
again; each callback then hears an empty payload, which means "you may have missed something:
look again".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.store.db import Database

log = structlog.get_logger(__name__)
# PostgreSQL refuses a payload of 8,000 bytes or more; what is sent stays below this.
PAYLOAD_LIMIT = 7_900

Heard = Callable[[str], None]


async def connect(db: Database) -> asyncpg.Connection:
    """A plain asyncpg connection to the service's database, outside the pool."""
    return await asyncpg.connect(db.url.set(drivername="postgresql").render_as_string(False))


async def notify(conn: AsyncConnection, channel: str, payload: str = "") -> None:
    """Send `payload` on `channel` when `conn`'s transaction commits (at once in autocommit)."""
    await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})


class Listener:
    """One LISTENing connection for several channels; callbacks run on the event loop and must
    not block (they set an event or start a task)."""

    def __init__(self, *, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self._callbacks: dict[str, list[Heard]] = {}
        self._conn: asyncpg.Connection | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    def on(self, channel: str, callback: Heard) -> None:
        """Call `callback(payload)` for each notification on `channel` (before `start`)."""
        self._callbacks.setdefault(channel, []).append(callback)

    async def start(self) -> None:
        """Listen now (raises if the database does not answer); reconnect if it drops."""
        await self._open()
        self._keeper = asyncio.create_task(self._keep(), name=f"listen-{self.name}")

    async def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
            self._keeper = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
            self._conn = None

    async def _open(self) -> None:
        conn = await connect(self.db)
        conn.add_termination_listener(lambda _: self._lost.set())
        for channel in self._callbacks:
            await conn.add_listener(channel, self._heard)
        self._conn = conn

    def _heard(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        for callback in self._callbacks.get(channel, ()):
            try:
                callback(payload)
            except Exception:
                log.exception("notify.callback_failed", channel=channel)

    async def _keep(self) -> None:
        """Check the connection every second; open it again when it is gone."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._lost.wait()
            conn = self._conn
            try:
                if conn is not None and not conn.is_closed() and not self._lost.is_set():
                    async with asyncio.timeout(5):
                        await conn.fetchval("SELECT 1")
                    continue
            except Exception:
                log.warning("notify.connection_lost", listener=self.name)
            self._lost.clear()
            if conn is not None:
                conn.terminate()
            self._conn = None
            try:
                await self._open()
            except Exception:
                log.warning("notify.reconnect_failed", listener=self.name)
                await asyncio.sleep(1.0)
                self._lost.set()
                continue
            for callbacks in self._callbacks.values():
                for callback in callbacks:
                    callback("")  # anything sent while we were away was missed
