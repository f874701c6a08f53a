"""What the consoles show now: work waiting and who has it, agents with their load, an agent's
own offers and work. Read from the database, with the routing engine's view of where work waits
and of each agent's load, so that a page is one request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from contactcenter.reports.routing_now import RoutingNow
from contactcenter.runtime.clock import iso
from contactcenter.store.db import Database
from contactcenter.store.tables import agents, customers, escalations, interactions
from routing.engine import SLA_WARNING_SHARE
from routing.policy import Policy
from routing.types import LIVE_CHANNELS

WAITING = ("queued", "callback_scheduled", "offered")
HELD = ("offered", "active", "wrap_up")
# At most this many waiting interactions are listed (the longest waits); the counts cover all.
WAITING_LIST = 200


def _work_json(row: Any, now: datetime) -> dict[str, Any]:
    queued = row.queued_at or row.created_at
    return {
        "id": row.id,
        "channel": row.channel,
        "status": row.status,
        "subject": row.subject,
        "topic": row.topic,
        "agent_id": row.agent_id,
        "customer_id": row.customer_id,
        "customer_name": row.name or row.organisation or f"Customer {row.customer_id}",
        "organisation": row.organisation,
        "tier": row.tier,
        "queued_at": iso(queued),
        "answered_at": iso(row.answered_at),
        "waited_seconds": round((now - queued).total_seconds(), 1),
    }


_COLUMNS = (
    interactions.c.id,
    interactions.c.channel,
    interactions.c.status,
    interactions.c.subject,
    interactions.c.topic,
    interactions.c.agent_id,
    interactions.c.customer_id,
    interactions.c.queued_at,
    interactions.c.created_at,
    interactions.c.answered_at,
    customers.c.name,
    customers.c.organisation,
    customers.c.tier,
)


async def waiting_work(db: Database, routing: RoutingNow, now: datetime) -> list[dict[str, Any]]:
    """Waiting (and offered) work, longest wait first, with where it may go: group names and
    agents' names, each once."""
    queued = func.coalesce(interactions.c.queued_at, interactions.c.created_at)
    async with db.connect() as conn:
        rows = await conn.execute(
            select(*_COLUMNS)
            .join(customers, customers.c.id == interactions.c.customer_id)
            .where(interactions.c.status.in_(WAITING))
            .order_by(queued, interactions.c.id)
            .limit(WAITING_LIST)
        )
        work = [(r, routing.places(r.id)) for r in rows]
        ids = {int(value) for _, places in work for kind, value in places if kind == "agent"}
        names = {}
        if ids:
            found = await conn.execute(
                select(agents.c.id, agents.c.name).where(agents.c.id.in_(ids))
            )
            names = {str(agent_id): name for agent_id, name in found}
    return [
        _work_json(r, now)
        | {
            "waits_for": [
                value if kind == "group" else names.get(value, f"agent {value}")
                for kind, value in places
            ]
        }
        for r, places in work
    ]


async def held_work(
    db: Database, now: datetime, agent_id: int | None = None
) -> list[dict[str, Any]]:
    """Work offered to, active with or wrapped up by agents (one agent's, when given)."""
    stmt = (
        select(*_COLUMNS)
        .join(customers, customers.c.id == interactions.c.customer_id)
        .where(interactions.c.status.in_(HELD), interactions.c.agent_id.is_not(None))
        .order_by(interactions.c.id)
    )
    if agent_id is not None:
        stmt = stmt.where(interactions.c.agent_id == agent_id)
    async with db.connect() as conn:
        return [_work_json(r, now) for r in await conn.execute(stmt)]


def agent_load(routing: RoutingNow, agent: dict[str, Any]) -> dict[str, int]:
    """Work held per channel the agent has room on, as routing counts it (0 for an agent
    routing has not seen yet)."""
    return {ch: 0 for ch, room in agent["capacity"].items() if room} | routing.load(agent["id"])


def sla_state(policy: Policy, work: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Waiting work's target, and whether its wait is within it, past the warning or past it.
    An email's or a fax's wait counts in the business hours of the first group it waits for
    (its clock pauses outside them, as the routing engine's does; a group without hours never
    pauses): `counted_seconds`."""
    sla = policy.sla(work["tier"], work["channel"])
    if sla is None:
        return {"sla_seconds": None, "sla_state": "none"}
    waited = work["waited_seconds"]
    if work["channel"] not in LIVE_CHANNELS:
        first = next((g for g in work["waits_for"] if g in policy.groups), None)
        hours = policy.hours.get(first) if first is not None else None
        if hours is not None:
            since = datetime.fromisoformat(work["queued_at"])
            waited = round(hours.business_seconds(since, now), 1)
    state = "ok"
    if waited >= sla.seconds:
        state = "breached"
    elif waited >= SLA_WARNING_SHARE * sla.seconds:
        state = "warning"
    return {"sla_seconds": sla.seconds, "sla_state": state, "counted_seconds": waited}


async def escalations_since(db: Database, since: datetime) -> list[dict[str, Any]]:
    """SLA escalation steps taken since `since`, newest first (at most 50)."""
    async with db.connect() as conn:
        rows = await conn.execute(
            select(escalations)
            .where(escalations.c.at >= since)
            .order_by(escalations.c.id.desc())
            .limit(50)
        )
        return [
            {
                "interaction_id": row.interaction_id,
                "step": row.step,
                "action": row.action,
                "data": row.data,
                "at": iso(row.at),
            }
            for row in rows
        ]


async def agents_now(
    db: Database, routing: RoutingNow, listed: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The directory's agents (`listed`) with time in presence, load per channel and work."""
    work = await held_work(db, now)
    by_agent: dict[int, list[dict[str, Any]]] = {}
    for item in work:
        by_agent.setdefault(item["agent_id"], []).append(item)
    out = []
    for agent in sorted(listed, key=lambda a: (a["name"], a["id"])):
        since = datetime.fromisoformat(agent["presence_since"])
        out.append(
            {
                "id": agent["id"],
                "name": agent["name"],
                "presence": agent["presence"],
                "presence_since": agent["presence_since"],
                "presence_reason": agent["presence_reason"],
                "seconds_in_presence": round((now - since).total_seconds()),
                "groups": [g["name"] for g in agent["groups"]],
                "capacity": agent["capacity"],
                "load": agent_load(routing, agent),
                "work": by_agent.get(agent["id"], []),
            }
        )
    return out
