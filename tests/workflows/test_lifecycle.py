"""Lifecycle stages moved by orders and by silence, the tier a value suggests, and the policy
file that sets them (errors name file, line and field)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contactcenter.model import LifecycleStage
from workflows.lifecycle import (
    LifecyclePolicy,
    Purchases,
    Stage,
    TierReviewPolicy,
    after_order,
    after_silence,
    suggested_tier,
)
from workflows.relationship_policy import (
    RelationshipPolicyError,
    load_relationship_policy,
    parse_relationship_policy,
)

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
POLICY = LifecyclePolicy()  # loyal: 5 orders or 5000 within 12 months; lapsed after 365 days


def bought(orders: int, recent: int | None = None, amount: str = "100") -> Purchases:
    return Purchases(orders, orders if recent is None else recent, Decimal(amount))


def test_the_stages_are_the_service_s_own() -> None:
    assert [s.value for s in Stage] == [s.value for s in LifecycleStage]


def test_orders_move_a_prospect_through_first_purchase_and_repeat_to_loyal() -> None:
    stage = None
    seen = []
    for n in range(1, 7):
        change = after_order(stage, bought(n), NOW, NOW, POLICY)
        if change is not None:
            stage = change.to
            seen.append((n, change.to, change.reason))
    assert seen == [
        (1, Stage.FIRST_PURCHASE, "first order"),
        (2, Stage.REPEAT, "second order"),
        (5, Stage.LOYAL, "5 orders within 12 months"),
    ]


def test_one_large_order_makes_a_customer_loyal_by_value() -> None:
    change = after_order(Stage.PROSPECT, bought(1, amount="5000.00"), NOW, NOW, POLICY)
    assert change is not None and change.to is Stage.LOYAL
    assert change.reason == "orders worth 5000.00 USD within 12 months"
    by_count_only = LifecyclePolicy(loyal_amount=None)
    change = after_order(Stage.PROSPECT, bought(1, amount="90000"), NOW, NOW, by_count_only)
    assert change is not None and change.to is Stage.FIRST_PURCHASE


def test_silence_lapses_a_buyer_and_an_order_wins_them_back() -> None:
    last = NOW - timedelta(days=365)
    for stage in (Stage.FIRST_PURCHASE, Stage.REPEAT, Stage.LOYAL, Stage.WON_BACK):
        change = after_silence(stage, last, NOW, POLICY)
        assert change is not None and change.to is Stage.LAPSED
        assert change.reason == "no order for 365 days"
    assert after_silence(Stage.LOYAL, last + timedelta(seconds=1), NOW, POLICY) is None
    assert after_silence(Stage.PROSPECT, last, NOW, POLICY) is None  # never bought
    assert after_silence(Stage.LAPSED, last, NOW, POLICY) is None  # lapsed already
    assert after_silence(None, None, NOW, POLICY) is None
    back = after_order(Stage.LAPSED, bought(7, recent=1), NOW, NOW, POLICY)
    assert back is not None and back.to is Stage.WON_BACK
    again = after_order(Stage.WON_BACK, bought(8, recent=2), NOW, NOW, POLICY)
    assert again is not None and again.to is Stage.REPEAT


def test_an_order_reported_late_wins_nobody_back_and_makes_nobody_loyal() -> None:
    old = NOW - timedelta(days=400)
    assert after_order(Stage.LAPSED, bought(3, recent=0), old, NOW, POLICY) is None
    assert after_order(Stage.REPEAT, bought(9, recent=9), old, NOW, POLICY) is None
    first = after_order(None, bought(1, recent=0), old, NOW, POLICY)
    assert first is not None and first.to is Stage.FIRST_PURCHASE


def test_loyal_stays_loyal_while_ordering() -> None:
    assert after_order(Stage.LOYAL, bought(2, recent=1), NOW, NOW, POLICY) is None


def test_the_tier_a_value_suggests() -> None:
    policy = TierReviewPolicy()
    assert suggested_tier(Decimal("99999.99"), policy) == "relationship"
    assert suggested_tier(Decimal("100000"), policy) == "key_account"
    assert suggested_tier(Decimal("9999.99"), policy) == "transactional"
    assert suggested_tier(Decimal("0"), policy) == "transactional"


def test_the_shipped_policy_reads() -> None:
    policy = load_relationship_policy()
    assert policy.lifecycle.loyal_orders == 5 and policy.lifecycle.currency == "USD"
    assert policy.tier_review.key_account == Decimal("100000")


def test_a_policy_may_give_only_what_it_changes() -> None:
    policy = parse_relationship_policy(
        "lifecycle:\n  loyal: {amount: null}\n  lapsed_after_days: 90\n"
    )
    assert policy.lifecycle.loyal_amount is None and policy.lifecycle.lapsed_after_days == 90
    assert policy.lifecycle.loyal_orders == 5 and policy.tier_review.months == 12


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lifecycle: {loyal: {orders: 0}}\n", "<policy>:1: lifecycle.loyal.orders: must be"),
        ("lifecycle:\n  lapsed_after_days: 1.5\n", "<policy>:2: lifecycle.lapsed_after_days: "),
        ("lifecycle: {currency: dollars}\n", "lifecycle.currency: must be a three-letter"),
        ("lifecycle: {loyal: {amount: 10.001}}\n", "lifecycle.loyal.amount: must have at most"),
        ("tier_review:\n  relationship: 5\n  key_account: 1\n", "<policy>:2: tier_review.relati"),
        ("webhooks: {}\n", "<policy>:1: policy.webhooks: unknown field"),
        ("lifecycle: [1]\n", "lifecycle: must be a mapping"),
    ],
)
def test_a_wrong_policy_names_line_and_field(text: str, message: str) -> None:
    with pytest.raises(RelationshipPolicyError) as raised:
        parse_relationship_policy(text)
    assert message in str(raised.value)
