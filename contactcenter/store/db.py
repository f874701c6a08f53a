"""The database handle: one async engine per process, set up right for each backend."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from contactcenter.errors import Unavailable

# The router's fencing check: FOR SHARE holds off a new router's epoch raise until we commit.
_FENCE = text("SELECT epoch FROM router_epoch WHERE id = 1 FOR SHARE")


class Database:
    """The engine; `begin()` is the one way to write, so related writes share a transaction."""

    def __init__(self, *, url: str, pool_size: int = 20, echo: bool = False) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
            # Reads hold no transaction and writes always end theirs, so there is nothing to
            # roll back when a connection goes back to the pool (and it saves a thread hop).
            kwargs["pool_reset_on_return"] = None
        else:
            # No pre-ping: it would cost a round trip on every checkout. A connection found
            # dead fails its one request, and SQLAlchemy then renews the whole pool.
            # Connections beyond the pool are closed when given back, and opening one costs
            # more than the statements it runs: a small overflow for bursts, and a pool large
            # enough for the steady load (bench/enqueue.py: 10 + 10 overflow made 50 clients
            # open and close connections all the time).
            overflow = max(2, pool_size // 4)
            kwargs.update(pool_size=pool_size, max_overflow=overflow, pool_recycle=3600)
            # Article search takes a word for a misspelling of another from 0.35 trigram
            # similarity (pg_trgm's default of 0.3 lets in too many unrelated words).
            kwargs["connect_args"] = {"server_settings": {"pg_trgm.similarity_threshold": "0.35"}}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self._writer = self.engine.execution_options(cc_write=True)
        # PostgreSQL reads run in autocommit: no BEGIN and ROLLBACK round trips around them.
        self._reader = (
            self.engine
            if self.dialect == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling is switched off and replaced: a write
            # transaction takes the lock at BEGIN IMMEDIATE, so it cannot fail half-way on a lock
            # upgrade; reads run without BEGIN (each statement sees the latest commit under WAL),
            # which saves a round trip through aiosqlite's thread per read.
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        # SQLite has one writer. Writers of this process queue here, each woken as soon as the
        # one before commits; left to SQLite's busy handler, a waiting BEGIN IMMEDIATE sleeps in
        # steps of up to 100 ms, which showed as seconds of latency under load (bench/voice.py).
        self._write_turn = asyncio.Lock() if self.dialect == "sqlite" else None
        self._fence: tuple[int, Callable[[], None]] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success and rolled back on error. Never
        open one inside another: on SQLite the inner one would wait for the outer for good."""
        if self._write_turn is None:
            async with self._writer.begin() as conn:
                if self._fence is not None:
                    await self._check_fence(conn, *self._fence)
                yield conn
            return
        async with self._write_turn, self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def single_write(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one write statement that needs no transaction around it. On
        PostgreSQL the statement commits by itself (one round trip, not BEGIN and COMMIT too);
        on SQLite it is `begin()`, which also keeps this process's writers in turn. Not for
        routing writes: those go through `begin()`, which checks the fence."""
        if self._write_turn is not None or self._fence is not None:
            async with self.begin() as conn:
                yield conn
            return
        async with self._reader.connect() as conn:
            yield conn

    def fenced(self, epoch: int, deposed: Callable[[], None]) -> Database:
        """This database for the router elected with `epoch`: each write transaction first
        checks the epoch stored in `router_epoch` and share-locks it until commit, so once
        another router has raised it this one writes nothing (`deposed()` is called and the
        transaction fails with Unavailable). PostgreSQL only; SQLite is one process."""
        fenced = copy.copy(self)
        fenced._fence = (epoch, deposed)
        return fenced

    @staticmethod
    async def _check_fence(conn: AsyncConnection, epoch: int, deposed: Callable[[], None]) -> None:
        stored = (await conn.execute(_FENCE)).scalar_one_or_none()
        if stored != epoch:
            deposed()
            raise Unavailable(
                "this instance no longer routes the queue; another took over: try again"
            )

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; each statement reads the latest committed state."""
        async with self._reader.connect() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    if conn.get_execution_options().get("cc_write", False):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
