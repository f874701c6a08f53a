"""Work handed to the router through the database, by the instances that do not route.

An instance that does not route writes what it was asked (`enqueue`, `accept`, `set_presence`,
...) as a row of `queue_commands` and notifies `cc_commands`; the router runs the rows through the
same front door as its own requests, writes each answer in `result` and notifies `cc_done`, and
the asking instance answers its client. Nothing is acknowledged before the router has stored it.

- An arrival's row is answered in the transaction that stores the interaction, so a router that
  dies half-way has either stored both or neither, and the next router runs what is unanswered:
  an arrival is never lost nor stored twice.
- Another command that was running when its router died is run again by the next; if it had
  been stored, the engine (rebuilt from the database) refuses it as a conflict (409) that says
  where the work is now.
- An instance that hears nothing still looks for its answer every second, and gives up after
  `ANSWER_SECONDS`: it deletes the command, so that no router runs it later, and answers 503
  (nothing was done, try again). An arrival whose command was withdrawn is not stored (its
  answer finds no row and its transaction rolls back); another command that a router was
  running at that very moment may still take effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter import errors
from contactcenter.cluster.notify import PAYLOAD_LIMIT, notify
from contactcenter.errors import ServiceError, Unavailable
from contactcenter.store.db import Database
from contactcenter.store.tables import queue_commands

log = structlog.get_logger(__name__)
ASKED = "cc_commands"
DONE = "cc_done"
ANSWER_SECONDS = 30.0
KEEP_ANSWERED = timedelta(minutes=10)
_ERRORS: dict[str, type[ServiceError]] = {
    cls.code: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, ServiceError)
}

Result = dict[str, Any]


def ok(value: Any = None) -> Result:
    return {"ok": value}


def failed(exc: BaseException) -> Result:
    """An exception as an answer: a service error keeps its kind, message and field."""
    if isinstance(exc, ServiceError):
        return {"error": {"code": exc.code, "message": exc.message, "field": exc.field}}
    return {"error": {"code": "failed", "message": f"the router failed: {type(exc).__name__}"}}


def outcome(result: Result) -> Any:
    """The answer's value, or its error raised again as the service error it was."""
    if "error" not in result:
        return result.get("ok")
    error = result["error"]
    cls = _ERRORS.get(error.get("code", ""))
    if cls is None:
        raise RuntimeError(error.get("message", "the router failed"))
    exc = cls.__new__(cls)
    ServiceError.__init__(exc, error.get("message", ""), error.get("field"))
    raise exc


class Withdrawn(Exception):
    """The instance that handed a command over took it back (it waited too long): whatever
    the command did in this transaction must not be stored."""


async def answer(conn: AsyncConnection, answers: dict[int, Result], *, all_: bool = False) -> None:
    """Store the answers to commands in `conn`'s transaction; with `all_`, Withdrawn when one
    of the commands is no longer there (the transaction is then to be rolled back)."""
    if answers:
        result = await conn.execute(
            update(queue_commands)
            .where(queue_commands.c.id == bindparam("cid"))
            .values(done_at=bindparam("done"), result=bindparam("res")),
            [
                {"cid": cid, "done": datetime.now(UTC), "res": result}
                for cid, result in answers.items()
            ],
        )
        if all_ and result.rowcount != len(answers):
            raise Withdrawn(f"{len(answers) - result.rowcount} of the commands were withdrawn")


class Forwarder:
    """The asking side: `forward(verb, args)` waits for the router's answer."""

    def __init__(
        self,
        *,
        db: Database,
        instance: str,
        seen: Callable[[int, int], Awaitable[None]],
    ) -> None:
        self.db = db
        self.instance = instance
        self.seen = seen  # waits until this instance reads the routing view (epoch, seq)
        self._waiting: dict[int, asyncio.Future[Result]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._collecting: set[asyncio.Task[None]] = set()

    async def forward(self, verb: str, args: dict[str, Any]) -> Any:
        async with self.db.begin() as conn:
            found = await conn.execute(
                insert(queue_commands)
                .values(instance=self.instance, verb=verb, args=args, created_at=datetime.now(UTC))
                .returning(queue_commands.c.id)
            )
            command_id = int(found.scalar_one())
            await notify(conn, ASKED)
        future = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="commands-poll")
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                result = await asyncio.shield(future)
        except TimeoutError:
            result = await self._withdraw(command_id)
            if result is None:
                raise Unavailable(
                    "no instance routes the queue now (one is taking over); nothing was done, "
                    "try again"
                ) from None
        finally:
            self._waiting.pop(command_id, None)
        return outcome(result)

    async def _withdraw(self, command_id: int) -> Result | None:
        """Take back a command nobody answered: deleted, so no router runs it later (an
        arrival's answer then finds no row, and the arrival is not stored). Its answer if it
        was answered meanwhile."""
        async with self.db.begin() as conn:
            gone = await conn.execute(
                delete(queue_commands).where(
                    queue_commands.c.id == command_id, queue_commands.c.done_at.is_(None)
                )
            )
            if gone.rowcount:
                return None
            found = await conn.execute(
                select(queue_commands.c.result).where(queue_commands.c.id == command_id)
            )
            return found.scalar_one_or_none()  # type: ignore[no-any-return]

    def heard(self, payload: str) -> None:
        """A `cc_done` notification: `{"v": [epoch, seq], "ids": [...]}` (empty: look)."""
        try:
            done = json.loads(payload) if payload else {}
            ids = [i for i in done.get("ids", ()) if i in self._waiting]
            version = tuple(done.get("v", (0, 0)))
        except Exception:
            log.warning("commands.unreadable_done", payload=payload[:200])
            return
        if ids or not payload:
            task = asyncio.create_task(self._collect(ids or list(self._waiting), version))
            self._collecting.add(task)
            task.add_done_callback(self._collecting.discard)

    async def _collect(self, ids: list[int], version: tuple[int, ...]) -> None:
        if not ids:
            return
        try:
            async with self.db.connect() as conn:
                rows = (
                    await conn.execute(
                        select(queue_commands.c.id, queue_commands.c.result).where(
                            queue_commands.c.id.in_(ids), queue_commands.c.done_at.is_not(None)
                        )
                    )
                ).all()
            if rows and version != (0, 0):
                await self.seen(version[0], version[1])
        except Exception:
            log.warning("commands.collect_failed", exc_info=True)
            return
        for command_id, result in rows:
            future = self._waiting.get(command_id)
            if future is not None and not future.done():
                future.set_result(result)

    async def _poll(self) -> None:
        """While answers are awaited, look for them every second (a notification may be lost
        with a router that died after storing)."""
        while self._waiting:
            await asyncio.sleep(1.0)
            await self._collect(list(self._waiting), (0, 0))

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)


class CommandRunner:
    """The router's side: runs each unanswered command as soon as it is seen, through `run(id,
    verb, args)`, which returns the answer (already stored, for an arrival, with the work
    itself). Answers are written together, as they come: one transaction for all those ready,
    after the routing view that shows them."""

    def __init__(
        self,
        *,
        db: Database,
        run: Callable[[int, str, dict[str, Any]], Awaitable[Result]],
        view_written: Callable[[], Awaitable[tuple[int, int]]],
    ) -> None:
        self.db = db
        self.run = run
        self.view_written = view_written
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: dict[int, asyncio.Task[None]] = {}
        self._ready: dict[int, Result] = {}
        self._writer: asyncio.Task[None] | None = None
        self._idle_rounds = 0

    def heard(self, _payload: str) -> None:
        self._wake.set()

    def start(self) -> None:
        self._wake.set()  # commands left by a router that died are run first
        self._task = asyncio.create_task(self._loop(), name="commands")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, self._writer, *self._running.values()) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = self._writer = None
        self._running.clear()
        self._ready.clear()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.run_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("commands.round_failed")
                await asyncio.sleep(0.2)

    async def run_pending(self) -> None:
        """Start every unanswered command not running yet."""
        async with self.db.connect() as conn:
            rows = (
                await conn.execute(
                    select(queue_commands.c.id, queue_commands.c.verb, queue_commands.c.args)
                    .where(queue_commands.c.done_at.is_(None))
                    .order_by(queue_commands.c.id)
                    .limit(1000)
                )
            ).all()
        fresh = [r for r in rows if r.id not in self._running and r.id not in self._ready]
        for row in fresh:
            self._running[row.id] = asyncio.create_task(self._one(row.id, row.verb, row.args))
        if not rows:
            self._idle_rounds += 1
            if self._idle_rounds % 60 == 0:
                await self._forget_answered()
        elif len(rows) == 1000:
            self._wake.set()

    async def _one(self, command_id: int, verb: str, args: dict[str, Any]) -> None:
        try:
            result = await self.run(command_id, verb, args)
        except Exception as exc:
            if not isinstance(exc, ServiceError | Withdrawn):
                log.exception("commands.failed", verb=verb, command_id=command_id)
            result = failed(exc)
        self._ready[command_id] = result
        self._running.pop(command_id, None)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._answer_ready(), name="commands-answer")

    async def _answer_ready(self) -> None:
        """Write the answers ready, then those that became ready meanwhile, until none wait."""
        while self._ready:
            answers, self._ready = self._ready, {}
            try:
                epoch, seq = await self.view_written()
                async with self.db.begin() as conn:
                    await answer(conn, answers)
                    await self._tell_done(conn, list(answers), epoch, seq)
            except Exception:
                # Not answered: the next round (or the next router) runs them again.
                log.exception("commands.answer_failed", commands=len(answers))
                await asyncio.sleep(0.2)

    @staticmethod
    async def _tell_done(conn: AsyncConnection, ids: list[int], epoch: int, seq: int) -> None:
        head = f'{{"v":[{epoch},{seq}],"ids":['
        chunk: list[str] = []
        for command_id in ids:
            chunk.append(str(command_id))
            if len(head) + sum(len(c) + 1 for c in chunk) > PAYLOAD_LIMIT - 40:
                await notify(conn, DONE, head + ",".join(chunk) + "]}")
                chunk = []
        if chunk:
            await notify(conn, DONE, head + ",".join(chunk) + "]}")

    async def _forget_answered(self) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                delete(queue_commands).where(
                    queue_commands.c.done_at < datetime.now(UTC) - KEEP_ANSWERED
                )
            )
