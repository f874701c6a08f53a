"""Where a customer stands: lifecycle stages moved by purchases, and by their absence.

    prospect → first_purchase → repeat → loyal;  any of those → lapsed → won_back → repeat …

Pure: the order records (`contactcenter/customers/orders.py`) give the counts and the time, the
lapsed sweep gives the last order's time; these functions say whether the stage changes and why.
A tier is never changed here: the tier review only suggests one (`suggested_tier`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum


class Stage(StrEnum):
    """The stages; the same values as `contactcenter.model.LifecycleStage` (a test holds them
    equal: this package imports nothing of the service)."""

    PROSPECT = "prospect"
    FIRST_PURCHASE = "first_purchase"
    REPEAT = "repeat"
    LOYAL = "loyal"
    LAPSED = "lapsed"
    WON_BACK = "won_back"


# Stages of a customer who has bought: these lapse after a long enough silence.
BUYING = frozenset({Stage.FIRST_PURCHASE, Stage.REPEAT, Stage.LOYAL, Stage.WON_BACK})


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """Loyal after `loyal_orders` orders, or orders worth `loyal_amount` (None: by count
    only), within `loyal_months`; lapsed after `lapsed_after_days` without an order."""

    loyal_orders: int = 5
    loyal_amount: Decimal | None = Decimal("5000")
    loyal_months: int = 12
    lapsed_after_days: int = 365
    currency: str = "USD"

    def loyal_since(self, now: datetime) -> datetime:
        """The start of the window the loyalty rule counts orders in."""
        return now - timedelta(days=round(self.loyal_months * 365 / 12))

    def lapse_cutoff(self, now: datetime) -> datetime:
        """Customers whose last order is older than this have lapsed."""
        return now - timedelta(days=self.lapsed_after_days)


@dataclass(frozen=True, slots=True)
class Purchases:
    """What the stage rules read of a customer's orders, the new one included: all orders ever,
    and the count and value of those within the loyalty window."""

    orders: int
    recent_orders: int
    recent_amount: Decimal


@dataclass(frozen=True, slots=True)
class StageChange:
    to: Stage
    reason: str


def after_order(
    stage: Stage | None,
    purchases: Purchases,
    ordered_at: datetime,
    now: datetime,
    policy: LifecyclePolicy,
) -> StageChange | None:
    """The stage after an order is recorded, or None when it stays. An order dated before the
    lapse cutoff (history reported late) counts towards first purchase and repeat, but wins
    nobody back and makes nobody loyal on its own."""
    current = ordered_at > policy.lapse_cutoff(now)
    if stage is Stage.LAPSED:
        return StageChange(Stage.WON_BACK, "ordered again after lapsing") if current else None
    if current and stage is not Stage.LOYAL and _loyal(purchases, policy):
        return StageChange(Stage.LOYAL, _loyal_reason(purchases, policy))
    if stage in (None, Stage.PROSPECT):
        if purchases.orders == 1:
            return StageChange(Stage.FIRST_PURCHASE, "first order")
        return StageChange(Stage.REPEAT, f"{purchases.orders} orders")
    if stage is Stage.FIRST_PURCHASE and purchases.orders >= 2:
        return StageChange(Stage.REPEAT, "second order")
    if stage is Stage.WON_BACK and current:
        return StageChange(Stage.REPEAT, "ordered again after being won back")
    return None


def after_silence(
    stage: Stage | None, last_order_at: datetime | None, now: datetime, policy: LifecyclePolicy
) -> StageChange | None:
    """LAPSED for a buying customer whose last order is older than the policy allows."""
    if stage not in BUYING or last_order_at is None:
        return None
    if last_order_at > policy.lapse_cutoff(now):
        return None
    return StageChange(Stage.LAPSED, f"no order for {policy.lapsed_after_days} days")


def _loyal(purchases: Purchases, policy: LifecyclePolicy) -> bool:
    if purchases.recent_orders >= policy.loyal_orders:
        return True
    return policy.loyal_amount is not None and purchases.recent_amount >= policy.loyal_amount


def _loyal_reason(purchases: Purchases, policy: LifecyclePolicy) -> str:
    window = f"within {policy.loyal_months} months"
    if purchases.recent_orders >= policy.loyal_orders:
        return f"{purchases.recent_orders} orders {window}"
    return f"orders worth {purchases.recent_amount:.2f} {policy.currency} {window}"


# -- the tier review ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TierReviewPolicy:
    """The value of a customer's orders over `months` that suggests each tier: at least
    `key_account` suggests key_account, at least `relationship` relationship, less
    transactional."""

    months: int = 12
    key_account: Decimal = Decimal("100000")
    relationship: Decimal = Decimal("10000")

    def since(self, now: datetime) -> datetime:
        return now - timedelta(days=round(self.months * 365 / 12))


def suggested_tier(value: Decimal, policy: TierReviewPolicy) -> str:
    """The tier a customer's recent order value suggests (a tier's value, as stored)."""
    if value >= policy.key_account:
        return "key_account"
    if value >= policy.relationship:
        return "relationship"
    return "transactional"
