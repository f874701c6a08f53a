"""Orders the order system reports, and the lifecycle stage they move.

Each order is stored with the customer's stage change (decided by `workflows/lifecycle.py`) and
its timeline event in one transaction; the customer's row is locked meanwhile, so two orders of
one customer arriving together are counted one after the other. An order that names the order
system's number (`external_ref`) again is the same order: stored once, answered again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter import events as ev
from contactcenter.customers.record_events import add_event
from contactcenter.errors import Conflict, Invalid, Merged, NotFound
from contactcenter.runtime.clock import now
from contactcenter.store.db import Database
from contactcenter.store.tables import customers, orders
from workflows.lifecycle import LifecyclePolicy, Purchases, Stage, StageChange, after_order

log = structlog.get_logger(__name__)
# An order dated this far ahead is a mistake of the sender's, not a future purchase.
_FUTURE_SLACK = timedelta(days=1)
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class OrderIn(BaseModel):
    """An order as the order system reports it; `amount` in the policy's currency."""

    model_config = ConfigDict(extra="forbid")

    external_ref: Text100 | None = None
    ordered_at: AwareDatetime | None = None
    amount: Decimal = Field(ge=0, le=Decimal("9999999999.99"), decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] | None = None
    products: list[Text100] = Field(default_factory=list, max_length=50)


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    customer_id: int
    external_ref: str | None
    ordered_at: datetime
    amount_cents: int
    currency: str
    products: list[str]
    created_at: datetime

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "external_ref": self.external_ref,
            "ordered_at": self.ordered_at.isoformat(),
            "amount": f"{Decimal(self.amount_cents) / 100:.2f}",
            "currency": self.currency,
            "products": self.products,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording an order did: the order, whether it is new, and the stage it moved."""

    order: Order
    created: bool
    from_stage: str | None = None
    change: StageChange | None = None


def _order(row: Any) -> Order:
    return Order(
        id=row.id,
        customer_id=row.customer_id,
        external_ref=row.external_ref,
        ordered_at=row.ordered_at,
        amount_cents=row.amount_cents,
        currency=row.currency,
        products=list(row.products or []),
        created_at=row.created_at,
    )


class OrderRecords:
    def __init__(self, *, db: Database, policy: LifecyclePolicy, events: ev.EventBus) -> None:
        self.db = db
        self.policy = policy
        self.events = events

    async def record(self, customer_id: int, order: OrderIn) -> Recorded:
        """Store an order (once per `external_ref`) and move the customer's stage."""
        at = now()
        ordered_at = order.ordered_at or at
        currency = (order.currency or self.policy.currency).upper()
        if currency != self.policy.currency:
            raise Invalid(
                f"orders are in {self.policy.currency} (the relationship policy's currency), "
                f"not {currency}",
                "currency",
            )
        if ordered_at > at + _FUTURE_SLACK:
            raise Invalid("ordered_at is in the future", "ordered_at")
        try:
            recorded = await self._store(customer_id, order, ordered_at, currency, at)
        except IntegrityError:
            # The same external_ref stored by another request meanwhile: answer that one.
            again = await self._known(customer_id, order.external_ref)
            if again is None:
                raise
            return again
        if recorded.change is not None:
            log.info(
                "customer.lifecycle_changed",
                customer_id=customer_id,
                to=recorded.change.to.value,
                reason=recorded.change.reason,
            )
            self.events.publish(
                ev.LifecycleChanged(
                    customer_id=customer_id,
                    from_stage=recorded.from_stage,
                    to_stage=recorded.change.to.value,
                    reason=recorded.change.reason,
                )
            )
        return recorded

    async def list(self, customer_id: int, before_id: int | None, limit: int) -> list[Order]:
        """A customer's orders, newest first; `before_id` pages on."""
        stmt = select(orders).where(orders.c.customer_id == customer_id)
        if before_id is not None:
            stmt = stmt.where(orders.c.id < before_id)
        stmt = stmt.order_by(orders.c.ordered_at.desc(), orders.c.id.desc()).limit(limit)
        async with self.db.connect() as conn:
            await _customer_row(conn, customer_id)
            return [_order(row) for row in await conn.execute(stmt)]

    async def _store(
        self, customer_id: int, order: OrderIn, ordered_at: datetime, currency: str, at: datetime
    ) -> Recorded:
        async with self.db.begin() as conn:
            customer = await _customer_row(conn, customer_id, lock=True)
            if order.external_ref is not None:
                known = await _by_ref(conn, order.external_ref)
                if known is not None:
                    return _again(known, customer_id)
            row = (
                await conn.execute(
                    insert(orders)
                    .values(
                        customer_id=customer_id,
                        external_ref=order.external_ref,
                        ordered_at=ordered_at,
                        amount_cents=int(order.amount * 100),
                        currency=currency,
                        products=order.products,
                        created_at=at,
                    )
                    .returning(*orders.c)
                )
            ).one()
            purchases = await self._purchases(conn, customer_id, at)
            stage = Stage(customer.lifecycle_stage) if customer.lifecycle_stage else None
            change = after_order(stage, purchases, ordered_at, at, self.policy)
            last = customer.last_order_at
            values: dict[str, Any] = {
                "last_order_at": ordered_at if last is None or ordered_at > last else last,
                "updated_at": at,
            }
            if change is not None:
                values["lifecycle_stage"] = change.to.value
                data = {
                    "from": customer.lifecycle_stage,
                    "to": change.to.value,
                    "reason": change.reason,
                    "order_id": row.id,
                }
                await add_event(conn, customer_id, "lifecycle_changed", data, at)
            await conn.execute(
                update(customers).where(customers.c.id == customer_id).values(**values)
            )
        return Recorded(_order(row), True, customer.lifecycle_stage, change)

    async def _purchases(self, conn: AsyncConnection, customer_id: int, at: datetime) -> Purchases:
        recent = orders.c.ordered_at >= self.policy.loyal_since(at)
        row = (
            await conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((recent, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((recent, orders.c.amount_cents), else_=0)), 0),
                ).where(orders.c.customer_id == customer_id)
            )
        ).one()
        return Purchases(int(row[0]), int(row[1]), Decimal(int(row[2])) / 100)

    async def _known(self, customer_id: int, external_ref: str | None) -> Recorded | None:
        if external_ref is None:
            return None
        async with self.db.connect() as conn:
            known = await _by_ref(conn, external_ref)
        return None if known is None else _again(known, customer_id)


async def _customer_row(conn: AsyncConnection, customer_id: int, *, lock: bool = False) -> Any:
    """The customer's row (locked until commit with `lock`, on PostgreSQL); NotFound or Merged
    as the customer records raise them."""
    stmt = select(customers).where(customers.c.id == customer_id)
    row = (await conn.execute(stmt.with_for_update() if lock else stmt)).one_or_none()
    if row is None:
        raise NotFound("customer", customer_id)
    if row.merged_into_id is not None:
        raise Merged(customer_id, row.merged_into_id)
    return row


async def _by_ref(conn: AsyncConnection, external_ref: str) -> Any:
    return (
        await conn.execute(select(orders).where(orders.c.external_ref == external_ref))
    ).one_or_none()


def _again(row: Any, customer_id: int) -> Recorded:
    """An order reported again: the same answer, or a Conflict when another customer has it."""
    if row.customer_id != customer_id:
        raise Conflict(
            f"order {row.external_ref} belongs to customer {row.customer_id}", "external_ref"
        )
    return Recorded(_order(row), False)
