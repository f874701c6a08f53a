"""Statistics computed as the trade reads them (DESIGN.md, "Metrics, defined once")."""

from datetime import UTC, datetime, timedelta

from contactcenter.reports.occupancy import handling_intervals, summarise_occupancy
from contactcenter.reports.stats import Row, summarise
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
    # 1 of the 3 decided answered within 60 s; the call waiting 30 s is not decided yet.
    assert (voice["service_level"], voice["undecided"]) == (round(1 / 3, 4), 1)
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
    assert email["service_level_target"] == {
        "seconds": 3600.0,
        "percent": None,
        "measure": "first_response",
    }


def test_short_abandons_are_left_out_only_when_the_setting_says_so() -> None:
    rows = [  # transactional chat: 80% within 60 s in the default policy
        Row("transactional", "chat", "closed", at(600), at(590), None, at(300)),
        Row("transactional", "chat", "abandoned", at(500), None, None, at(497)),  # 3 s
        Row("transactional", "chat", "abandoned", at(400), None, None, at(380)),  # 20 s
    ]
    (every,) = summarise(rows, load_policy(), NOW, timedelta(minutes=30))
    assert (every["offered"], every["abandoned"], every["short_abandoned"]) == (3, 2, 0)
    assert every["service_level"] == round(1 / 3, 4)
    assert every["short_abandons_excluded_under_seconds"] is None
    (some,) = summarise(rows, load_policy(), NOW, timedelta(minutes=30), short_abandon=5)
    assert (some["offered"], some["abandoned"], some["short_abandoned"]) == (2, 1, 1)
    assert (some["service_level"], some["abandonment_rate"]) == (0.5, 0.5)
    assert some["short_abandons_excluded_under_seconds"] == 5


def test_occupancy_counts_concurrent_work_once_and_idle_only_while_available() -> None:
    start, end = 0.0, 1000.0
    presence = {
        1: [(-50.0, "available"), (600.0, "away"), (800.0, "available")],  # came in available
        2: [(100.0, "available"), (200.0, "offline")],  # never handled anything
        3: [(-10.0, "away")],  # away all the time: neither handling nor idle
    }
    events = [  # two chats at once for agent 1, then a call transferred from 1 to 2
        (10, "active", 1, 100.0),
        (10, "wrap_up", None, 300.0),
        (10, "closed", None, 310.0),
        (11, "active", 1, 200.0),
        (11, "closed", None, 400.0),
        (12, "active", 1, 900.0),
        (12, "transferred", None, 950.0),
        (12, "queued", None, 950.0),
        (12, "offered", 2, 951.0),
        (12, "active", 2, 960.0),
    ]
    handling = handling_intervals(events, start, end)
    assert handling == {1: [(100.0, 400.0), (900.0, 950.0)], 2: [(960.0, 1000.0)]}
    summary = summarise_occupancy(presence, handling, start, end)
    agents = {a["agent_id"]: a for a in summary["by_agent"]}
    # Agent 1: available 0-600 and 800-1000 (800 s), handling 350 s of it.
    assert agents[1]["handling_seconds"] == 350.0
    assert agents[1]["available_idle_seconds"] == 450.0
    assert agents[2] == {
        "agent_id": 2,
        "handling_seconds": 40.0,
        "available_idle_seconds": 100.0,
        "occupancy": round(40 / 140, 4),
    }
    assert 3 not in agents
    assert summary["occupancy"] == round(390 / (390 + 550), 4)
