"""Translations for the queue: database rows and domain objects into the engine's types, and
the engine's decisions into events. Pure: the queue's writes are in `persistence.py`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contactcenter import events as ev
from contactcenter.model import Customer
from routing import types as rt
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
    interaction_id: int,
    channel: str,
    customer: Customer,
    topic: str | None,
    attributes: dict[str, Any] | None,
    queued_at: float,
) -> WorkItem:
    attrs: dict[str, Any] = {
        "segment": customer.segment.value if customer.segment else None,
        "lifecycle_stage": customer.lifecycle_stage.value if customer.lifecycle_stage else None,
        "language": customer.language,
        "topic": topic,
        "account_manager": customer.account_manager_id,
        **(attributes or {}),
    }
    return WorkItem(str(interaction_id), channel, customer.tier.value, queued_at, attrs)


def row_work_item(row: Any) -> WorkItem:
    attrs = {
        "segment": row.segment,
        "lifecycle_stage": row.lifecycle_stage,
        "language": row.language,
        "topic": row.topic,
        "account_manager": row.account_manager_id,
        **(row.attributes or {}),
    }
    queued = (row.queued_at or row.created_at).timestamp()
    return WorkItem(str(row.id), row.channel, row.tier, queued, attrs)


def event_of(decision: Decision) -> ev.Event:
    """The event that tells listeners of a decision (the engine's string ids as integers)."""
    match decision:
        case rt.Offer(item_id, agent_id, expires_at):
            return ev.Offered(
                interaction_id=int(item_id), agent_id=int(agent_id), expires_at=expires_at
            )
        case rt.OfferExpired(item_id, agent_id):
            return ev.OfferExpired(interaction_id=int(item_id), agent_id=int(agent_id))
        case rt.OfferRevoked(item_id, agent_id):
            return ev.OfferRevoked(interaction_id=int(item_id), agent_id=int(agent_id))
        case rt.Overflowed(item_id, step, target):
            return ev.Overflowed(interaction_id=int(item_id), step=step, target=target)
        case rt.SlaWarning(item_id, threshold):
            return ev.SlaWarning(interaction_id=int(item_id), threshold=threshold)
        case rt.SlaBreached(item_id, threshold):
            return ev.SlaBreached(interaction_id=int(item_id), threshold=threshold)
        case rt.AgentPaused(agent_id, missed):
            return ev.AgentPaused(agent_id=int(agent_id), missed=missed)
        case rt.Abandoned(item_id, waited):
            return ev.LeftQueue(interaction_id=int(item_id), waited=waited)
        case rt.WrapUpEnded(agent_id, item_id):
            return ev.WrapUpEnded(agent_id=int(agent_id), interaction_id=int(item_id))
    raise TypeError(f"no event for {decision!r}")
