"""How fast one client may go: at most `limit` events in any `window` seconds per key (a client
address, a connection), counted in a sliding window. Pure: the time is passed in.

The SMTP receiver holds senders to messages a minute with it; the chat channel holds visitors
to messages a few seconds, per connection and per address.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable


class Pace:
    """Recent events per key; `admit` counts one and says whether it is within the limit."""

    def __init__(self, *, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a pace needs a limit of at least 1 and a window above 0")
        self.limit = limit
        self.window = window
        self._stamps: dict[Hashable, deque[float]] = defaultdict(deque)

    def admit(self, key: Hashable, now: float) -> bool:
        """Count an event of `key` at `now`; False (and not counted) when it is one too many
        for the last `window` seconds."""
        stamps = self._stamps[key]
        while stamps and now - stamps[0] >= self.window:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return False
        stamps.append(now)
        return True

    def forget(self, key: Hashable) -> None:
        """Drop a key's history (its connection closed), so that keys do not pile up."""
        self._stamps.pop(key, None)
