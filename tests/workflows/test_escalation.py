"""Which escalation steps fall due, and the policy section that lists them."""

import pytest

from workflows.escalation import Action, Step, due_steps
from workflows.relationship_policy import RelationshipPolicyError, parse_relationship_policy

STEPS = (
    Step("warn", 0.8, Action.NOTIFY),
    Step("jump", 1.0, Action.RAISE_PRIORITY, tiers=frozenset({"key_account"}), points=500),
    Step("senior", 1.5, Action.REASSIGN, channels=frozenset({"email"}), group="senior"),
)


def _due(counted: float, tier: str = "key_account", channel: str = "email", taken=()):  # type: ignore[no-untyped-def]
    found = due_steps(
        STEPS,
        tier=tier,
        channel=channel,
        counted_seconds=counted,
        target_seconds=100,
        taken=set(taken),
    )
    return [step.name for step in found]


def test_steps_fall_due_at_their_share_once_each_for_their_tiers_and_channels() -> None:
    assert _due(79) == []
    assert _due(80) == ["warn"]
    assert _due(100, taken=["warn"]) == ["jump"]
    assert _due(160) == ["warn", "jump", "senior"]  # found late: all of them, in order
    assert _due(160, tier="transactional", channel="chat") == ["warn"]
    assert _due(160, taken=["warn", "jump", "senior"]) == []


def test_the_escalation_section() -> None:
    policy = parse_relationship_policy(
        "escalation:\n"
        "  notify_mail: [Lead@Example.com]\n"
        "  steps:\n"
        "    - {name: warn, at: 80%, do: notify}\n"
        "    - {name: jump, at: 100%, tiers: [key_account], do: raise_priority, points: 300}\n"
        "    - {name: move, at: 150%, channels: [email], do: reassign, group: senior}\n"
    ).escalation
    assert policy.notify_mail == ("lead@example.com",)
    assert [(s.name, s.share, s.action) for s in policy.steps] == [
        ("warn", 0.8, Action.NOTIFY),
        ("jump", 1.0, Action.RAISE_PRIORITY),
        ("move", 1.5, Action.REASSIGN),
    ]
    assert policy.steps[1].points == 300 and policy.steps[2].group == "senior"


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("{name: a, at: 80, do: notify}", "steps[0].at: a share of the target, as in 80%"),
        ("{name: a, at: 80%, do: shout}", "steps[0].do: one of notify"),
        ("{name: a, at: 80%, do: raise_priority}", "raise_priority needs points"),
        ("{name: a, at: 80%, do: reassign}", "reassign needs the group"),
        ("{name: a, at: 80%, tiers: [gold], do: notify}", "unknown tier 'gold'"),
        ("{at: 80%, do: notify}", "name is required"),
    ],
)
def test_a_wrong_step_names_the_field(step: str, message: str) -> None:
    with pytest.raises(RelationshipPolicyError) as raised:
        parse_relationship_policy(f"escalation:\n  steps:\n    - {step}\n")
    assert message in str(raised.value)
