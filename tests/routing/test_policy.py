"""Loading and validating routing policies: errors name the file, the line and the field."""

from pathlib import Path

import pytest

from routing.policy import PolicyError, load_policy, parse_policy
from routing.types import WorkItem

from .conftest import POLICY


def test_the_default_policy_loads_and_routes_every_tier() -> None:
    policy = load_policy()
    for tier in ("key_account", "relationship", "transactional"):
        rule = policy.rule_for(WorkItem("1", "voice", tier, 0.0))
        assert rule.targets[-1].group is not None
    assert policy.priority("key_account") > policy.priority("transactional")


def test_rules_match_on_attributes_in_order(policy) -> None:
    zh = WorkItem("1", "chat", "transactional", 0.0, {"language": "zh"})
    assert policy.rule_for(zh).targets[0].skills == frozenset({"lang:zh"})
    en = WorkItem("2", "chat", "transactional", 0.0, {"language": "en"})
    assert policy.rule_for(en).targets[0].group == "general"
    key = WorkItem("3", "chat", "key_account", 0.0, {"language": "zh"})
    assert policy.rule_for(key).targets[0].agent == "account_manager"


BAD = [
    ("tiers:\n  gold: {priority: high}\n", "groups is required"),
    (
        POLICY.replace("priority: 50", "priority: lots"),
        ":10: tiers.relationship.priority: must be a number, not 'lots'",
    ),
    (
        POLICY.replace(
            "{group: senior, min_level: 2, timeout: 60}", "{group: seniors, timeout: 60}"
        ),
        ":20: rules[1].targets[0].group: unknown group 'seniors'",
    ),
    (
        POLICY.replace("- {group: key, timeout: 60}", "- {group: key}"),
        ":16: rules[0].targets[1]: timeout is required on every target but the last",
    ),
    (
        POLICY.replace("missed_before_away: 2", "missed_before_away: 2\n  ring: 3"),
        ":6: offers.ring: unknown field",
    ),
    (
        POLICY.replace("voice: {percent: 90, seconds: 20}", "voice: {seconds: 20}"),
        ":9: tiers.key_account.sla.voice: percent is required for live channels",
    ),
    (
        POLICY + "  - match: {tier: x}\n    targets: [{group: general}]\n",
        "the last rule must have no match",
    ),
    (
        POLICY.replace("{agent: account_manager, timeout: 30}", "{agent: am, group: key}"),
        "give either agent or group",
    ),
    (
        "groups: [a]\ntiers: {t: {priority: 1}}\nrules:\n  - targets: [{agent: x}]\n",
        "the last target must be a group",
    ),
    ("groups: [a\n", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_policies_name_file_line_and_field(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(text, "p.yaml")
    assert str(error.value).startswith("p.yaml")
    assert message in str(error.value)


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path / "nope.yaml")


HOURS = """
groups: [general, night]
tiers: {t: {priority: 1}}
hours:
  timezone: America/New_York
  general: {mon-fri: "08:00-12:00, 13:00-18:00", sat: "09:00-13:00"}
rules:
  - match: {topic: nights}
    targets: [{group: night}]
  - targets: [{group: general}]
"""


def test_opening_hours_per_group_in_its_time_zone() -> None:
    from datetime import UTC, datetime

    from routing.types import WorkItem

    policy = parse_policy(HOURS, "p.yaml")
    day = policy.rule_for(WorkItem("1", "voice", "t", 0.0, {}))
    night = policy.rule_for(WorkItem("2", "voice", "t", 0.0, {"topic": "nights"}))
    # Tuesday 2026-11-24: 14:30 UTC is 09:30 in New York; 17:30 UTC is 12:30, the lunch break.
    assert policy.open_for(day, datetime(2026, 11, 24, 14, 30, tzinfo=UTC))
    assert not policy.open_for(day, datetime(2026, 11, 24, 17, 30, tzinfo=UTC))
    assert not policy.open_for(day, datetime(2026, 11, 29, 15, 0, tzinfo=UTC))  # Sunday
    assert policy.open_for(night, datetime(2026, 11, 29, 15, 0, tzinfo=UTC))  # no hours: open


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('general: {mon-fri: "8-18"}', "hours.general.mon-fri: hours are HH:MM-HH:MM"),
        ('general: {weekdays: "08:00-18:00"}', "hours.general.weekdays: days are mon..sun"),
        ('nobody: {sat: "09:00-13:00"}', "hours.nobody: unknown group 'nobody'"),
        ('general: {sat: "13:00-09:00"}', "13:00-09:00 is not a range within one day"),
    ],
)
def test_bad_opening_hours_name_line_and_field(bad: str, message: str) -> None:
    text = HOURS.replace('general: {mon-fri: "08:00-12:00, 13:00-18:00", sat: "09:00-13:00"}', bad)
    with pytest.raises(PolicyError, match=message):
        parse_policy(text, "p.yaml")
    with pytest.raises(PolicyError, match="unknown time zone 'Mars/Base'"):
        parse_policy(HOURS.replace("America/New_York", "Mars/Base"), "p.yaml")
