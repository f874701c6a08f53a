"""Complaint figures for supervisors: cases open, overdue and without an owner now, and
complaints per 1,000 interactions over a window by tier, channel and product.

A complaint counts once under each of its products and under the channel of each interaction
it concerns (a case about a call and a mail counts for voice and email). Interactions count
under the tier their customer has now and the products recorded on them.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from contactcenter.store.db import Database
from contactcenter.store.tables import complaint_interactions, complaints, customers, interactions
from workflows.complaints import ACTIVE


async def complaints_now(db: Database, now: datetime) -> dict[str, int]:
    """Cases open (still being worked on), of which overdue, and without an owner."""
    active = complaints.c.status.in_([s.value for s in ACTIVE])
    async with db.connect() as conn:
        row = (
            await conn.execute(
                select(
                    func.count(),
                    func.count().filter(complaints.c.due_at < now),
                    func.count().filter(complaints.c.owner_agent_id.is_(None)),
                ).where(active)
            )
        ).one()
    return {"open": row[0], "overdue": row[1], "unassigned": row[2]}


async def complaint_rates(db: Database, since: datetime, until: datetime) -> dict[str, Any]:
    """Complaints opened in [since, until) per 1,000 interactions created then."""
    async with db.connect() as conn:
        made = (
            await conn.execute(
                select(complaints.c.id, complaints.c.tier, complaints.c.products).where(
                    complaints.c.opened_at >= since, complaints.c.opened_at < until
                )
            )
        ).all()
        channels = (
            await conn.execute(
                select(complaint_interactions.c.complaint_id, interactions.c.channel)
                .join(interactions, interactions.c.id == complaint_interactions.c.interaction_id)
                .where(complaint_interactions.c.complaint_id.in_([m.id for m in made]))
            )
        ).all()
        window = (interactions.c.created_at >= since) & (interactions.c.created_at < until)
        by_tier_channel = (
            await conn.execute(
                select(customers.c.tier, interactions.c.channel, func.count())
                .join(customers, customers.c.id == interactions.c.customer_id)
                .where(window)
                .group_by(customers.c.tier, interactions.c.channel)
            )
        ).all()
        with_products = (
            await conn.execute(
                select(interactions.c.products).where(window, _has_products(db.dialect))
            )
        ).scalars()
        product_counts = Counter(p for products in with_products for p in (products or []))
    counts = {
        "tier": Counter(m.tier for m in made),
        "channel": Counter(),
        "product": Counter(p for m in made for p in set(m.products or [])),
    }
    seen = set()
    for complaint_id, channel in channels:
        if (complaint_id, channel) not in seen:
            seen.add((complaint_id, channel))
            counts["channel"][channel] += 1
    totals = {
        "tier": Counter(),
        "channel": Counter(),
        "product": product_counts,
    }
    for tier, channel, n in by_tier_channel:
        totals["tier"][tier] += n
        totals["channel"][channel] += n
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "complaints": len(made),
        "interactions": sum(totals["tier"].values()),
        **{f"by_{name}": _rates(counts[name], totals[name]) for name in ("tier", "channel")},
        "by_product": _rates(counts["product"], totals["product"])[:20],
    }


def _has_products(dialect: str) -> Any:
    """Interactions that name any product (JSON `[]` otherwise)."""
    length = func.jsonb_array_length if dialect == "postgresql" else func.json_array_length
    return length(interactions.c.products) > 0


def _rates(complaints_by: Counter[str], interactions_by: Counter[str]) -> list[dict[str, Any]]:
    keys = sorted(set(complaints_by) | set(interactions_by), key=lambda k: -complaints_by[k])
    return [
        {
            "key": key,
            "complaints": complaints_by[key],
            "interactions": interactions_by[key],
            "per_1000": round(1000 * complaints_by[key] / interactions_by[key], 2)
            if interactions_by[key]
            else None,
        }
        for key in keys
    ]
