"""Statistics computed as the trade reads them (DESIGN.md, "Metrics, defined once")."""

from datetime import UTC, datetime, timedelta

from contactcenter.stats import Row, summarise
from routing.policy import load_policy

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def at(seconds_ago: float) -> datetime:
    return NOW - timedelta(seconds=seconds_ago)


def test_service_level_counts_abandons_against_it_and_asa_aht_follow_their_definitions() -> None:
    # Transactional voice: 80% within 60 s in the default policy.
    rows = [
        Row("transactional", "voice", "closed", at(600), at(590), None, at(290)),  # 10 s, 300 s
        Row("transactional", "voice", "closed", at(500), at(400), None, at(300)),  # 100 s, 100 s
        Row("transactional", "voice", "abandoned", at(450), None, None, at(440)),
        Row("transactional", "voice", "queued", at(30), None, None, None),
        Row("transactional", "voice", "closed", at(7200), at(7190), None, at(7000)),  # too old
    ]
    (voice,) = summarise(rows, load_policy(), NOW, timedelta(minutes=30))
    assert (voice["offered"], voice["answered"], voice["abandoned"]) == (4, 2, 1)
    assert voice["service_level"] == 0.25  # 1 of 4 offered answered within 60 s
    assert voice["asa_seconds"] == 55.0  # (10 + 100) / 2
    assert voice["aht_seconds"] == 200.0  # (300 + 100) / 2
    assert voice["abandonment_rate"] == 0.25
    assert (voice["waiting"], voice["longest_wait_seconds"]) == (1, 30.0)
    assert voice["service_level_target"]["measure"] == "answered"


def test_email_service_level_is_first_response_within_the_threshold() -> None:
    rows = [  # key accounts: email first response within 3600 s
        Row("key_account", "email", "closed", at(9000), at(8990), at(8000), at(7000)),
        Row("key_account", "email", "active", at(5000), at(4990), None, None),
    ]
    (email,) = summarise(rows, load_policy(), NOW, timedelta(hours=3))
    assert email["service_level"] == 0.5
    assert email["service_level_target"] == {"seconds": 3600.0, "percent": None,
                                             "measure": "first_response"}  # fmt: skip
