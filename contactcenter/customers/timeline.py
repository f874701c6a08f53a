"""The customer's timeline: interactions on every channel, notes and record events, newest first.

Entries come from three tables. Each page asks each table for its next `limit + 1` rows after the
cursor, merges them by (time, kind, id) and returns the first `limit`; the cursor is the last
entry's key, so paging stays correct while new entries arrive.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Invalid
from contactcenter.interactions.records import InteractionRecords
from contactcenter.store.tables import customer_events, interactions, notes

# Ties at the same instant are ordered by kind, then id; the numbers fix that order.
_RANK = {"interaction": 2, "note": 1, "event": 0}


@dataclass(frozen=True, slots=True)
class Cursor:
    at: datetime
    rank: int
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat(), self.rank, self.id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            at, rank, ident = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            cursor = cls(datetime.fromisoformat(at), int(rank), int(ident))
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
            raise Invalid("cursor is not one this service handed out", "cursor") from None
        if cursor.at.tzinfo is None:
            raise Invalid("cursor is not one this service handed out", "cursor")
        return cursor


@dataclass(frozen=True, slots=True)
class TimelinePage:
    entries: list[dict[str, Any]]
    next_cursor: str | None


def _after(cursor: Cursor | None, at: Column[Any], ident: Column[Any], rank: int) -> Any:
    """Rows of one source that sort after `cursor` in (time desc, rank desc, id desc) order."""
    if cursor is None:
        return True
    if rank < cursor.rank:
        return at <= cursor.at
    if rank > cursor.rank:
        return at < cursor.at
    return or_(at < cursor.at, and_(at == cursor.at, ident < cursor.id))


class Timeline:
    def __init__(self, *, customers: CustomerRecords, interactions: InteractionRecords) -> None:
        self.customers = customers
        self.interactions = interactions

    async def page(
        self, customer_id: int, limit: int = 20, cursor: str | None = None
    ) -> TimelinePage:
        after = Cursor.decode(cursor) if cursor else None
        async with self.customers.db.connect() as conn:
            await self.customers.get(customer_id, conn)
            keyed: list[tuple[tuple[datetime, int, int], str, Any]] = []
            sources: list[tuple[str, Any, Column[Any], ColumnElement[bool]]] = [
                (
                    "interaction",
                    interactions,
                    interactions.c.created_at,
                    interactions.c.customer_id == customer_id,
                ),
                ("note", notes, notes.c.created_at, notes.c.customer_id == customer_id),
                (
                    "event",
                    customer_events,
                    customer_events.c.at,
                    customer_events.c.customer_id == customer_id,
                ),
            ]
            for kind, table, at, owner in sources:
                stmt: Select[Any] = (
                    select(table)
                    .where(owner, _after(after, at, table.c.id, _RANK[kind]))
                    .order_by(at.desc(), table.c.id.desc())
                    .limit(limit + 1)
                )
                for row in await conn.execute(stmt):
                    keyed.append(((getattr(row, at.name), _RANK[kind], row.id), kind, row))
            keyed.sort(key=lambda item: item[0], reverse=True)
            page, more = keyed[:limit], len(keyed) > limit
            entries = await self._entries(conn, page)
        next_cursor = Cursor(*page[-1][0]).encode() if more and page else None
        return TimelinePage(entries, next_cursor)

    async def _entries(
        self, conn: AsyncConnection, page: list[tuple[tuple[datetime, int, int], str, Any]]
    ) -> list[dict[str, Any]]:
        rows = [row for _, kind, row in page if kind == "interaction"]
        detailed = {i["id"]: i for i in await self.interactions.with_details(conn, rows)}
        entries: list[dict[str, Any]] = []
        for (at, _, ident), kind, row in page:
            entry: dict[str, Any] = {"kind": kind, "id": ident, "at": at.isoformat()}
            if kind == "interaction":
                entry["interaction"] = detailed[ident]
            elif kind == "note":
                entry["note"] = {
                    "body": row.body,
                    "interaction_id": row.interaction_id,
                    "author_user_id": row.author_user_id,
                }
            else:
                entry["event"] = {"type": row.type, "data": row.data}
            entries.append(entry)
        return entries
