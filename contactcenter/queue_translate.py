"""Translations for the queue: database rows and domain objects into the engine's types, and
the engine's decisions into events; plus the two small writes the queue makes beside transitions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.errors import Conflict
from contactcenter.model import Customer, Presence
from contactcenter.store.tables import agents as agents_table
from contactcenter.store.tables import interactions as interactions_table
from routing.types import AgentSpec, Decision, WorkItem


def moment(seconds: float) -> datetime:
    """The engine's clock (seconds) as the database's (aware UTC)."""
    return datetime.fromtimestamp(seconds, UTC)


def agent_spec(agent: dict[str, Any]) -> AgentSpec:
    return AgentSpec(
        str(agent["id"]),
        {g["name"]: g["level"] for g in agent["groups"]},
        frozenset(agent["skills"]),
        agent["capacity"],
        agent["voice_blocks_other"],
    )


def work_item(
    interaction_id: int, channel: str, customer: Customer, topic: str | None,
    attributes: dict[str, Any] | None, queued_at: float,
) -> WorkItem:  # fmt: skip
    attrs: dict[str, Any] = {
        "segment": customer.segment.value if customer.segment else None,
        "language": customer.language,
        "topic": topic,
        "account_manager": customer.account_manager_id,
        **(attributes or {}),
    }
    return WorkItem(str(interaction_id), channel, customer.tier.value, queued_at, attrs)


def row_work_item(row: Any) -> WorkItem:
    attrs = {
        "segment": row.segment,
        "language": row.language,
        "topic": row.topic,
        "account_manager": row.account_manager_id,
        **(row.attributes or {}),
    }
    queued = (row.queued_at or row.created_at).timestamp()
    return WorkItem(str(row.id), row.channel, row.tier, queued, attrs)


async def set_columns(conn: AsyncConnection, item_id: str, **values: Any) -> None:
    await conn.execute(
        update(interactions_table).where(interactions_table.c.id == int(item_id)).values(**values)
    )


async def store_presence(
    conn: AsyncConnection, agent_id: int, presence: Presence, now: float
) -> None:
    result = await conn.execute(
        update(agents_table)
        .where(agents_table.c.id == agent_id)
        .values(presence=presence.value, presence_since=moment(now))
    )
    if result.rowcount == 0:
        raise Conflict(f"agent {agent_id} does not exist", "agent_id")


def event_of(decision: Decision) -> dict[str, Any]:
    name = type(decision).__name__
    data = {k: getattr(decision, k) for k in decision.__dataclass_fields__}
    for key in ("item_id", "agent_id"):
        if key in data:
            data[{"item_id": "interaction_id"}.get(key, key)] = int(data.pop(key))
    return {"type": f"routing.{name}", **data}
