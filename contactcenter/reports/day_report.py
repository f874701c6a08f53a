"""The day so far: service level by tier hour by hour (the dashboard's chart), and every
interaction queued today with its metrics (the CSV export). The day begins at midnight in the
contact center's time zone (`CONTACTCENTER_TIMEZONE`). The hourly figures are computed the way
`stats.summarise` computes the window's: answered (or first response) within the threshold ÷
offered, leaving out work still inside its threshold; work without a target is left out.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from contactcenter.reports.stats import Row, met, pending
from contactcenter.runtime.clock import iso
from contactcenter.store.db import Database
from contactcenter.store.tables import customers, interactions
from routing.policy import Policy
from routing.types import LIVE_CHANNELS

TIERS = ("key_account", "relationship", "transactional")
CSV_COLUMNS = (
    "interaction_id",
    "channel",
    "tier",
    "customer_id",
    "status",
    "agent_id",
    "queued_at",
    "answered_at",
    "first_response_at",
    "ended_at",
    "wait_seconds",
    "handle_seconds",
    "target_seconds",
    "within_target",
    "disposition",
    "outcome",
    "complaint",
    "satisfaction",
    "initiated_by",
    "products",
)


def day_start(now: datetime, zone: str) -> datetime:
    """Midnight of `now`'s day in `zone`, as an aware datetime."""
    local = now.astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class HourPoint:
    hour: int  # hours since the day began
    offered: int
    within: int

    @property
    def service_level(self) -> float | None:
        return round(self.within / self.offered, 4) if self.offered else None


def hourly(
    rows: list[Row], policy: Policy, start: datetime, now: datetime
) -> dict[str, list[HourPoint]]:
    """Per tier, one point per hour from `start` to `now` that had work with a target."""
    counts: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in rows:
        sla = policy.sla(row.tier, row.channel)
        if sla is None or not start <= row.queued_at <= now or pending(row, sla.seconds, now):
            continue
        hour = int((row.queued_at - start).total_seconds() // 3600)
        cell = counts[row.tier][hour]
        cell[0] += 1
        cell[1] += met(row, sla.seconds)
    return {
        tier: [HourPoint(h, c[0], c[1]) for h, c in sorted(counts[tier].items())]
        for tier in TIERS
        if tier in counts
    }


async def day_rows(db: Database, start: datetime, end: datetime) -> list[Any]:
    """Every interaction queued in [start, end), with its customer's tier."""
    queued = func.coalesce(interactions.c.queued_at, interactions.c.created_at)
    async with db.connect() as conn:
        result = await conn.execute(
            select(interactions, customers.c.tier, queued.label("entered"))
            .join(customers, customers.c.id == interactions.c.customer_id)
            .where(queued >= start, queued < end, interactions.c.queued_at.is_not(None))
            .order_by(queued, interactions.c.id)
        )
        return list(result)


def stats_row(row: Any) -> Row:
    return Row(
        row.tier,
        row.channel,
        row.status,
        row.entered,
        row.answered_at,
        row.first_response_at,
        row.ended_at,
    )


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds(), 1)


def csv_text(rows: list[Any], policy: Policy, now: datetime) -> str:
    """The day's interactions as CSV, one line each, with the figures the metrics are made of.
    `met_target` is yes, no, or `undecided` for work still inside its target (as the board
    says): it is not a miss yet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        sla = policy.sla(row.tier, row.channel)
        handled_from = row.answered_at
        writer.writerow(
            [
                row.id,
                row.channel,
                row.tier,
                row.customer_id,
                row.status,
                row.agent_id or "",
                iso(row.entered),
                iso(row.answered_at) or "",
                iso(row.first_response_at) or "",
                iso(row.ended_at) or "",
                _blank(_seconds(row.answered_at, row.entered)),
                _blank(_seconds(row.ended_at, handled_from)),
                "" if sla is None else sla.seconds,
                "" if sla is None else _met(stats_row(row), sla.seconds, now),
                row.disposition or "",
                row.outcome or "",
                "yes" if row.complaint else "no",
                _blank(row.satisfaction),
                row.initiated_by,
                ";".join(row.products or []),
            ]
        )
    return out.getvalue()


def _met(row: Row, seconds: float, now: datetime) -> str:
    if met(row, seconds):
        return "yes"
    return "undecided" if pending(row, seconds, now) else "no"


def _blank(value: Any) -> Any:
    return "" if value is None else value


def live_targets(policy: Policy) -> dict[str, float]:
    """Per tier, the share its live channels' targets ask for (the lowest, where they differ):
    the chart's dashed lines."""
    targets = {}
    for tier, spec in policy.tiers.items():
        shares = [
            t.percent / 100 for ch, t in spec.sla.items() if ch in LIVE_CHANNELS and t.percent
        ]
        if shares:
            targets[tier] = min(shares)
    return targets


def hours_in_day(start: datetime) -> int:
    """How many hours the day has: 24, or 23 or 25 on the day the clocks change."""
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)
    return round((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600)
