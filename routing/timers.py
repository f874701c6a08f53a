"""The engine's timers, taken earliest first (ties: the one set first).

Nearly every timer is "a fixed time after now" (an offer's timeout on its channel, a target's
timeout, an SLA's warning after queueing), and the engine's clock only moves forward, so the
timers of one fixed time arrive already in order. Each gets a first-in first-out line, O(1) to add
to and to take from; a small heap holds one entry per line, its head. A timer that would land out of
order in its line (work restored with the times it had before a restart) goes to a heap of its own.

One heap of every timer gave the same order, but with hundreds of thousands of timers its sifting
cost more than any other step of an assignment.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Hashable

# When, a sequence number (unique, so that no two timers compare further), what, the item's id,
# and the version of the item (or its step) the timer was set for.
Timer = tuple[float, int, str, str, int]


class Timers:
    def __init__(self) -> None:
        self._lines: dict[Hashable, deque[Timer]] = {}
        # Each line's head: when, seq, the line itself and its name.
        self._heads: list[tuple[float, int, deque[Timer], Hashable]] = []
        self._late: list[Timer] = []  # timers set out of order, as a heap
        self._seq = itertools.count().__next__

    def __len__(self) -> int:
        return sum(map(len, self._lines.values())) + len(self._late)

    def add(self, at: float, kind: str, item_id: str, version: int, line: Hashable) -> None:
        """Set a timer; `line` names its fixed time (timers of one line come in order)."""
        timer = (at, self._seq(), kind, item_id, version)
        queue = self._lines.get(line)
        if queue is None:
            queue = self._lines[line] = deque((timer,))
            heapq.heappush(self._heads, (at, timer[1], queue, line))
        elif at >= queue[-1][0]:
            queue.append(timer)
        else:
            heapq.heappush(self._late, timer)

    def next_at(self) -> float | None:
        """When the earliest timer is due."""
        heads, late = self._heads, self._late
        if heads and (not late or heads[0][0] <= late[0][0]):
            return heads[0][0]
        return late[0][0] if late else None

    def pop_due(self, now: float) -> Timer | None:
        """The earliest timer if it is due by `now` (and it is taken), else None."""
        heads, late = self._heads, self._late
        if heads:
            at, seq, queue, line = heads[0]
            if not late or at < late[0][0] or (at == late[0][0] and seq < late[0][1]):
                if at > now:
                    return None
                timer = queue.popleft()
                if queue:
                    head = queue[0]
                    heapq.heapreplace(heads, (head[0], head[1], queue, line))
                else:  # lines come and go with the durations in use
                    heapq.heappop(heads)
                    del self._lines[line]
                return timer
        if late and late[0][0] <= now:
            return heapq.heappop(late)
        return None
