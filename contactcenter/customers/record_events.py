"""Events on a customer's record (the timeline's `event` entries): a stage or tier changed, a
complaint moved, a survey answered, a merge. One way to write them, in the caller's
transaction, so that the event and the change it reports are stored together."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.store.tables import customer_events


async def add_event(
    conn: AsyncConnection, customer_id: int, kind: str, data: dict[str, Any], at: datetime
) -> None:
    """One event on the customer's timeline."""
    await add_events(conn, [(customer_id, kind, data)], at)


async def add_events(
    conn: AsyncConnection, events: Sequence[tuple[int, str, dict[str, Any]]], at: datetime
) -> None:
    """Several events at once (customer id, kind, data), all at `at`."""
    if not events:
        return
    await conn.execute(
        insert(customer_events),
        [
            {"customer_id": customer_id, "type": kind, "data": data, "at": at}
            for customer_id, kind, data in events
        ],
    )
