"""Queue statistics, computed exactly as DESIGN.md defines them ("Metrics, defined once").

Over a window, per tier and channel: offered (entered the queue), answered (accepted by an agent),
abandoned (left before that); service level = answered within the tier's threshold ÷ offered,
abandons counting against it (for email and fax: first response within the threshold), leaving
out work still inside its threshold until it is decided, so that a fresh arrival does not read
as a miss; ASA = total wait of answered ÷ answered; AHT = (active + wrap-up time) ÷ handled;
abandonment rate = abandoned ÷ offered. Now: waiting and the longest wait, per tier and channel
and per group, and agents by presence. `summarise` is pure; `queue_stats` reads what it needs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from contactcenter.reports.occupancy import occupancy
from contactcenter.reports.routing_now import RoutingNow
from contactcenter.store.db import Database
from contactcenter.store.tables import agents, customers, interactions
from routing.policy import Policy

_WAITING = ("queued", "callback_scheduled", "offered")
_LIVE = ("voice", "chat")
_OVER = ("abandoned", "closed", "self_served")


@dataclass(frozen=True, slots=True)
class Row:
    """What the statistics need of one interaction."""

    tier: str
    channel: str
    status: str
    queued_at: datetime
    answered_at: datetime | None
    first_response_at: datetime | None
    ended_at: datetime | None


def summarise(
    rows: list[Row], policy: Policy, now: datetime, window: timedelta, short_abandon: float = 0.0
) -> list[dict[str, Any]]:
    """One entry per tier × channel that had any work in the window or waiting now.

    With `short_abandon` > 0, abandons after a shorter wait (a caller who hung up at once) are
    left out of offered, service level and abandonment rate, and counted apart."""
    start = now - window
    short_limit = timedelta(seconds=short_abandon)
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row.tier, row.channel)].append(row)
    out = []
    for (tier, channel), items in sorted(groups.items()):
        sla = policy.sla(tier, channel)
        waiting = [r for r in items if r.status in _WAITING]
        entered = [r for r in items if r.queued_at >= start]
        short = [
            r
            for r in entered
            if short_abandon > 0
            and r.status == "abandoned"
            and r.ended_at is not None
            and r.ended_at - r.queued_at < short_limit
        ]
        offered = [r for r in entered if not any(r is s for s in short)]
        answered = [r for r in offered if r.answered_at is not None]
        abandoned = [r for r in offered if r.status == "abandoned"]
        handled = [r for r in answered if r.ended_at is not None and r.status == "closed"]
        live = channel in _LIVE
        within = None
        decided = offered
        if sla is not None:
            within = sum(1 for r in offered if met(r, sla.seconds))
            decided = [r for r in offered if not pending(r, sla.seconds, now)]
        asa = _mean([(r.answered_at - r.queued_at).total_seconds() for r in answered])  # type: ignore[operator]
        aht = _mean([(r.ended_at - r.answered_at).total_seconds() for r in handled])  # type: ignore[operator]
        out.append(
            {
                "tier": tier,
                "channel": channel,
                "waiting": len(waiting),
                "longest_wait_seconds": round(
                    max(((now - r.queued_at).total_seconds() for r in waiting), default=0.0), 1
                ),
                "offered": len(offered),
                "answered": len(answered),
                "abandoned": len(abandoned),
                "short_abandoned": len(short),
                "short_abandons_excluded_under_seconds": short_abandon or None,
                "service_level": None
                if within is None or not decided
                else round(within / len(decided), 4),
                "undecided": len(offered) - len(decided),
                "service_level_target": None
                if sla is None
                else {
                    "seconds": sla.seconds,
                    "percent": sla.percent,
                    "measure": "answered" if live else "first_response",
                },
                "asa_seconds": asa,
                "aht_seconds": aht,
                "abandonment_rate": round(len(abandoned) / len(offered), 4) if offered else None,
            }
        )
    return out


def met(row: Row, seconds: float) -> bool:
    """Whether the work met its service-level threshold: answered within it on live channels,
    first response within it on email and fax."""
    done = row.answered_at if row.channel in _LIVE else row.first_response_at
    return done is not None and (done - row.queued_at).total_seconds() <= seconds


def pending(row: Row, seconds: float, now: datetime) -> bool:
    """Work not yet counted either way: not answered (or responded to), not abandoned or over,
    and still inside its threshold. It counts in offered, and in the service level once it is
    answered in time or its threshold passes."""
    if met(row, seconds) or row.status in _OVER:
        return False
    return (now - row.queued_at).total_seconds() < seconds


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


async def queue_stats(
    db: Database,
    routing: RoutingNow,
    policy: Policy,
    now: datetime,
    window: timedelta,
    short_abandon: float = 0.0,
) -> dict[str, Any]:
    """The statistics over one window (see `queue_stats_over`)."""
    (found,) = await queue_stats_over(db, routing, policy, now, [window], short_abandon)
    return found


async def queue_stats_over(
    db: Database,
    routing: RoutingNow,
    policy: Policy,
    now: datetime,
    windows: list[timedelta],
    short_abandon: float = 0.0,
) -> list[dict[str, Any]]:
    """The statistics over each of `windows`, from one read of the interactions (those of the
    longest window, and all work waiting)."""
    longest = max(windows)
    async with db.connect() as conn:
        result = await conn.execute(
            select(
                customers.c.tier,
                interactions.c.channel,
                interactions.c.status,
                func.coalesce(interactions.c.queued_at, interactions.c.created_at),
                interactions.c.answered_at,
                interactions.c.first_response_at,
                interactions.c.ended_at,
            )
            .join(customers, customers.c.id == interactions.c.customer_id)
            .where(
                or_(interactions.c.queued_at >= now - longest, interactions.c.status.in_(_WAITING))
            )
        )
        rows = [Row(*r) for r in result]
        presence = dict(
            (
                await conn.execute(
                    select(agents.c.presence, func.count()).group_by(agents.c.presence)
                )
            ).all()
        )
        over_time = [await occupancy(conn, now - window, now) for window in windows]
    staffing = routing.staffing()
    busy, staffed = staffing.busy, staffing.staffed
    groups = routing.waiting_by_group()
    by_presence = {p: presence.get(p, 0) for p in ("available", "away", "wrap_up", "offline")}
    return [
        {
            "generated_at": now.isoformat(),
            "window_minutes": round(window.total_seconds() / 60, 2),
            "by_tier_channel": summarise(rows, policy, now, window, short_abandon),
            "waiting_by_group": groups,
            "agents": {
                "by_presence": by_presence,
                "with_work": busy,
                # Now: agents with work ÷ agents available or with work; over the window: time
                # handling ÷ (time handling + time available and idle), from the presence history.
                "occupancy_now": round(busy / staffed, 4) if staffed else None,
                "occupancy": occupied["occupancy"],
                "occupancy_by_agent": occupied["by_agent"],
            },
        }
        for window, occupied in zip(windows, over_time, strict=True)
    ]
