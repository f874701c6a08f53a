"""What routing knows now, for the instances that do not route.

The router writes a `RoutingView` to the `routing_view` row a moment after each change (and
before it answers a command another instance handed it, so that instance reads its own change),
then notifies `cc_view`; the other instances read the row when they hear it. They answer the
queue's questions (who holds this work, what waits where, who is available) from it; a
caller's place in the queue is asked of the router itself (`position` is a command).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from contactcenter.cluster.notify import notify
from contactcenter.model import Presence, Routed, Staffing
from contactcenter.store.db import Database
from contactcenter.store.tables import routing_view

log = structlog.get_logger(__name__)
CHANNEL = "cc_view"
# How long the router lets changes gather before it writes the view, and how often at most the
# other instances read it (a command's answer makes them read it at once).
GATHER_SECONDS = 0.05
READ_EVERY_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class ViewItem:
    state: str
    agent_id: int | None
    offer_expires: float | None
    places: list[tuple[str, str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingView:
    """Routing at one moment: `(epoch, seq)` orders views, a new router's after the old's."""

    epoch: int = 0
    seq: int = 0
    items: dict[int, ViewItem] = field(default_factory=dict)
    agents: dict[int, tuple[Presence, dict[str, int]]] = field(default_factory=dict)
    callbacks: frozenset[int] = frozenset()
    waiting_count: int = 0
    staffing_now: Staffing = field(default_factory=lambda: Staffing(busy=0, staffed=0))
    by_group: dict[str, int] = field(default_factory=dict)

    @property
    def version(self) -> tuple[int, int]:
        return (self.epoch, self.seq)

    # -- the questions the queue answers (as the Router does) ----------------------------------

    def routed(self, interaction_id: int) -> Routed | None:
        item = self.items.get(interaction_id)
        return None if item is None else Routed(item.state, item.agent_id)

    def waiting(self) -> int:
        return self.waiting_count

    def knows_agent(self, agent_id: int) -> bool:
        return agent_id in self.agents

    def presence_of(self, agent_id: int) -> Presence | None:
        found = self.agents.get(agent_id)
        return None if found is None else found[0]

    def places(self, interaction_id: int) -> list[tuple[str, str]]:
        item = self.items.get(interaction_id)
        return [] if item is None else list(item.places)

    def offer_expires(self, interaction_id: int) -> float | None:
        item = self.items.get(interaction_id)
        return None if item is None else item.offer_expires

    def load(self, agent_id: int) -> dict[str, int]:
        found = self.agents.get(agent_id)
        return {} if found is None else dict(found[1])

    def staffing(self) -> Staffing:
        return self.staffing_now

    def waiting_by_group(self) -> dict[str, int]:
        return dict(self.by_group)

    def has_callback(self, interaction_id: int) -> bool:
        return interaction_id in self.callbacks

    # -- on the wire -----------------------------------------------------------------------------

    def dumps(self) -> str:
        return json.dumps(
            {
                "items": {
                    str(i): [v.state, v.agent_id, v.offer_expires, v.places]
                    for i, v in self.items.items()
                },
                "agents": {str(a): [p.value, load] for a, (p, load) in self.agents.items()},
                "callbacks": sorted(self.callbacks),
                "waiting": self.waiting_count,
                "staffing": [self.staffing_now.busy, self.staffing_now.staffed],
                "by_group": self.by_group,
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, epoch: int, seq: int, body: str) -> RoutingView:
        data = json.loads(body)
        return cls(
            epoch=epoch,
            seq=seq,
            items={
                int(i): ViewItem(s, a, e, [(p[0], p[1]) for p in places])
                for i, (s, a, e, places) in data["items"].items()
            },
            agents={int(a): (Presence(p), load) for a, (p, load) in data["agents"].items()},
            callbacks=frozenset(data["callbacks"]),
            waiting_count=data["waiting"],
            staffing_now=Staffing(busy=data["staffing"][0], staffed=data["staffing"][1]),
            by_group=data["by_group"],
        )


class ViewWriter:
    """The router's side: `changed()` after every change; the view is written a moment later
    (unless no other instance runs), or at once by `write_now()`."""

    def __init__(
        self,
        *,
        db: Database,
        epoch: int,
        build: Callable[[], RoutingView],
        alone: Callable[[], bool],
    ) -> None:
        self.db = db
        self.epoch = epoch
        self.build = build
        self.alone = alone  # no other instance reads the view: it is written when one comes
        self.seq = 0
        self._dirty = True
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None

    def changed(self) -> None:
        self._dirty = True
        if self.alone():
            return
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._soon(), name="routing-view")

    async def _soon(self) -> None:
        await asyncio.sleep(GATHER_SECONDS)
        try:
            await self.write_now()
        except Exception:
            log.warning("view.write_failed", exc_info=True)

    async def write_now(self) -> int:
        """Write the view if anything changed since the last; its seq."""
        async with self._lock:
            if not self._dirty:
                return self.seq
            self._dirty = False
            body = self.build().dumps()
            seq = self.seq + 1
            async with self.db.begin() as conn:
                await conn.execute(
                    postgresql.insert(routing_view)
                    .values(id=1, epoch=self.epoch, seq=seq, body=body)
                    .on_conflict_do_update(
                        index_elements=["id"], set_={"epoch": self.epoch, "seq": seq, "body": body}
                    )
                )
                await notify(conn, CHANNEL, f"{self.epoch}:{seq}")
            self.seq = seq
            return seq

    async def stop(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            await asyncio.gather(self._pending, return_exceptions=True)


class ViewReader:
    """The other instances' side: the latest view, read again when the router says it
    changed."""

    def __init__(self, *, db: Database) -> None:
        self.db = db
        self.view = RoutingView()
        self._heard: tuple[int, int] = (0, 0)
        self._fetcher: asyncio.Task[None] | None = None
        self._fresh = asyncio.Event()
        self._hurry = asyncio.Event()
        self._read_at = 0.0

    def heard(self, payload: str) -> None:
        """A `cc_view` notification ("epoch:seq"; empty: may have missed some): read the view,
        at most every `READ_EVERY_SECONDS`."""
        with contextlib.suppress(ValueError):
            epoch, seq = (int(x) for x in payload.split(":"))
            self._heard = max(self._heard, (epoch, seq))
        self.refresh(wait=READ_EVERY_SECONDS)

    def refresh(self, wait: float = 0.0) -> None:
        if self._fetcher is None or self._fetcher.done():
            self._fetcher = asyncio.create_task(self._fetch(wait), name="routing-view-read")

    async def at_least(self, epoch: int, seq: int, wait: float = 5.0) -> None:
        """Wait (a little) until the view read is the router's `(epoch, seq)` or newer."""
        self._heard = max(self._heard, (epoch, seq))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                while self.view.version < (epoch, seq):
                    self._fresh.clear()
                    self._hurry.set()
                    self.refresh()
                    await self._fresh.wait()

    async def _fetch(self, wait: float = 0.0) -> None:
        pause = wait - (asyncio.get_running_loop().time() - self._read_at)
        if pause > 0 and self._hurry.is_set() is False:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._hurry.wait()  # a command's answer cannot wait
        self._hurry.clear()
        while True:
            self._read_at = asyncio.get_running_loop().time()
            try:
                async with self.db.connect() as conn:
                    row = (
                        await conn.execute(select(routing_view).where(routing_view.c.id == 1))
                    ).one_or_none()
            except Exception:
                log.warning("view.read_failed", exc_info=True)
                await asyncio.sleep(0.2)
                continue
            if row is not None and (row.epoch, row.seq) > self.view.version:
                self.view = RoutingView.loads(row.epoch, row.seq, row.body)
            self._fresh.set()
            if self.view.version >= self._heard:
                return
            await asyncio.sleep(0.01)  # heard of a newer view than the row holds yet

    async def stop(self) -> None:
        if self._fetcher is not None:
            self._fetcher.cancel()
            await asyncio.gather(self._fetcher, return_exceptions=True)
