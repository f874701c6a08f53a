"""The routing engine kept in step with the database, for the queue's own modules.

Each engine call happens under one lock, and the decisions it returns are written in one
transaction before they are published on the event bus, so what agents and channels hear has
always been stored first. Should a write fail, the engine is rebuilt from the database, which is
the truth. On start the engine is rebuilt the same way: waiting work keeps its place, open offers
are offered again. Timers (offer timeouts, overflows, SLA warnings, wrap-ups) run here too.

Outside `queue/`, ask `InteractionQueue`: it answers from here through methods with typed results.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from contactcenter.errors import Conflict
from contactcenter.events import EventBus
from contactcenter.interactions.records import InteractionRecords
from contactcenter.model import Presence, Routed, Staffing
from contactcenter.people.agents import AgentDirectory
from contactcenter.queue.persistence import store_decisions
from contactcenter.queue.recovery import rebuild
from contactcenter.queue.translation import event_of
from contactcenter.queue.view import RoutingView, ViewItem
from contactcenter.store.db import Database
from routing.engine import Engine
from routing.policy import Policy
from routing.state import ItemState
from routing.types import Decision, RoutingError

log = structlog.get_logger(__name__)
Step = Callable[[float], Awaitable[list[Decision]]]


class Router:
    """The engine, its lock, its timers and the callbacks waiting; `engine` and `lock` are for
    the queue's modules (`core.py`, `actions.py`), which change work only through `run`."""

    def __init__(
        self,
        *,
        db: Database,
        interactions: InteractionRecords,
        agents: AgentDirectory,
        policy: Policy,
        bus: EventBus,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.interactions = interactions
        self.agents = agents
        self.policy = policy
        self.bus = bus
        self.clock = clock
        self.engine = Engine(policy)
        self.lock = asyncio.Lock()
        # Callers who hung up to be called back: their work waits as callback_scheduled.
        self.callbacks: set[int] = set()
        self._wake = asyncio.Event()
        self._sleeping_until: float | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._changed: Callable[[], None] | None = None

    # -- life ---------------------------------------------------------------------------------

    async def start(self, *, run_timers: bool = True) -> None:
        """Rebuild from the database; then, unless told not to, run timers as they fall due."""
        async with self.lock:
            await self.rebuild()
        if run_timers:
            self._ticker = asyncio.create_task(self._tick_loop(), name="queue-ticker")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None

    def on_change(self, changed: Callable[[], None]) -> None:
        """Call `changed()` after each change routing publishes (the view for other
        instances follows it)."""
        self._changed = changed

    async def tick(self) -> None:
        """Act on every timer due by now."""

        async def step(now: float) -> list[Decision]:
            return self.engine.tick(now)

        await self.run(step)

    async def _tick_loop(self) -> None:
        """Sleep until the engine's next timer, or until new work sets an earlier one."""
        while True:
            self._sleeping_until = due = self.engine.next_timer()
            delay = None if due is None else max(0.0, due - self.clock())
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                log.exception("queue.tick_failed")

    # -- changing work ------------------------------------------------------------------------

    async def run(self, step: Step) -> None:
        """Under the lock: run `step` (which asks the engine), then store and tell its decisions."""
        async with self.lock:
            now = self.clock()
            decisions = await step(now)
            await self.apply(decisions, now)

    async def apply(self, decisions: list[Decision], now: float) -> None:
        """Store the decisions in one transaction, then publish them. A failed write means the
        engine is ahead of the database: rebuild it from the database and report the error."""
        if decisions:
            try:
                async with self.db.begin() as conn:
                    await store_decisions(conn, self.interactions, decisions, now, self.callbacks)
            except Exception:
                log.exception("queue.store_failed")
                await self.rebuild()
                raise
        self.published(decisions)

    def published(self, decisions: list[Decision]) -> None:
        """Tell listeners what was decided (and stored), and wake the ticker if need be."""
        for decision in decisions:
            self.bus.publish(event_of(decision))
        if self._changed is not None:
            self._changed()
        due = self.engine.next_timer()
        if due is not None and (self._sleeping_until is None or due < self._sleeping_until):
            self._wake.set()

    async def rebuild(self) -> None:
        """The engine anew from the database (see `recovery.py`)."""
        now = self.clock()
        agents = await self.agents.list_agents()
        async with self.db.begin() as conn:
            engine, decisions, callbacks = await rebuild(
                conn, self.policy, agents, self.interactions, now
            )
        self.engine, self.callbacks = engine, callbacks
        self.published(decisions)

    def call(self, method: Callable[..., list[Decision]], *args: Any) -> list[Decision]:
        """An engine method, its refusal turned into a Conflict (409) naming why."""
        try:
            return method(*args)
        except RoutingError as exc:
            raise Conflict(str(exc)) from None

    # -- what routing knows now ----------------------------------------------------------------

    def routed(self, interaction_id: int) -> Routed | None:
        state = self.engine.state_of(str(interaction_id))
        if state is None:
            return None
        return Routed(state[0], None if state[1] is None else int(state[1]))

    def position(self, interaction_id: int) -> int | None:
        return self.engine.position(str(interaction_id))

    def waiting(self) -> int:
        return self.engine.waiting()

    def knows_agent(self, agent_id: int) -> bool:
        return str(agent_id) in self.engine.agents

    def presence_of(self, agent_id: int) -> Presence | None:
        agent = self.engine.agents.get(str(agent_id))
        return None if agent is None else Presence(agent.presence.value)

    def has_callback(self, interaction_id: int) -> bool:
        return interaction_id in self.callbacks

    def places(self, interaction_id: int) -> list[tuple[str, str]]:
        """Where waiting work may go now: ("group", name) and ("agent", id), each once, in
        order (a group named by two targets at two levels is one place to a supervisor)."""
        item = self.engine.items.get(str(interaction_id))
        if item is None:
            return []
        return list(dict.fromkeys((spec[0], str(spec[1])) for spec in item.eligible()))

    def offer_expires(self, interaction_id: int) -> float | None:
        """When an open offer lapses (epoch seconds), as the engine timed it."""
        item = self.engine.items.get(str(interaction_id))
        if item is None or item.state is not ItemState.OFFERED:
            return None
        return item.offer_expires

    def load(self, agent_id: int) -> dict[str, int]:
        """Work the agent holds per channel they have room on (empty: routing has not seen
        them yet)."""
        agent = self.engine.agents.get(str(agent_id))
        if agent is None:
            return {}
        return {ch: lane.load for ch, lane in agent.lanes.items() if lane.capacity}

    def staffing(self) -> Staffing:
        agents = self.engine.agents.values()
        busy = sum(1 for a in agents if a.busy())
        staffed = sum(1 for a in agents if a.presence.value == "available" or a.busy())
        return Staffing(busy=busy, staffed=staffed)

    def view(self) -> RoutingView:
        """All of the above at once, for the instances that do not route (`view.py`)."""
        items: dict[int, ViewItem] = {}
        for key, item in self.engine.items.items():
            waiting = item.state is ItemState.WAITING
            places = self.places(int(key)) if waiting else []
            expires = item.offer_expires if item.state is ItemState.OFFERED else None
            agent = None if item.agent is None else int(item.agent)
            items[int(key)] = ViewItem(item.state.value, agent, expires, places)
        agents = {
            int(key): (Presence(agent.presence.value), self.load(int(key)))
            for key, agent in self.engine.agents.items()
        }
        return RoutingView(
            items=items,
            agents=agents,
            callbacks=frozenset(self.callbacks),
            waiting_count=self.waiting(),
            staffing_now=self.staffing(),
            by_group=self.waiting_by_group(),
        )

    def waiting_by_group(self) -> dict[str, int]:
        """Waiting work per group it may go to now (work open to two groups counts in both)."""
        counts: dict[str, int] = defaultdict(int)
        for item in self.engine.items.values():
            if item.state is ItemState.WAITING:
                for name in {spec[1] for spec in item.eligible() if spec[0] == "group"}:
                    counts[name] += 1
        return dict(sorted(counts.items()))
