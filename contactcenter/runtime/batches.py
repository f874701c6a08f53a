"""Work handed in one item at a time and done many at a time (group commit).

Callers `submit` an item and wait for its own result. One worker takes every item waiting and
hands them to `handle` together; items that arrive meanwhile wait for the next batch. Under load
batches grow by themselves, and one statement does the work of many; alone, an item is a batch
of one. A batch that fails is done again item by item, so that one bad item fails by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Batches(Generic[K, V]):
    def __init__(
        self,
        handle: Callable[[list[K]], Awaitable[dict[K, V]]],
        *,
        most: int = 100,
        name: str = "batches",
    ) -> None:
        self.handle = handle
        self.most = most
        self.name = name
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: K) -> V:
        done: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name=self.name)
        # Shielded: a caller that stops waiting leaves its item in the batch, done all the same.
        return await asyncio.shield(done)

    async def _work(self) -> None:
        while self._waiting:
            batch = self._waiting[: self.most]
            del self._waiting[: self.most]
            await self._do(batch)

    async def _do(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            results = await self.handle([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                for one in batch:
                    await self._do([one])
                return
            if not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        for item, done in batch:
            if done.done():
                continue
            if item in results:
                done.set_result(results[item])
            else:  # a fault of `handle`; the caller hears of it rather than waiting for ever
                done.set_exception(RuntimeError(f"{self.name}: no result for {item!r}"))
