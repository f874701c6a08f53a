"""The event bus: what happened (an offer, a transition, an SLA warning) reaches every listener.

In-process for now: each subscriber has its own bounded queue, so one slow console never holds
up routing; a subscriber that falls too far behind is told so and dropped (it reconnects and
reloads). PostgreSQL LISTEN/NOTIFY across instances is added on top of this same interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog

log = structlog.get_logger(__name__)
Event = dict[str, Any]
OVERFLOW: Event = {"type": "stream.overflow", "message": "too far behind; reload and reconnect"}


class Subscription:
    def __init__(self, limit: int) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(limit)
        self.dropped = False

    async def get(self) -> Event:
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            event = await self.queue.get()
            yield event
            if event is OVERFLOW:
                return


class EventBus:
    def __init__(self, subscriber_limit: int = 1000) -> None:
        self.subscriber_limit = subscriber_limit
        self._subscribers: set[Subscription] = set()

    def publish(self, event: Event) -> None:
        """Hand `event` to every subscriber now; never waits."""
        for sub in list(self._subscribers):
            if sub.dropped:
                continue
            if sub.queue.qsize() >= self.subscriber_limit - 1:
                # Keep one slot for the overflow notice, then stop feeding this subscriber.
                sub.dropped = True
                sub.queue.put_nowait(OVERFLOW)
                self._subscribers.discard(sub)
                log.warning("events.subscriber_dropped", pending=sub.queue.qsize())
                continue
            sub.queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        sub = Subscription(self.subscriber_limit)
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)
