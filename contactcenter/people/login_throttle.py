"""How often a client may get a password wrong: failed logins counted per client address and
per username, with a growing wait once a key has used its free tries. Pure: the time is passed
in.

Per username so that one account cannot be guessed at from many addresses; per address so that
one client cannot walk through many usernames. A username gets 5 tries without waiting and an
address 20 (people behind one proxy share it); the last of them and each failure after it
doubles the wait, from 1 s to at most 15 minutes. A try during a wait is refused without
looking at the password (no hashing spent on it), the right password included, so that a
guesser learns nothing then. A success clears both keys. Keys are forgotten a day after their
last failure, and at most `most_keys` are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

DAY = 86_400.0


@dataclass(slots=True)
class _Failures:
    count: int = 0
    until: float = 0.0  # no try before this
    last: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        free_per_user: int = 5,
        free_per_address: int = 20,
        first_wait: float = 1.0,
        longest_wait: float = 900.0,
        most_keys: int = 100_000,
    ) -> None:
        self.free = {"user": free_per_user, "address": free_per_address}
        self.first_wait, self.longest_wait, self.most_keys = first_wait, longest_wait, most_keys
        self._keys: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    def wait(self, address: str, username: str, now: float) -> float:
        """Seconds before this address may try this username again (0: now)."""
        keys = (("address", address), ("user", username.lower()))
        return max([0.0, *(self._keys[k].until - now for k in keys if k in self._keys)])

    def failed(self, address: str, username: str, now: float) -> float:
        """Count a wrong password; returns the wait it brings (0 while tries are free)."""
        waits = []
        for kind, value in (("address", address), ("user", username.lower())):
            key = (kind, value)
            entry = self._keys.pop(key, None) or _Failures()
            if now - entry.last > DAY:
                entry = _Failures()
            entry.count += 1
            entry.last = now
            over = entry.count - self.free[kind] + 1  # the last free try starts the waits
            if over > 0:
                entry.until = now + min(self.longest_wait, self.first_wait * 2 ** min(over - 1, 30))
            self._keys[key] = entry  # newest last: the oldest are forgotten first
            waits.append(max(0.0, entry.until - now))
        while len(self._keys) > self.most_keys:
            self._keys.popitem(last=False)
        return max(waits)

    def succeeded(self, address: str, username: str) -> None:
        self._keys.pop(("address", address), None)
        self._keys.pop(("user", username.lower()), None)
