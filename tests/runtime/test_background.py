"""The two helpers for background work: rounds (a loop that must stop when asked, even when a
round swallows the cancel) and batches (items handed in one at a time, done many at a time)."""

from __future__ import annotations

import asyncio

import pytest

from contactcenter.runtime.batches import Batches
from contactcenter.runtime.rounds import Rounds


async def test_rounds_stop_even_when_a_round_swallows_the_cancel() -> None:
    started = asyncio.Event()
    rounds_run = 0

    async def stubborn_round() -> None:
        nonlocal rounds_run
        rounds_run += 1
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:  # as a library cut half-way may do
            return

    rounds = Rounds(name="stubborn", round_=stubborn_round, every=0.01)
    rounds.start()
    await started.wait()
    async with asyncio.timeout(2):
        await rounds.stop()
    assert rounds_run == 1


async def test_items_that_arrive_together_are_done_together() -> None:
    seen: list[list[int]] = []

    async def double(items: list[int]) -> dict[int, int]:
        seen.append(items)
        await asyncio.sleep(0.01)
        return {item: item * 2 for item in items}

    batches: Batches[int, int] = Batches(double)
    first = asyncio.create_task(batches.submit(0))
    await asyncio.sleep(0.001)  # the worker has taken it and is busy
    results = await asyncio.gather(first, *(batches.submit(n) for n in range(1, 10)))
    assert results == [n * 2 for n in range(10)]
    assert seen == [[0], list(range(1, 10))]  # the nine that came meanwhile in one batch


async def test_a_bad_item_fails_alone_and_a_missing_result_is_an_error() -> None:
    async def picky(items: list[int]) -> dict[int, int]:
        if 13 in items:
            raise ValueError("13 is unlucky")
        return {item: item for item in items if item != 7}

    batches: Batches[int, int] = Batches(picky)
    done = await asyncio.gather(*(batches.submit(n) for n in (1, 13, 7, 2)), return_exceptions=True)
    assert done[0] == 1 and done[3] == 2
    assert isinstance(done[1], ValueError)
    assert isinstance(done[2], RuntimeError) and "no result for 7" in str(done[2])
    with pytest.raises(ValueError):
        await batches.submit(13)


async def test_a_wake_during_a_round_runs_the_next_one_at_once() -> None:
    """A mail put in the outbox while a round delivers others must not wait a whole period."""
    started: list[int] = []
    release, second = asyncio.Event(), asyncio.Event()

    async def round_() -> None:
        started.append(len(started))
        if len(started) == 1:
            await release.wait()  # the first round is busy when the wake comes
        else:
            second.set()

    rounds = Rounds(name="test", round_=round_, every=3600)
    rounds.start()
    await asyncio.sleep(0.01)
    rounds.wake()
    release.set()
    async with asyncio.timeout(1):
        await second.wait()
    await rounds.stop()
    assert started == [0, 1]
