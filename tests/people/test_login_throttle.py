"""The login throttle (pure): free tries per username and per address, then waits that double
up to a limit, cleared by a success; keys forgotten after a day."""

from contactcenter.people.login_throttle import LoginThrottle


def test_free_tries_then_doubling_waits_up_to_the_longest() -> None:
    throttle = LoginThrottle(free_per_user=3, free_per_address=100, longest_wait=10.0)
    waits = [throttle.failed("10.0.0.1", "ann", float(t * 100)) for t in range(8)]
    assert waits == [0, 0, 1, 2, 4, 8, 10, 10]
    assert throttle.wait("10.0.0.9", "ANN", 700.5) == 9.5  # any address, any case
    assert throttle.wait("10.0.0.1", "bob", 700.5) == 0


def test_an_address_walking_through_usernames_is_held_too() -> None:
    throttle = LoginThrottle(free_per_user=5, free_per_address=2)
    for n in range(2):
        throttle.failed("10.0.0.1", f"user{n}", 0.0)
    assert throttle.wait("10.0.0.1", "user9", 0.5) == 0.5
    assert throttle.wait("10.0.0.2", "user9", 0.5) == 0


def test_a_success_clears_and_a_day_forgets() -> None:
    throttle = LoginThrottle(free_per_user=2, free_per_address=2)
    throttle.failed("a", "ann", 0.0)
    assert throttle.failed("a", "ann", 1.0) == 1.0
    throttle.succeeded("a", "ann")
    assert throttle.wait("a", "ann", 1.0) == 0
    throttle.failed("a", "ann", 2.0)
    assert throttle.failed("a", "ann", 90_000.0) == 0  # a day later the count starts again


def test_keys_are_bounded_and_the_oldest_forgotten() -> None:
    throttle = LoginThrottle(free_per_user=1, free_per_address=1, most_keys=10)
    for n in range(100):
        throttle.failed(f"10.0.0.{n}", f"user{n}", float(n))
    assert throttle.wait("10.0.0.0", "user0", 99.0) == 0
    assert throttle.wait("10.0.0.99", "user99", 99.0) == 1.0
