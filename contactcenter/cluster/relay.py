"""Events across instances: what one instance's bus publishes, every other's hears.

Events are sent in order, several to a notification, as `{"o": instance, "e": [[class, fields],
...]}`, each notification below PostgreSQL's 8,000-byte limit. An event too large for one (a long
chat line) is stored in `relayed_events` and the notification carries its id. A receiver drops
its own notifications and rebuilds the others' events by class name; anything it cannot read is
logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from sqlalchemy import delete, insert, select

from contactcenter.cluster.notify import PAYLOAD_LIMIT, Listener, connect
from contactcenter.events import Event, EventBus, event_classes, fields_of
from contactcenter.runtime.rounds import Rounds
from contactcenter.store.db import Database
from contactcenter.store.tables import relayed_events

log = structlog.get_logger(__name__)
CHANNEL = "cc_events"
SPILL_KEEP = timedelta(hours=1)


class EventRelay:
    def __init__(
        self,
        *,
        db: Database,
        bus: EventBus,
        instance: str,
        alone: Callable[[], bool] = lambda: False,
    ) -> None:
        self.db = db
        self.bus = bus
        self.instance = instance
        self.alone = alone  # no other instance runs: nothing to send
        self._classes = event_classes()
        self._outgoing: asyncio.Queue[Event] = asyncio.Queue()
        self._listener = Listener(db=db, name="events")
        self._listener.on(CHANNEL, self._heard)
        self._sender: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._fetching: set[asyncio.Task[None]] = set()
        self._sweeps = Rounds(name="relayed events sweep", round_=self.sweep, every=600)

    async def start(self) -> None:
        await self._listener.start()
        self._conn = await connect(self.db)
        self._sender = asyncio.create_task(self._send_all(), name="event-relay")
        self.bus.relay_to(self._send_later)

    async def stop(self) -> None:
        self.bus.relay_to(None)
        if self._sender is not None:
            # What was published before the stop still goes out.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._outgoing.join()
            self._sender.cancel()
            await asyncio.gather(self._sender, *self._fetching, return_exceptions=True)
        await self._listener.stop()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)

    async def lead(self, _db: Database) -> None:
        """Sweep the stored large events from now on (the leader does)."""
        self._sweeps.start()

    async def stand_down(self) -> None:
        await self._sweeps.stop()

    async def sweep(self) -> None:
        """Delete stored large events older than an hour (a periodic job of the leader)."""
        async with self.db.begin() as conn:
            await conn.execute(
                delete(relayed_events).where(
                    relayed_events.c.created_at < datetime.now(UTC) - SPILL_KEEP
                )
            )

    # -- sending -------------------------------------------------------------------------------

    def _send_later(self, event: Event) -> None:
        if not self.alone():
            self._outgoing.put_nowait(event)

    async def _send_all(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            try:
                await self._send(batch)
            except Exception:
                log.exception("relay.send_failed", events=len(batch))
                if self._conn is not None:
                    self._conn.terminate()  # `_notify` opens a new one for the next batch
                    self._conn = None
            finally:
                for _ in batch:
                    self._outgoing.task_done()

    async def _send(self, batch: list[Event]) -> None:
        head = f'{{"o":{json.dumps(self.instance)},"e":['
        parts: list[str] = []
        size = len(head) + 2
        for event in batch:
            part = json.dumps([type(event).__name__, fields_of(event)], separators=(",", ":"))
            if len(head) + len(part) + 2 > PAYLOAD_LIMIT:
                part = json.dumps(["@", await self._spill(part)])
            if size + len(part) + 1 > PAYLOAD_LIMIT:
                await self._notify(head + ",".join(parts) + "]}")
                parts, size = [], len(head) + 2
            parts.append(part)
            size += len(part) + 1
        if parts:
            await self._notify(head + ",".join(parts) + "]}")

    async def _notify(self, payload: str) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self.db)
        await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    async def _spill(self, part: str) -> int:
        async with self.db.begin() as conn:
            stored = await conn.execute(
                insert(relayed_events)
                .values(body=part, created_at=datetime.now(UTC))
                .returning(relayed_events.c.id)
            )
            return int(stored.scalar_one())

    # -- hearing -------------------------------------------------------------------------------

    def _heard(self, payload: str) -> None:
        if not payload:
            return  # the listening connection was reopened: events sent meanwhile are gone
        try:
            message = json.loads(payload)
            if message["o"] == self.instance:
                return
            entries = list(message["e"])
        except Exception:
            log.warning("relay.unreadable", payload=payload[:200])
            return
        if any(entry[0] == "@" for entry in entries):
            # Fetch the stored ones, then publish all in order.
            task = asyncio.create_task(self._publish_with_stored(entries))
            self._fetching.add(task)
            task.add_done_callback(self._fetching.discard)
            return
        for entry in entries:
            self._publish(entry)

    async def _publish_with_stored(self, entries: list[Any]) -> None:
        for entry in entries:
            if entry[0] == "@":
                async with self.db.connect() as conn:
                    body = (
                        await conn.execute(
                            select(relayed_events.c.body).where(relayed_events.c.id == entry[1])
                        )
                    ).scalar_one_or_none()
                if body is None:
                    log.warning("relay.stored_event_gone", id=entry[1])
                    continue
                entry = json.loads(body)
            self._publish(entry)

    def _publish(self, entry: Any) -> None:
        try:
            name, data = entry
            event = self._classes[name](**data)
        except Exception:
            log.warning("relay.unknown_event", entry=str(entry)[:200])
            return
        self.bus.publish_relayed(event)
