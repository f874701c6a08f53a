"""Occupancy over a window, as DESIGN.md defines it: time handling interactions ÷ (time handling
+ time available and idle), per agent and over all agents.

Handling runs from an agent's acceptance of an interaction (its `status.active` event) until the
interaction leaves them (wrap-up counts; a transfer, close or abandon ends it); several at once
count once. Available and idle is presence `available` with nothing being handled. The pure part
works on seconds; `occupancy` reads the presence history and the interaction events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.store.tables import agent_presence, interaction_events, interactions

Interval = tuple[float, float]
_HANDLING = ("active", "wrap_up")


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    out: list[Interval] = []
    for begin, end in sorted(intervals):
        if end <= begin:
            continue
        if out and begin <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((begin, end))
    return out


def total(intervals: Iterable[Interval]) -> float:
    return sum(end - begin for begin, end in intervals)


def overlap(a: list[Interval], b: list[Interval]) -> float:
    """Time covered by both of two merged lists."""
    i = j = 0
    shared = 0.0
    while i < len(a) and j < len(b):
        begin, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        shared += max(0.0, end - begin)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return shared


def presence_intervals(
    changes: list[tuple[float, str]], start: float, end: float, presence: str = "available"
) -> list[Interval]:
    """When the agent was in `presence` within [start, end), from their changes in time order
    (the first may be before `start`: the presence they came into the window with)."""
    out = []
    for (at, state), (next_at, _) in zip(changes, [*changes[1:], (end, "")], strict=True):
        if state == presence:
            out.append((max(at, start), min(next_at, end)))
    return merged(out)


def handling_intervals(
    events: list[tuple[int, str, int | None, float]], start: float, end: float
) -> dict[int, list[Interval]]:
    """Per agent, when they handled something, from status events (interaction, new status,
    agent named on the event, time) in order per interaction."""
    open_: dict[int, tuple[int, float]] = {}  # interaction -> (agent, since)
    spans: dict[int, list[Interval]] = defaultdict(list)
    for interaction_id, status, agent_id, at in events:
        held = open_.get(interaction_id)
        if held is not None and status not in _HANDLING:
            del open_[interaction_id]
            spans[held[0]].append((max(held[1], start), min(at, end)))
        if status == "active" and agent_id is not None and interaction_id not in open_:
            open_[interaction_id] = (agent_id, at)
    for agent_id, since in open_.values():
        spans[agent_id].append((max(since, start), end))
    return {agent: merged(found) for agent, found in spans.items()}


def summarise_occupancy(
    presence: dict[int, list[tuple[float, str]]],
    handling: dict[int, list[Interval]],
    start: float,
    end: float,
) -> dict[str, Any]:
    """Occupancy over all agents and per agent (those with any handling or available time)."""
    by_agent = []
    sums = [0.0, 0.0]
    for agent_id in sorted(set(presence) | set(handling)):
        busy = handling.get(agent_id, [])
        available = presence_intervals(presence.get(agent_id, []), start, end)
        handled = total(busy)
        idle = total(available) - overlap(available, busy)
        if handled + idle <= 0:
            continue
        sums[0] += handled
        sums[1] += idle
        by_agent.append(
            {
                "agent_id": agent_id,
                "handling_seconds": round(handled, 1),
                "available_idle_seconds": round(idle, 1),
                "occupancy": round(handled / (handled + idle), 4),
            }
        )
    overall = sums[0] / (sums[0] + sums[1]) if sums[0] + sums[1] > 0 else None
    return {"occupancy": None if overall is None else round(overall, 4), "by_agent": by_agent}


async def occupancy(conn: AsyncConnection, start: datetime, end: datetime) -> dict[str, Any]:
    """Read the presence history and the status events that the window needs, and summarise."""
    before = (
        select(agent_presence.c.agent_id, func.max(agent_presence.c.at).label("at"))
        .where(agent_presence.c.at < start)
        .group_by(agent_presence.c.agent_id)
        .subquery()
    )
    came_in_with = and_(
        before.c.agent_id == agent_presence.c.agent_id, before.c.at == agent_presence.c.at
    )
    in_window = and_(agent_presence.c.at >= start, agent_presence.c.at < end)
    rows = await conn.execute(
        select(agent_presence.c.agent_id, agent_presence.c.presence, agent_presence.c.at)
        .outerjoin(before, came_in_with)
        .where(or_(in_window, before.c.at.is_not(None)))
        .order_by(agent_presence.c.agent_id, agent_presence.c.at, agent_presence.c.id)
    )
    presence: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for row in rows:
        presence[row.agent_id].append((row.at.timestamp(), row.presence))
    events = await conn.execute(
        select(
            interaction_events.c.interaction_id,
            interaction_events.c.to_status,
            interaction_events.c.data,
            interaction_events.c.at,
        )
        .join(interactions, interactions.c.id == interaction_events.c.interaction_id)
        .where(
            interactions.c.answered_at.is_not(None),
            interactions.c.answered_at < end,
            or_(interactions.c.ended_at.is_(None), interactions.c.ended_at >= start),
            interaction_events.c.to_status.is_not(None),
        )
        .order_by(interaction_events.c.interaction_id, interaction_events.c.id)
    )
    status_events = [
        (row.interaction_id, row.to_status, (row.data or {}).get("agent_id"), row.at.timestamp())
        for row in events
    ]
    first, last = start.timestamp(), end.timestamp()
    return summarise_occupancy(
        presence, handling_intervals(status_events, first, last), first, last
    )
