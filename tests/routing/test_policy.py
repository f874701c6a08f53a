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
    (POLICY.replace("priority: 50", "priority: lots"),
     ":10: tiers.relationship.priority: must be a number, not 'lots'"),
    (POLICY.replace("{group: senior, min_level: 2, timeout: 60}", "{group: seniors, timeout: 60}"),
     ":20: rules[1].targets[0].group: unknown group 'seniors'"),
    (POLICY.replace("- {group: key, timeout: 60}", "- {group: key}"),
     ":16: rules[0].targets[1]: timeout is required on every target but the last"),
    (POLICY.replace("missed_before_away: 2", "missed_before_away: 2\n  ring: 3"),
     ":6: offers.ring: unknown field"),
    (POLICY.replace("voice: {percent: 90, seconds: 20}", "voice: {seconds: 20}"),
     ":9: tiers.key_account.sla.voice: percent is required for live channels"),
    (POLICY + "  - match: {tier: x}\n    targets: [{group: general}]\n",
     "the last rule must have no match"),
    (POLICY.replace("{agent: account_manager, timeout: 30}", "{agent: am, group: key}"),
     "give either agent or group"),
    ("groups: [a]\ntiers: {t: {priority: 1}}\nrules:\n  - targets: [{agent: x}]\n",
     "the last target must be a group"),
    ("groups: [a\n", "not valid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_policies_name_file_line_and_field(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(text, "p.yaml")
    assert str(error.value).startswith("p.yaml")
    assert message in str(error.value)


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path / "nope.yaml")
