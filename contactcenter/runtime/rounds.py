"""Work done in rounds in the background (deliver the outbox, poll a mailbox): one task that
runs a round, logs a failed one and carries on, then waits its period or until woken."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


class Rounds:
    def __init__(self, *, name: str, round_: Callable[[], Awaitable[object]], every: float) -> None:
        self.name = name
        self.round = round_
        self.every = every
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Run the next round now rather than at the end of the period."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop after the round in progress. The cancel cuts a round short; the flag ends the
        loop even when a library the round awaits swallows the cancel (seen with a relay
        conversation cut half-way), which would otherwise keep the service from stopping."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            self._stopping = False

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before the round, not after: a wake that comes while the round runs (a
            # mail put in the outbox as the round delivers others) asks for the next one now.
            self._wake.clear()
            try:
                await self.round()
            except Exception:
                log.exception("rounds.round_failed", rounds=self.name)
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.every):
                    await self._wake.wait()
