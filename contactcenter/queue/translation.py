"""Translations for the queue: database rows and domain objects into the engine's types, and
the engine's decisions into events. Pure: the queue's writes are in `queue_store`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contactcenter.model import Customer
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


def event_of(decision: Decision) -> dict[str, Any]:
    name = type(decision).__name__
    data = {k: getattr(decision, k) for k in decision.__dataclass_fields__}
    for key in ("item_id", "agent_id"):
        if key in data:
            data[{"item_id": "interaction_id"}.get(key, key)] = int(data.pop(key))
    return {"type": f"routing.{name}", **data}
