"""Events to the consoles: each event is encoded once and put only in the outlets that want it.

One subscription to the bus serves every console. Supervisors' outlets take every event; an
agent's outlet takes the events that name that agent, and those about an interaction the agent
holds now (offered, active or in wrap-up, as the routing engine knows it), such as a new mail
on their thread or the suggestions for it. Each outlet is a bounded buffer: a console that stops
reading fills it and is dropped (told `stream.overflow` where it can still hear, and closed),
never slowing the others, and reconnects and reloads by itself.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from enum import Enum

import structlog

from contactcenter.events import OVERFLOW, Event, EventBus

log = structlog.get_logger(__name__)
# Events a console may fall behind before it is dropped: a minute of a busy supervisor's stream.
OUTLET_LIMIT = 512
OVERFLOW_TEXT = json.dumps(OVERFLOW.wire())


class OutletState(Enum):
    OPEN = "open"
    DROPPED = "dropped"  # fell `limit` behind: the writer sends the overflow notice and closes
    CLOSED = "closed"


class Outlet:
    """One console's share of the stream: encoded events waiting to be written to its socket."""

    def __init__(
        self,
        *,
        agent_id: int | None,
        everything: bool,
        limit: int = OUTLET_LIMIT,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self.agent_id = agent_id
        self.everything = everything
        self.limit = limit
        # Called once when dropped: the socket's writer may be stuck on a console that stopped
        # reading, so the socket is hung up from outside it.
        self.on_drop = on_drop
        self.state = OutletState.OPEN
        self._pending: deque[str] = deque()
        self._ready = asyncio.Event()

    def put(self, text: str) -> None:
        if self.state is not OutletState.OPEN:
            return
        if len(self._pending) >= self.limit:
            log.warning("events.console_dropped", agent_id=self.agent_id, behind=self.limit)
            self.drop()
            return
        self._pending.append(text)
        self._ready.set()

    def drop(self) -> None:
        """Forget what waits; the writer tells the console to reload and closes it."""
        if self.state is not OutletState.OPEN:
            return
        self.state = OutletState.DROPPED
        self._pending.clear()
        self._ready.set()
        if self.on_drop is not None:
            self.on_drop()

    async def get(self) -> str | None:
        """The next event's text; None once the outlet is dropped or closed."""
        while not self._pending:
            if self.state is not OutletState.OPEN:
                return None
            self._ready.clear()
            await self._ready.wait()
        if self.state is not OutletState.OPEN:
            return None
        return self._pending.popleft()

    def close(self) -> None:
        if self.state is OutletState.OPEN:
            self.state = OutletState.CLOSED
        self._ready.set()


class Fanout:
    """Reads the bus once and fills the outlets; `holder` names the agent holding an
    interaction now (or None)."""

    def __init__(self, *, bus: EventBus, holder: Callable[[int], int | None]) -> None:
        self.bus = bus
        self.holder = holder
        self.watchers: set[Outlet] = set()  # supervisors and admins
        self.by_agent: dict[int, set[Outlet]] = {}
        self._task: asyncio.Task[None] | None = None

    def open(
        self,
        agent_id: int | None,
        everything: bool,
        limit: int = OUTLET_LIMIT,
        on_drop: Callable[[], None] | None = None,
    ) -> Outlet:
        outlet = Outlet(agent_id=agent_id, everything=everything, limit=limit, on_drop=on_drop)
        if everything:
            self.watchers.add(outlet)
        elif agent_id is not None:
            self.by_agent.setdefault(agent_id, set()).add(outlet)
        return outlet

    def close(self, outlet: Outlet) -> None:
        outlet.close()
        self.watchers.discard(outlet)
        if outlet.agent_id is not None and (mine := self.by_agent.get(outlet.agent_id)):
            mine.discard(outlet)
            if not mine:
                del self.by_agent[outlet.agent_id]

    @property
    def consoles(self) -> int:
        return len(self._outlets())

    def _outlets(self) -> list[Outlet]:
        return [*self.watchers, *(o for mine in self.by_agent.values() for o in mine)]

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-fanout")
        await asyncio.sleep(0)  # subscribed before anything else is published

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for outlet in self._outlets():
            self.close(outlet)

    def deliver(self, event: Event) -> None:
        """Encode `event` once and put it in every outlet that wants it."""
        text = json.dumps(event.wire(), default=str)
        for outlet in self.watchers:
            outlet.put(text)
        agent_id = event.about_agent()
        if agent_id is None and (interaction_id := event.about_interaction()) is not None:
            agent_id = self.holder(interaction_id)
        if agent_id is not None and (mine := self.by_agent.get(agent_id)):
            for outlet in mine:
                outlet.put(text)

    async def _run(self) -> None:
        while True:
            async with self.bus.subscribe() as events:
                async for event in events:
                    if event is OVERFLOW:
                        break
                    self.deliver(event)
            # The fan-out itself fell behind the bus: every console missed events, so every
            # console is told to reload, then the fan-out starts again.
            log.warning("events.fanout_fell_behind")
            for outlet in self._outlets():
                outlet.drop()
