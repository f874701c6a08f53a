"""Agents who closed their console are not left `available`.

Every event stream of an agent (their console's connection to `/api/v1/events`) is counted.
When an agent's last one closes, a timer of `CONTACTCENTER_CONSOLE_GRACE_SECONDS` starts (a page
reload or a short network drop reconnects well within it); if no console is back by then and
the agent is still available, they are set away with the reason "console closed", which the
dashboard shows. Agents who never opened a console (a phone-only agent set available over the
API) are left as they are.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import structlog

from contactcenter.model import Presence
from contactcenter.queue.core import InteractionQueue

log = structlog.get_logger(__name__)
REASON = "console closed"


class ConsolePresence:
    def __init__(self, *, queue: InteractionQueue, grace_seconds: float) -> None:
        self.queue = queue
        self.grace_seconds = grace_seconds
        self._open: Counter[int] = Counter()
        self._timers: dict[int, asyncio.Task[None]] = {}

    def opened(self, agent_id: int) -> None:
        self._open[agent_id] += 1
        timer = self._timers.pop(agent_id, None)
        if timer is not None:
            timer.cancel()

    def closed(self, agent_id: int) -> None:
        self._open[agent_id] -= 1
        if self._open[agent_id] > 0:
            return
        del self._open[agent_id]
        if agent_id not in self._timers:
            self._timers[agent_id] = asyncio.create_task(self._after_grace(agent_id))

    async def _after_grace(self, agent_id: int) -> None:
        try:
            await asyncio.sleep(self.grace_seconds)
            if self._open[agent_id] > 0:
                return
            if self.queue.presence_of(agent_id) is Presence.AVAILABLE:
                await self.queue.set_presence(agent_id, Presence.AWAY, REASON)
                log.info("agent.console_gone", agent_id=agent_id, grace=self.grace_seconds)
        except Exception:  # the agent may have been removed meanwhile
            log.exception("agent.console_gone_failed", agent_id=agent_id)
        finally:
            self._timers.pop(agent_id, None)

    async def stop(self) -> None:
        for timer in list(self._timers.values()):
            timer.cancel()
        await asyncio.gather(*self._timers.values(), return_exceptions=True)
        self._timers.clear()
