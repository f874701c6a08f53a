"""Opening interactions and moving them through their lives, many at a time.

The queue admits arrivals in batches and offers several interactions at once; each batch costs a
fixed number of statements however large it is: one INSERT of the interactions, one of their
events, one UPDATE per kind of move. A single transition is the same path with one move in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, literal, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.errors import Conflict, Invalid
from contactcenter.model import (
    Channel,
    Direction,
    Initiator,
    InteractionStatus,
    InvalidTransition,
    transition_event,
)
from contactcenter.store.tables import interaction_events, interactions

S = InteractionStatus
_ANSWERED = {S.ACTIVE}
_ENDED = {S.CLOSED, S.ABANDONED, S.SELF_SERVED}


@dataclass(frozen=True, slots=True)
class NewInteraction:
    """What a channel knows of a contact when it opens an interaction."""

    customer_id: int
    channel: Channel
    subject: str = ""
    topic: str | None = None
    attributes: dict[str, Any] | None = None
    external_ref: str | None = None
    status: InteractionStatus = S.QUEUED
    direction: Direction = Direction.INBOUND
    initiated_by: Initiator = Initiator.CUSTOMER
    products: tuple[str, ...] = ()  # the products the contact is about, when known at the start


@dataclass(frozen=True, slots=True)
class Move:
    """One interaction from the status the caller knows it is in to another. `columns` are other
    fields of the interaction written with the status; `data` goes on the event."""

    interaction_id: int
    from_status: InteractionStatus
    to: InteractionStatus
    data: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)


async def open_many(
    conn: AsyncConnection, news: Sequence[NewInteraction], at: datetime, queued: bool
) -> list[int]:
    """Store new interactions and their `created` events; their ids, in the order given.
    `queued` marks them as entering the routing queue now (their place in the queue)."""
    if not news:
        return []
    rows = [
        {
            "customer_id": new.customer_id,
            "channel": new.channel.value,
            "direction": new.direction.value,
            "initiated_by": new.initiated_by.value,
            "status": new.status.value,
            "subject": new.subject,
            "topic": new.topic,
            "attributes": new.attributes or {},
            "products": list(new.products),
            "external_ref": new.external_ref,
            "created_at": at,
            "updated_at": at,
            "queued_at": at if queued else None,
            "routing_since": at if queued else None,
        }
        for new in news
    ]
    result = await conn.execute(
        insert(interactions).returning(interactions.c.id, sort_by_parameter_order=True), rows
    )
    ids = list(result.scalars())
    await conn.execute(
        insert(interaction_events),
        [
            {
                "interaction_id": interaction_id,
                "type": "created",
                "from_status": None,
                "to_status": new.status.value,
                "data": {"channel": new.channel.value},
                "at": at,
            }
            for interaction_id, new in zip(ids, news, strict=True)
        ],
    )
    return ids


async def apply_moves(conn: AsyncConnection, moves: Sequence[Move], at: datetime) -> None:
    """Store transitions whose current status the caller knows: each is checked against the
    life of an interaction, then one UPDATE per kind of move and one INSERT of all events.

    A row found in another status than the caller said is a Conflict; raised inside the
    caller's transaction, it rolls back every move with it."""
    try:
        events = [
            (move.interaction_id, transition_event(move.from_status, move.to, at, **move.data))
            for move in moves
        ]
    except InvalidTransition as exc:
        raise Invalid(str(exc), "status") from None
    kinds: dict[tuple[S, S, tuple[str, ...]], list[Move]] = {}
    for move in moves:
        kinds.setdefault((move.from_status, move.to, tuple(move.columns)), []).append(move)
    for (from_status, to, names), group in kinds.items():
        ids = [move.interaction_id for move in group]
        if len(set(ids)) != len(ids):
            raise ValueError("an interaction moves at most once per statement")
        values: dict[str, Any] = {"status": to.value, "updated_at": at}
        if to in _ANSWERED:
            values["answered_at"] = func.coalesce(interactions.c.answered_at, at)
        if to in _ENDED:
            values["ended_at"] = at
        for name in names:
            values[name] = _per_row(name, group)
        result = await conn.execute(
            update(interactions)
            .where(interactions.c.id.in_(ids), interactions.c.status == from_status.value)
            .values(**values)
        )
        if result.rowcount != len(ids):
            raise Conflict(
                f"{len(ids) - result.rowcount} of interactions {ids} were not {from_status}"
            )
    await conn.execute(
        insert(interaction_events),
        [
            {
                "interaction_id": interaction_id,
                "type": event.type,
                "from_status": event.from_status.value if event.from_status else None,
                "to_status": event.to_status.value if event.to_status else None,
                "data": event.data,
                "at": event.at,
            }
            for interaction_id, event in events
        ],
    )


def _per_row(name: str, group: list[Move]) -> Any:
    """A column's new value: one value for all, or a CASE on the id when the rows differ."""
    column = interactions.c[name]
    values = [move.columns[name] for move in group]
    if all(value == values[0] for value in values):
        return literal(values[0], column.type)
    return case(
        {move.interaction_id: literal(move.columns[name], column.type) for move in group},
        value=interactions.c.id,
        else_=column,
    )
