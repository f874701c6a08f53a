"""Outgoing mail: kept in the outbox until the relay accepts it.

`put` stores the message's bytes (blob store) and its row in one step; a sender task delivers
what is due through the configured relay with aiosmtplib, one connection a round. A refused or
failed delivery is tried again after a growing pause (30 s, 1, 2, 4 ... minutes, at most an
hour apart); after `MAX_ATTEMPTS` the mail is `failed`. Each outcome is an event on the
interaction, so an agent sees a reply that did not go out. A restart loses nothing: pending
rows are where they were.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import aiosmtplib
import structlog
from sqlalchemy import Row, bindparam, func, select, update

from contactcenter.interactions.records import InteractionRecords
from contactcenter.mail.compose import written
from contactcenter.runtime.clock import now
from contactcenter.runtime.rounds import Rounds
from contactcenter.store.blobs import BlobStore
from contactcenter.store.bulk import insert_rows
from contactcenter.store.db import Database
from contactcenter.store.tables import outbox

log = structlog.get_logger(__name__)
MAX_ATTEMPTS = 12
FIRST_PAUSE = 30.0
LONGEST_PAUSE = 3600.0


class Outbox:
    def __init__(
        self,
        *,
        db: Database,
        blobs: BlobStore,
        interactions: InteractionRecords,
        relay_host: str,
        relay_port: int,
        poll_seconds: float = 5.0,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.interactions = interactions
        self.relay_host = relay_host
        self.relay_port = relay_port
        self.first_pause = FIRST_PAUSE
        self.rounds = Rounds(name="outbox", round_=self.send_due, every=poll_seconds)

    async def put(self, message: EmailMessage, kind: str, interaction_id: int | None) -> int:
        """Keep `message` for delivery; the sender task is woken to deliver it now."""
        return (await self.put_many([(message, kind, interaction_id)]))[0]

    async def count(self, interaction_id: int, kind: str) -> int:
        """How many mails of `kind` were kept for an interaction (sent or not yet)."""
        async with self.db.connect() as conn:
            return (
                await conn.execute(
                    select(func.count())
                    .select_from(outbox)
                    .where(outbox.c.interaction_id == interaction_id, outbox.c.kind == kind)
                )
            ).scalar_one()

    async def put_many(self, mails: list[tuple[EmailMessage, str, int | None]]) -> list[int]:
        """Keep many mails (message, kind, interaction id) in one transaction; their ids."""
        if not mails:
            return []
        digests = await asyncio.gather(*(self.blobs.put(m.as_bytes()) for m, _, _ in mails))
        at = now()
        rows = [
            (
                interaction_id,
                kind,
                parseaddr(written(message, "From"))[1].lower(),
                parseaddr(written(message, "To"))[1].lower(),
                written(message, "Message-ID").strip("<>"),
                digest,
                "pending",
                0,
                at,
                "",
                at,
            )
            for (message, kind, interaction_id), digest in zip(mails, digests, strict=True)
        ]
        async with self.db.begin() as conn:
            ids = await insert_rows(
                conn,
                outbox,
                [
                    "interaction_id",
                    "kind",
                    "sender",
                    "recipient",
                    "message_id",
                    "sha256",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "last_error",
                    "created_at",
                ],
                rows,
                return_ids=True,
            )
        self.rounds.wake()
        return ids

    async def start(self) -> None:
        if self.relay_host:
            self.rounds.start()

    async def stop(self) -> None:
        await self.rounds.stop()

    async def send_due(self) -> int:
        """Deliver every pending mail that is due, over one connection to the relay; returns
        how many went out."""
        async with self.db.connect() as conn:
            rows = list(
                await conn.execute(
                    select(outbox)
                    .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now())
                    .order_by(outbox.c.id)
                    .limit(100)
                )
            )
        if not rows:
            return 0
        relay = aiosmtplib.SMTP(hostname=self.relay_host, port=self.relay_port, timeout=30)
        try:
            await relay.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            for row in rows:
                await self._failed(row, f"{type(exc).__name__}: {exc}")
            return 0
        sent: list[Row[Any]] = []
        try:
            for row in rows:
                raw = await self.blobs.get(row.sha256)
                try:
                    await relay.sendmail(row.sender, [row.recipient], raw)
                except aiosmtplib.SMTPServerDisconnected as exc:
                    await self._failed(row, f"{type(exc).__name__}: {exc}")
                    break  # the rest wait for the next round, on a new connection
                except (aiosmtplib.SMTPException, OSError) as exc:
                    await self._failed(row, f"{type(exc).__name__}: {exc}")
                    continue
                sent.append(row)
            if relay.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await relay.quit()
        finally:
            # Even when stopped half-way: what the relay took is never sent twice. The
            # connection is dropped, not quit: a conversation cut by a cancel cannot be ended
            # politely (aiosmtplib then waits for an answer that never comes).
            relay.close()
            await self._done(sent)
        return len(sent)

    async def _done(self, rows: list[Row[Any]]) -> None:
        """Mark delivered mails sent, with an event on each one's interaction."""
        if not rows:
            return
        at = now()
        async with self.db.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == bindparam("b_id"))
                .values(status="sent", sent_at=at, attempts=bindparam("b_attempts")),
                [{"b_id": row.id, "b_attempts": row.attempts + 1} for row in rows],
            )
            for row in rows:
                if row.interaction_id is not None:
                    await self.interactions.add_event(
                        row.interaction_id,
                        "email.sent",
                        {"kind": row.kind, "to": row.recipient, "message_id": row.message_id},
                        at=at,
                        conn=conn,
                    )
        for row in rows:
            log.info("outbox.sent", outbox_id=row.id, kind=row.kind)

    async def _failed(self, row: Row[Any], error: str) -> None:
        attempts = row.attempts + 1
        pause = min(LONGEST_PAUSE, self.first_pause * 2 ** (attempts - 1))
        gave_up = attempts >= MAX_ATTEMPTS
        at = now()
        async with self.db.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id)
                .values(
                    attempts=attempts,
                    last_error=error[:2000],
                    status="failed" if gave_up else "pending",
                    next_attempt_at=at + timedelta(seconds=pause),
                )
            )
            if row.interaction_id is not None:
                await self.interactions.add_event(
                    row.interaction_id,
                    "email.send_failed",
                    {
                        "kind": row.kind,
                        "to": row.recipient,
                        "attempts": attempts,
                        "error": error[:500],
                        "gave_up": gave_up,
                    },
                    at=at,
                    conn=conn,
                )
        log.warning("outbox.send_failed", outbox_id=row.id, attempts=attempts, error=error)
