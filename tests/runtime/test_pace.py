"""The sliding-window pace (pure): the limit per key and window, keys apart, the window sliding."""

from __future__ import annotations

import pytest

from contactcenter.runtime.pace import Pace


def test_a_key_gets_its_limit_per_window_and_no_more() -> None:
    pace = Pace(limit=3, window=10.0)
    assert [pace.admit("a", t) for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, True, False]
    assert pace.admit("b", 3.0)  # another key is counted apart
    assert not pace.admit("a", 9.9)  # a refused event is not counted, the first still is
    assert pace.admit("a", 10.0)  # the first has left the window
    assert not pace.admit("a", 10.5)
    assert pace.admit("a", 11.0)


def test_a_forgotten_key_starts_again_and_bad_limits_are_refused() -> None:
    pace = Pace(limit=1, window=60.0)
    assert pace.admit(("10.0.0.1", 5), 0.0) and not pace.admit(("10.0.0.1", 5), 1.0)
    pace.forget(("10.0.0.1", 5))
    assert pace.admit(("10.0.0.1", 5), 2.0)
    with pytest.raises(ValueError, match="limit"):
        Pace(limit=0, window=1.0)
