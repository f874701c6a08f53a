"""The dashboard's service-level state of waiting work agrees with the routing engine's clocks:
an email's wait counts in business hours only."""

from datetime import datetime
from zoneinfo import ZoneInfo

from contactcenter.reports.board import sla_state
from routing.policy import DEFAULT_POLICY, parse_policy

BERLIN = ZoneInfo("Europe/Berlin")


def test_an_email_waiting_over_the_weekend_is_within_its_target_on_monday_morning() -> None:
    text = DEFAULT_POLICY.read_text(encoding="utf-8")  # transactional email: 86,400 s
    policy = parse_policy(
        text + '\nhours:\n  timezone: Europe/Berlin\n  general: {mon-fri: "09:00-17:00"}\n'
    )
    queued = datetime(2026, 12, 4, 16, 0, tzinfo=BERLIN)  # Friday
    now = datetime(2026, 12, 7, 9, 30, tzinfo=BERLIN)  # Monday
    work = {
        "tier": "relationship",  # email within 14,400 s (4 business hours)
        "channel": "email",
        "queued_at": queued.isoformat(),
        "waited_seconds": (now - queued).total_seconds(),  # 65.5 hours on the wall
        "waits_for": ["general", "senior"],
    }
    state = sla_state(policy, work, now)
    assert state == {"sla_seconds": 14400.0, "sla_state": "ok", "counted_seconds": 5400.0}
    chat = work | {"channel": "chat"}  # live channels count every second
    assert sla_state(policy, chat, now)["sla_state"] == "breached"
    senior = work | {"waits_for": ["senior", "general"]}  # a 24/7 team first: no pause
    assert sla_state(policy, senior, now)["sla_state"] == "breached"
