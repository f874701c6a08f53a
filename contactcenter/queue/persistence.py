"""The queue's writes and reads: arrivals stored together, the engine's decisions stored as
transitions and events, agents' presence, and the open interactions read back on start.

Everything here runs inside a transaction the queue holds; nothing here asks the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.errors import Conflict
from contactcenter.interactions.records import InteractionRecords
from contactcenter.interactions.transitions import Move, apply_moves
from contactcenter.model import InteractionStatus, Presence
from contactcenter.people.agents import record_presence
from contactcenter.queue.translation import moment
from contactcenter.store.tables import agents as agents_table
from contactcenter.store.tables import customers as customers_table
from contactcenter.store.tables import interactions as interactions_table
from routing.types import (
    AgentPaused,
    Decision,
    Offer,
    OfferExpired,
    OfferRevoked,
    Overflowed,
    SlaBreached,
    SlaWarning,
    WrapUpEnded,
)

S = InteractionStatus
# Callbacks wait like queued work: the caller hung up but kept their place.
OPEN = (S.QUEUED, S.CALLBACK_SCHEDULED, S.OFFERED, S.ACTIVE, S.WRAP_UP)


async def known_refs(
    conn: AsyncConnection, refs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Interactions already stored under these (channel, external reference) pairs."""
    if not refs:
        return {}
    rows = await conn.execute(
        select(
            interactions_table.c.channel, interactions_table.c.external_ref, interactions_table.c.id
        ).where(
            tuple_(interactions_table.c.channel, interactions_table.c.external_ref).in_(list(refs))
        )
    )
    return {(row.channel, row.external_ref): row.id for row in rows}


async def set_columns(conn: AsyncConnection, item_id: str, **values: Any) -> None:
    await conn.execute(
        update(interactions_table).where(interactions_table.c.id == int(item_id)).values(**values)
    )


async def store_presence(
    conn: AsyncConnection, agent_id: int, presence: Presence, now: float, reason: str = ""
) -> None:
    """The agent's presence now; `reason` says why when the service set it itself."""
    result = await conn.execute(
        update(agents_table)
        .where(agents_table.c.id == agent_id)
        .values(presence=presence.value, presence_since=moment(now), presence_reason=reason)
    )
    if result.rowcount == 0:
        raise Conflict(f"agent {agent_id} does not exist", "agent_id")
    await record_presence(conn, agent_id, presence, moment(now))


async def open_rows(conn: AsyncConnection) -> list[Row[Any]]:
    """Every open interaction with what routing needs of its customer, oldest place first."""
    result = await conn.execute(
        select(
            interactions_table,
            customers_table.c.tier,
            customers_table.c.segment,
            customers_table.c.lifecycle_stage,
            customers_table.c.language,
            customers_table.c.account_manager_id,
        )
        .join(customers_table, customers_table.c.id == interactions_table.c.customer_id)
        .where(interactions_table.c.status.in_([s.value for s in OPEN]))
        .order_by(interactions_table.c.queued_at, interactions_table.c.id)
    )
    return list(result.all())


async def store_decisions(
    conn: AsyncConnection,
    records: InteractionRecords,
    decisions: Sequence[Decision],
    now: float,
    callbacks: set[int] | None = None,
) -> None:
    """Store what the engine decided, in order. Offers in a row (an arrival batch, an agent's
    freed capacity) go as one write: the engine only offers what waits, so they move from
    queued (or from callback_scheduled, for the ids in `callbacks`, which are taken out of it),
    and a row found otherwise fails the whole transaction."""
    waiting_callbacks = set() if callbacks is None else callbacks
    offers: dict[int, Move] = {}
    for decision in decisions:
        if isinstance(decision, Offer) and int(decision.item_id) not in offers:
            offers[int(decision.item_id)] = _offer_move(decision, waiting_callbacks)
            continue
        if offers:
            await apply_moves(conn, list(offers.values()), moment(now))
            offers = {}
        if isinstance(decision, Offer):
            offers[int(decision.item_id)] = _offer_move(decision, waiting_callbacks)
        else:
            await _store_one(conn, records, decision, now)
    if offers:
        await apply_moves(conn, list(offers.values()), moment(now))


def _offer_move(offer: Offer, callbacks: set[int]) -> Move:
    agent_id, interaction_id = int(offer.agent_id), int(offer.item_id)
    data = {"agent_id": agent_id, "expires_at": moment(offer.expires_at).isoformat()}
    waited_as = S.CALLBACK_SCHEDULED if interaction_id in callbacks else S.QUEUED
    callbacks.discard(interaction_id)
    return Move(interaction_id, waited_as, S.OFFERED, data, {"agent_id": agent_id})


async def _store_one(
    conn: AsyncConnection, records: InteractionRecords, decision: Decision, now: float
) -> None:
    at = moment(now)
    match decision:
        case OfferExpired(item_id, agent_id) | OfferRevoked(item_id, agent_id):
            reason = "offer_expired" if isinstance(decision, OfferExpired) else "agent_left"
            await records.transition(
                int(item_id),
                S.QUEUED,
                at=at,
                conn=conn,
                columns={"agent_id": None},
                agent_id=int(agent_id),
                reason=reason,
            )
        case Overflowed(item_id, step, target):
            await records.add_event(
                int(item_id),
                "routing.overflowed",
                {"step": step, "target": target},
                at=at,
                conn=conn,
            )
            await set_columns(conn, item_id, routing_step=step, routing_since=at)
        case SlaWarning(item_id, threshold) | SlaBreached(item_id, threshold):
            kind = "sla.warning" if isinstance(decision, SlaWarning) else "sla.breach"
            await records.add_event(int(item_id), kind, {"threshold": threshold}, at=at, conn=conn)
        case AgentPaused(agent_id, missed):
            await store_presence(
                conn, int(agent_id), Presence.AWAY, now, f"missed {missed} offers in a row"
            )
        case WrapUpEnded(agent_id, item_id):
            await records.transition(int(item_id), S.CLOSED, at=at, conn=conn)
