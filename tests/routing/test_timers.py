"""The engine's timers: earliest first, ties in the order set, whatever line they are on."""

import heapq
import random

from hypothesis import given
from hypothesis import strategies as st

from routing.timers import Timers


def drain(timers: Timers, now: float) -> list[tuple[float, str]]:
    due = []
    while (timer := timers.pop_due(now)) is not None:
        due.append((timer[0], timer[3]))
    return due


def test_lines_and_late_timers_come_out_in_order() -> None:
    timers = Timers()
    timers.add(30, "offer", "a", 0, 20)  # set at 10 with 20 s
    timers.add(70, "overflow", "b", 0, 60)  # set at 10 with 60 s
    timers.add(31, "offer", "c", 0, 20)
    timers.add(5, "overflow", "d", 0, 60)  # restored from before a restart: out of order
    timers.add(31, "overflow", "e", 0, ("late", 1))
    assert len(timers) == 5 and timers.next_at() == 5
    assert drain(timers, 30.5) == [(5, "d"), (30, "a")]
    assert timers.next_at() == 31
    assert drain(timers, 100) == [(31, "c"), (31, "e"), (70, "b")]
    assert timers.next_at() is None and len(timers) == 0


@given(
    st.lists(st.tuples(st.floats(0, 100), st.sampled_from([5.0, 20.0, 60.0])), max_size=60),
    st.randoms(),
)
def test_same_order_as_one_heap(steps: list[tuple[float, float]], rng: random.Random) -> None:
    """Set at times that mostly move forward and taken at random moments, timers come out as
    from one heap ordered by (due, order set)."""
    timers, heap, now = Timers(), [], 0.0
    for n, (advance, duration) in enumerate(steps):
        now += advance if rng.random() < 0.8 else -advance  # sometimes the past
        timers.add(now + duration, "t", str(n), 0, duration)
        heapq.heappush(heap, (now + duration, n))
        if rng.random() < 0.3 or n == len(steps) - 1:
            until = now + rng.uniform(0, 50) if n < len(steps) - 1 else float("inf")
            expected = []
            while heap and heap[0][0] <= until:
                at, m = heapq.heappop(heap)
                expected.append((at, str(m)))
            assert drain(timers, until) == expected
            assert timers.next_at() == (heap[0][0] if heap else None)
