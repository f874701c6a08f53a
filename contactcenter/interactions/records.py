"""Interactions on the record: opening one, its transitions, messages and attachments, and reads.

Channels and the queue write through `InteractionRecords`; every transition is checked by the
domain model and stored as an event in the same transaction as the status it sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.errors import Invalid, NotFound
from contactcenter.interactions.transitions import Move, NewInteraction, apply_moves, open_many
from contactcenter.model import (
    Channel,
    Direction,
    Initiator,
    InteractionStatus,
    Tier,
)
from contactcenter.runtime.clock import iso, now
from contactcenter.store.blobs import BlobStore
from contactcenter.store.bulk import insert_rows
from contactcenter.store.db import Database
from contactcenter.store.tables import (
    attachments,
    customers,
    interaction_events,
    interactions,
    messages,
)

# What an interaction's detail lists hold, and which columns of each.
_DETAILS = (
    ("messages", messages, ("id", "direction", "author", "agent_id", "body", "created_at")),
    (
        "attachments",
        attachments,
        ("id", "message_id", "filename", "content_type", "size", "sha256", "pages"),
    ),
    ("events", interaction_events, ("type", "from_status", "to_status", "data", "at")),
)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMessage:
    """A message to keep on an interaction's timeline (`at`: now when not given)."""

    interaction_id: int
    body: str
    direction: Direction
    author: Initiator
    agent_id: int | None = None
    external_id: str | None = None
    at: datetime | None = None


_MESSAGE_COLUMNS = (
    "interaction_id",
    "direction",
    "author",
    "agent_id",
    "body",
    "external_id",
    "created_at",
)


def _message_row(m: NewMessage) -> tuple[Any, ...]:
    return (
        m.interaction_id,
        m.direction.value,
        m.author.value,
        m.agent_id,
        m.body,
        m.external_id,
        m.at or now(),
    )


@dataclass(frozen=True, slots=True)
class InteractionFilter:
    """What `InteractionRecords.list` narrows by; every field optional."""

    channel: Channel | None = None
    status: InteractionStatus | None = None
    tier: Tier | None = None
    customer_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def interaction_json(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "channel": row.channel,
        "direction": row.direction,
        "initiated_by": row.initiated_by,
        "status": row.status,
        "subject": row.subject,
        "topic": row.topic,
        "attributes": row.attributes,
        "products": row.products,
        "agent_id": row.agent_id,
        "group_id": row.group_id,
        "linked_interaction_id": row.linked_interaction_id,
        "disposition": row.disposition,
        "outcome": row.outcome,
        "complaint": row.complaint,
        "satisfaction": row.satisfaction,
        "created_at": iso(row.created_at),
        "answered_at": iso(row.answered_at),
        "ended_at": iso(row.ended_at),
        "updated_at": iso(row.updated_at),
    }


def queued_json(
    interaction_id: int, new: NewInteraction, at: datetime, message: tuple[int, str] | None
) -> dict[str, Any]:
    """An interaction just stored as queued (with the customer's first message, if any) and
    not touched since, as `InteractionRecords.get` would read it then: what the write knows,
    without reading it back. A test holds the two equal."""
    stored = {
        "id": interaction_id,
        "customer_id": new.customer_id,
        "channel": new.channel.value,
        "direction": new.direction.value,
        "initiated_by": new.initiated_by.value,
        "status": new.status.value,
        "subject": new.subject,
        "topic": new.topic,
        "attributes": new.attributes or {},
        "products": list(new.products),
        "agent_id": None,
        "group_id": None,
        "linked_interaction_id": None,
        "disposition": None,
        "outcome": None,
        "complaint": False,
        "satisfaction": None,
        "created_at": at.isoformat(),
        "answered_at": None,
        "ended_at": None,
        "updated_at": at.isoformat(),
    }
    said = []
    if message is not None:
        said.append(
            {
                "id": message[0],
                "direction": Direction.INBOUND.value,
                "author": Initiator.CUSTOMER.value,
                "agent_id": None,
                "body": message[1],
                "created_at": at.isoformat(),
            }
        )
    created = {
        "type": "created",
        "from_status": None,
        "to_status": new.status.value,
        "data": {"channel": new.channel.value},
        "at": at.isoformat(),
    }
    return stored | {"messages": said, "attachments": [], "events": [created]}


class InteractionRecords:
    def __init__(self, *, db: Database, blobs: BlobStore | None = None) -> None:
        self.db = db
        self.blobs = blobs

    async def link(self, interaction_id: int, linked_id: int) -> None:
        """Mark an interaction as following an earlier one (a mail on a closed thread, a chat
        line written after the chat ended)."""
        async with self.db.begin() as conn:
            await conn.execute(
                update(interactions)
                .where(interactions.c.id == interaction_id)
                .values(linked_interaction_id=linked_id)
            )

    async def open(
        self,
        customer_id: int,
        channel: Channel,
        *,
        status: InteractionStatus = InteractionStatus.QUEUED,
        direction: Direction = Direction.INBOUND,
        initiated_by: Initiator = Initiator.CUSTOMER,
        subject: str = "",
        topic: str | None = None,
        attributes: dict[str, Any] | None = None,
        external_ref: str | None = None,
        at: datetime | None = None,
        conn: AsyncConnection | None = None,
        queued: bool = False,
    ) -> int:
        """Store a new interaction and its `created` event; returns its id. `queued` marks it
        as entering the routing queue now (its place in the queue)."""
        new = NewInteraction(
            customer_id,
            channel,
            subject,
            topic,
            attributes,
            external_ref,
            status,
            direction,
            initiated_by,
        )
        if conn is None:
            async with self.db.begin() as conn:
                return (await open_many(conn, [new], at or now(), queued))[0]
        return (await open_many(conn, [new], at or now(), queued))[0]

    async def transition(
        self,
        interaction_id: int,
        to: InteractionStatus,
        *,
        at: datetime | None = None,
        conn: AsyncConnection | None = None,
        columns: dict[str, Any] | None = None,
        **data: Any,
    ) -> None:
        """Move to `to` if the current status allows it, storing the event with the status.
        `columns` are other fields of the interaction written in the same UPDATE."""
        if conn is None:
            async with self.db.begin() as conn:
                return await self.transition(
                    interaction_id, to, at=at, conn=conn, columns=columns, **data
                )
        row = await self._row(conn, interaction_id, for_update=not self.db.is_sqlite)
        move = Move(interaction_id, InteractionStatus(row.status), to, data, columns or {})
        await apply_moves(conn, [move], at or now())

    async def add_event_once(
        self, interaction_id: int, type: str, data: dict[str, Any], *, key: str
    ) -> bool:
        """An event kept once per value of `data[key]` (a recording by its sid, as Twilio may
        tell of it twice); False when it was kept before."""
        async with self.db.begin() as conn:
            known = (
                await conn.execute(
                    select(func.count()).where(
                        interaction_events.c.interaction_id == interaction_id,
                        interaction_events.c.type == type,
                        interaction_events.c.data[key].as_string() == str(data[key]),
                    )
                )
            ).scalar_one()
            if not known:
                await self.add_event(interaction_id, type, data, at=now(), conn=conn)
            return not known

    async def add_event(
        self,
        interaction_id: int,
        type: str,
        data: dict[str, Any],
        *,
        at: datetime,
        conn: AsyncConnection,
    ) -> None:
        """An event that changes no status (an overflow, an SLA warning), kept with the rest."""
        await conn.execute(
            insert(interaction_events).values(
                interaction_id=interaction_id,
                type=type,
                from_status=None,
                to_status=None,
                data=data,
                at=at,
            )
        )

    async def record_outcome(
        self,
        interaction_id: int,
        *,
        disposition: str | None = None,
        outcome: str | None = None,
        complaint: bool | None = None,
        satisfaction: int | None = None,
        products: list[str] | None = None,
        conn: AsyncConnection | None = None,
    ) -> None:
        """Set the wrap-up fields that are given; the others stay as they are."""
        given = {
            "disposition": disposition,
            "outcome": outcome,
            "complaint": complaint,
            "satisfaction": satisfaction,
            "products": products,
        }
        values = {k: v for k, v in given.items() if v is not None}
        if satisfaction is not None and not 1 <= satisfaction <= 5:
            raise Invalid("satisfaction must be 1 to 5", "satisfaction")
        if conn is None:
            async with self.db.begin() as conn:
                return await self.record_outcome(interaction_id, conn=conn, **given)
        await self._row(conn, interaction_id)
        await conn.execute(
            update(interactions)
            .where(interactions.c.id == interaction_id)
            .values(**values, updated_at=now())
        )

    async def add_message(
        self,
        interaction_id: int,
        body: str,
        *,
        direction: Direction,
        author: Initiator,
        agent_id: int | None = None,
        external_id: str | None = None,
        at: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> int:
        if conn is None:
            async with self.db.begin() as conn:
                return await self.add_message(
                    interaction_id,
                    body,
                    direction=direction,
                    author=author,
                    agent_id=agent_id,
                    external_id=external_id,
                    at=at,
                    conn=conn,
                )
        await self._row(conn, interaction_id)
        new = NewMessage(
            interaction_id=interaction_id,
            body=body,
            direction=direction,
            author=author,
            agent_id=agent_id,
            external_id=external_id,
            at=at,
        )
        (message_id,) = await self.add_messages([new], conn=conn)
        return message_id

    async def add_messages(self, new: list[NewMessage], *, conn: AsyncConnection) -> list[int]:
        """Messages on their interactions' timelines in the caller's transaction, their ids in
        order: one INSERT for one, COPY (PostgreSQL) or a multi-row INSERT for many. Every
        message the service keeps is written here."""
        if not new:
            return []
        if len(new) == 1:
            row = dict(zip(_MESSAGE_COLUMNS, _message_row(new[0]), strict=True))
            result = await conn.execute(insert(messages).values(**row).returning(messages.c.id))
            return [result.scalar_one()]
        rows = [_message_row(m) for m in new]
        return await insert_rows(conn, messages, list(_MESSAGE_COLUMNS), rows, return_ids=True)

    async def add_attachment(
        self,
        interaction_id: int,
        filename: str,
        content_type: str,
        data: bytes,
        *,
        message_id: int | None = None,
        pages: int | None = None,
        conn: AsyncConnection | None = None,
    ) -> int:
        """Bytes go to the blob store first, so a stored row always has its bytes on disk.
        `pages`: a PDF's or TIFF's page count, when it was read."""
        if self.blobs is None:
            raise RuntimeError("InteractionRecords was built without a blob store")
        digest = await self.blobs.put(data)
        if conn is None:
            async with self.db.begin() as conn:
                return await self.add_attachment(
                    interaction_id,
                    filename,
                    content_type,
                    data,
                    message_id=message_id,
                    pages=pages,
                    conn=conn,
                )
        await self._row(conn, interaction_id)
        return (
            await conn.execute(
                insert(attachments)
                .values(
                    interaction_id=interaction_id,
                    message_id=message_id,
                    filename=filename,
                    content_type=content_type,
                    size=len(data),
                    sha256=digest,
                    created_at=now(),
                    pages=pages,
                )
                .returning(attachments.c.id)
            )
        ).scalar_one()

    async def attachment(self, attachment_id: int) -> tuple[Row[Any], bytes]:
        if self.blobs is None:
            raise RuntimeError("InteractionRecords was built without a blob store")
        async with self.db.connect() as conn:
            row = (
                await conn.execute(select(attachments).where(attachments.c.id == attachment_id))
            ).one_or_none()
        if row is None:
            raise NotFound("attachment", attachment_id)
        return row, await self.blobs.get(row.sha256)

    # -- reading ---------------------------------------------------------------------------

    async def find_by_ref(self, channel: Channel, external_ref: str) -> int | None:
        """The interaction a channel already stored under its own reference (a CallSid, a
        Message-ID, a caller's idempotency key), if any."""
        async with self.db.connect() as conn:
            return (
                await conn.execute(
                    select(interactions.c.id).where(
                        interactions.c.channel == channel.value,
                        interactions.c.external_ref == external_ref,
                    )
                )
            ).scalar_one_or_none()

    async def answered_since(self, channel: Channel, since: datetime) -> int:
        """How many interactions of `channel` an agent accepted since `since`."""
        async with self.db.connect() as conn:
            return (
                await conn.execute(
                    select(func.count()).where(
                        interactions.c.channel == channel.value,
                        interactions.c.answered_at >= since,
                    )
                )
            ).scalar_one()

    async def get(self, interaction_id: int) -> dict[str, Any]:
        """One interaction with its messages, attachments and events."""
        async with self.db.connect() as conn:
            row = await self._row(conn, interaction_id)
            return (await self.with_details(conn, [row]))[0]

    async def list(
        self, filters: InteractionFilter, before_id: int | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Newest first, paged by id; no messages (read one interaction for those)."""
        stmt = select(interactions)
        if filters.tier is not None:
            stmt = stmt.join(customers, customers.c.id == interactions.c.customer_id).where(
                customers.c.tier == filters.tier.value
            )
        for column, value in (
            (interactions.c.channel, filters.channel),
            (interactions.c.status, filters.status),
        ):
            if value is not None:
                stmt = stmt.where(column == value.value)
        if filters.customer_id is not None:
            stmt = stmt.where(interactions.c.customer_id == filters.customer_id)
        if filters.since is not None:
            stmt = stmt.where(interactions.c.created_at >= filters.since)
        if filters.until is not None:
            stmt = stmt.where(interactions.c.created_at < filters.until)
        if before_id is not None:
            stmt = stmt.where(interactions.c.id < before_id)
        stmt = stmt.order_by(interactions.c.id.desc()).limit(limit)
        async with self.db.connect() as conn:
            return [interaction_json(row) for row in await conn.execute(stmt)]

    async def with_details(
        self, conn: AsyncConnection, rows: Sequence[Row[Any]]
    ) -> list[dict[str, Any]]:
        """Interactions as JSON with their messages, attachments and events: three queries."""
        ids = [row.id for row in rows]
        details: dict[int, dict[str, list[dict[str, Any]]]] = {
            i: {key: [] for key, _, _ in _DETAILS} for i in ids
        }
        if ids:
            for key, table, columns in _DETAILS:
                result = await conn.execute(
                    select(table).where(table.c.interaction_id.in_(ids)).order_by(table.c.id)
                )
                for row in result:
                    details[row.interaction_id][key].append(
                        {c: _jsonable(getattr(row, c)) for c in columns}
                    )
        return [interaction_json(row) | details[row.id] for row in rows]

    async def _row(
        self, conn: AsyncConnection, interaction_id: int, for_update: bool = False
    ) -> Row[Any]:
        stmt = select(interactions).where(interactions.c.id == interaction_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).one_or_none()
        if row is None:
            raise NotFound("interaction", interaction_id)
        return row
