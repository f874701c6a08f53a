"""Phone calls on the record: one row per Twilio CallSid, holding what the voice channel needs
between webhooks (who is calling, where in the flow they are, their interaction)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from contactcenter.errors import Conflict
from contactcenter.model import CallStage
from contactcenter.runtime.clock import now
from contactcenter.store.db import Database
from contactcenter.store.tables import calls
from contactcenter.store.upsert import insert_new

Form = Mapping[str, str]  # a webhook's form, as Twilio posts it


@dataclass(frozen=True, slots=True)
class CallRecord:
    id: int
    call_sid: str
    customer_id: int
    interaction_id: int | None
    from_number: str
    to_number: str
    language: str
    stage: CallStage
    attempts: int
    path: list[str]
    announced_at: datetime | None
    created_at: datetime
    ended_at: datetime | None


def _record(row: Any) -> CallRecord:
    return CallRecord(
        row.id,
        row.call_sid,
        row.customer_id,
        row.interaction_id,
        row.from_number,
        row.to_number,
        row.language,
        CallStage(row.stage),
        row.attempts,
        list(row.path or []),
        row.announced_at,
        row.created_at,
        row.ended_at,
    )


class CallRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, call_sid: str) -> CallRecord | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(select(calls).where(calls.c.call_sid == call_sid))
            ).one_or_none()
        return None if row is None else _record(row)

    async def by_interaction(self, interaction_id: int) -> CallRecord | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(calls)
                    .where(calls.c.interaction_id == interaction_id)
                    .order_by(calls.c.id.desc())
                    .limit(1)
                )
            ).one_or_none()
        return None if row is None else _record(row)

    async def start(
        self,
        call_sid: str,
        customer_id: int,
        from_number: str,
        to_number: str,
        language: str,
        stage: CallStage,
    ) -> tuple[CallRecord, bool]:
        """The call's row, new; or the one stored already (a retried webhook), with False."""
        at = now()
        stmt = (
            insert_new(self.db.dialect, calls, "call_sid")
            .values(
                call_sid=call_sid,
                customer_id=customer_id,
                from_number=from_number,
                to_number=to_number,
                language=language,
                stage=stage.value,
                attempts=0,
                path=[],
                created_at=at,
                updated_at=at,
            )
            .returning(*calls.c)
        )
        async with self.db.single_write() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        if row is not None:
            return _record(row), True
        found = await self.get(call_sid)
        if found is None:  # rows of calls are never deleted
            raise Conflict(f"call {call_sid} was stored and is gone", "CallSid")
        return found, False

    async def update(self, call_sid: str, **values: Any) -> None:
        """Change the call's state; a CallStage is stored by its value."""
        values = {k: v.value if isinstance(v, CallStage) else v for k, v in values.items()}
        async with self.db.single_write() as conn:
            await conn.execute(
                update(calls).where(calls.c.call_sid == call_sid).values(updated_at=now(), **values)
            )

    async def end(self, call_sid: str, stage: CallStage = CallStage.ENDED) -> bool:
        """Mark the call ended (a callback's call keeps its stage: the customer is still owed
        the call); False when it was ended already (a repeated status callback)."""
        at = now()
        async with self.db.single_write() as conn:
            result = await conn.execute(
                update(calls)
                .where(calls.c.call_sid == call_sid, calls.c.ended_at.is_(None))
                .values(stage=stage.value, ended_at=at, updated_at=at)
            )
        return bool(result.rowcount)


def sid_of(form: Mapping[str, str]) -> str:
    """A webhook's CallSid; a request without one still gets a call of its own."""
    sid = form.get("CallSid", "").strip()[:64]
    return sid or f"missing-{time.time_ns()}"


def seconds_of(value: str | None) -> int | None:
    """A duration Twilio sent (CallDuration, DialCallDuration, RecordingDuration)."""
    try:
        return int(value) if value else None
    except ValueError:
        return None
