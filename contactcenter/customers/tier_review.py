"""The tier review: customers whose recent order value suggests another tier, for a supervisor
to accept (the tier changes, with a timeline event) or dismiss. A tier is never changed silently.

A run computes every customer's value in the database (`INSERT … SELECT` over one range of
customer ids at a time, each range its own transaction), so nothing is held in memory and no
transaction holds the whole table. It replaces the suggestions still open; a suggestion dismissed
in the last `DISMISSED_DAYS` is not made again. Only customers with at least one order are
reviewed: without orders the service knows nothing of their value. It runs daily on the leading
instance, and on demand through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import and_, case, exists, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter import events as ev
from contactcenter.customers.record_events import add_event
from contactcenter.errors import Conflict, NotFound
from contactcenter.model import Tier
from contactcenter.runtime.clock import now
from contactcenter.runtime.rounds import Rounds
from contactcenter.store.db import Database
from contactcenter.store.tables import customers, orders, tier_reviews
from workflows.lifecycle import TierReviewPolicy

log = structlog.get_logger(__name__)
RANGE = 50_000  # customer ids per transaction
DISMISSED_DAYS = 180
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class TierSuggestion:
    id: int
    customer_id: int
    customer_name: str
    current_tier: str
    suggested_tier: str
    value_cents: int
    status: str
    computed_at: datetime
    decided_by_user_id: int | None
    decided_at: datetime | None

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "current_tier": self.current_tier,
            "suggested_tier": self.suggested_tier,
            "value": f"{Decimal(self.value_cents) / 100:.2f}",
            "status": self.status,
            "computed_at": self.computed_at.isoformat(),
            "decided_by_user_id": self.decided_by_user_id,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
        }


@dataclass(frozen=True, slots=True)
class ReviewRun:
    suggested: int
    months: int
    at: datetime


class TierReview:
    def __init__(
        self,
        *,
        db: Database,
        policy: TierReviewPolicy,
        events: ev.EventBus,
        currency: str,
        every: float = DAY,
    ) -> None:
        self.db = db
        self.policy = policy
        self.events = events
        self.currency = currency
        self._rounds = Rounds(name="tier review", round_=self.run, every=every)

    async def lead(self, _db: Database) -> None:
        self._rounds.start()

    async def stand_down(self) -> None:
        await self._rounds.stop()

    async def run(self, at: datetime | None = None) -> ReviewRun:
        """Suggest a tier for every customer whose value says another one than they have."""
        at = at or now()
        async with self.db.begin() as conn:
            await conn.execute(tier_reviews.delete().where(tier_reviews.c.status == "open"))
            top = (await conn.execute(select(func.max(customers.c.id)))).scalar_one() or 0
        suggested = 0
        for low in range(0, top, RANGE):
            async with self.db.begin() as conn:
                suggested += await self._suggest(conn, low, low + RANGE, at)
        log.info("tier_review.run", suggested=suggested, months=self.policy.months)
        return ReviewRun(suggested, self.policy.months, at)

    async def _suggest(self, conn: AsyncConnection, low: int, high: int, at: datetime) -> int:
        """Suggestions for the customers with ids in (low, high]."""
        value = (
            select(orders.c.customer_id, func.sum(orders.c.amount_cents).label("cents"))
            .where(
                orders.c.customer_id > low,
                orders.c.customer_id <= high,
                orders.c.ordered_at >= self.policy.since(at),
            )
            .group_by(orders.c.customer_id)
            .subquery()
        )
        cents = func.coalesce(value.c.cents, 0)
        suggestion = case(
            (cents >= int(self.policy.key_account * 100), literal(Tier.KEY_ACCOUNT.value)),
            (cents >= int(self.policy.relationship * 100), literal(Tier.RELATIONSHIP.value)),
            else_=literal(Tier.TRANSACTIONAL.value),
        )
        dismissed = exists().where(
            tier_reviews.c.customer_id == customers.c.id,
            tier_reviews.c.status == "dismissed",
            tier_reviews.c.suggested_tier == suggestion,
            tier_reviews.c.decided_at >= at - timedelta(days=DISMISSED_DAYS),
        )
        rows = (
            select(
                customers.c.id,
                customers.c.tier,
                suggestion,
                cents,
                literal("open"),
                literal(at, tier_reviews.c.computed_at.type),
            )
            .select_from(customers.outerjoin(value, value.c.customer_id == customers.c.id))
            .where(
                customers.c.id > low,
                customers.c.id <= high,
                customers.c.merged_into_id.is_(None),
                customers.c.last_order_at.is_not(None),
                customers.c.tier != suggestion,
                ~dismissed,
            )
        )
        columns = [
            "customer_id",
            "current_tier",
            "suggested_tier",
            "value_cents",
            "status",
            "computed_at",
        ]
        result = await conn.execute(insert(tier_reviews).from_select(columns, rows))
        return max(result.rowcount, 0)

    async def suggestions(
        self, status: str = "open", after_id: int | None = None, limit: int = 50
    ) -> list[TierSuggestion]:
        """Suggestions in one status, oldest first; `after_id` pages on."""
        stmt = (
            select(tier_reviews, customers.c.name.label("customer_name"))
            .join(customers, customers.c.id == tier_reviews.c.customer_id)
            .where(tier_reviews.c.status == status)
        )
        if after_id is not None:
            stmt = stmt.where(tier_reviews.c.id > after_id)
        stmt = stmt.order_by(tier_reviews.c.id).limit(limit)
        async with self.db.connect() as conn:
            return [_suggestion(row) for row in await conn.execute(stmt)]

    async def accept(self, review_id: int, user_id: int | None) -> TierSuggestion:
        """The customer takes the suggested tier; the timeline says who decided and why."""
        at = now()
        async with self.db.begin() as conn:
            row = await self._decide(conn, review_id, "accepted", user_id, at)
            await conn.execute(
                update(customers)
                .where(customers.c.id == row.customer_id)
                .values(tier=row.suggested_tier, updated_at=at)
            )
            reason = self._reason(row)
            data = {
                "from": row.current_tier,
                "to": row.suggested_tier,
                "reason": reason,
                "review_id": review_id,
                "by_user_id": user_id,
            }
            await add_event(conn, row.customer_id, "tier_changed", data, at)
            decided = await self._one(conn, review_id)
        self.events.publish(
            ev.TierChanged(
                customer_id=row.customer_id,
                from_tier=row.current_tier,
                to_tier=row.suggested_tier,
                reason=reason,
            )
        )
        log.info("tier_review.accepted", review_id=review_id, customer_id=row.customer_id)
        return decided

    async def dismiss(self, review_id: int, user_id: int | None) -> TierSuggestion:
        """Keep the customer's tier; the same suggestion is not made again for a while."""
        async with self.db.begin() as conn:
            await self._decide(conn, review_id, "dismissed", user_id, now())
            return await self._one(conn, review_id)

    def _reason(self, row: Any) -> str:
        value = Decimal(row.value_cents) / 100
        return (
            f"tier review: orders worth {value:.2f} {self.currency} in {self.policy.months} months"
        )

    async def _decide(
        self, conn: AsyncConnection, review_id: int, status: str, user_id: int | None, at: datetime
    ) -> Any:
        row = (
            await conn.execute(
                update(tier_reviews)
                .where(and_(tier_reviews.c.id == review_id, tier_reviews.c.status == "open"))
                .values(status=status, decided_by_user_id=user_id, decided_at=at)
                .returning(*tier_reviews.c)
            )
        ).one_or_none()
        if row is not None:
            return row
        found = await self._one(conn, review_id)
        raise Conflict(f"tier review {review_id} is {found.status} already", "status")

    async def _one(self, conn: AsyncConnection, review_id: int) -> TierSuggestion:
        row = (
            await conn.execute(
                select(tier_reviews, customers.c.name.label("customer_name"))
                .join(customers, customers.c.id == tier_reviews.c.customer_id)
                .where(tier_reviews.c.id == review_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("tier review", review_id)
        return _suggestion(row)


def _suggestion(row: Any) -> TierSuggestion:
    return TierSuggestion(
        id=row.id,
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        current_tier=row.current_tier,
        suggested_tier=row.suggested_tier,
        value_cents=int(row.value_cents),
        status=row.status,
        computed_at=row.computed_at,
        decided_by_user_id=row.decided_by_user_id,
        decided_at=row.decided_at,
    )
