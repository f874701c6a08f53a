"""Arrivals stored and routed together (group commit): every channel's enqueue waits here.

Arrivals that come while the queue is busy are stored together in one transaction, each still
answered only once it is stored; a batch that fails is tried again one arrival at a time, so
that one bad arrival fails by itself. An `external_ref` stored before (a retried webhook, a mail
fetched twice) answers with that interaction instead of queuing it again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from contactcenter import events as ev
from contactcenter.errors import Conflict
from contactcenter.events import EventBus
from contactcenter.interactions.records import InteractionRecords, NewMessage
from contactcenter.interactions.transitions import NewInteraction, open_many
from contactcenter.model import Customer, Direction, Initiator, InteractionStatus
from contactcenter.queue.commands import answer, ok
from contactcenter.queue.persistence import known_refs, store_decisions
from contactcenter.queue.router import Router
from contactcenter.queue.translation import moment, work_item
from contactcenter.store.db import Database
from routing.types import Decision

# Arrivals admitted in one transaction at most; more wait for the next.
MAX_BATCH = 256


@dataclass(frozen=True, slots=True)
class Admitted:
    """An arrival once stored: its interaction, and, when this arrival stored it and nothing
    else happened to it in that transaction (it waits, as stored), what was written: enough to
    answer its sender without reading it back (`records.queued_json`)."""

    interaction_id: int
    fresh: NewInteraction | None = None
    at: datetime | None = None
    message: tuple[int, str] | None = None  # the customer's first message: its id and text


@dataclass(slots=True)
class Arrival:
    """One interaction a channel asked to enqueue, waiting for its batch to be stored."""

    new: NewInteraction
    customer: Customer
    done: asyncio.Future[Admitted]
    message: str = ""  # the customer's first words, kept with the interaction
    command: int | None = None  # the command another instance handed over (commands.py)

    @property
    def ref(self) -> tuple[str, str] | None:
        ref = self.new.external_ref
        return (self.new.channel.value, ref) if ref else None

    def resolve(self, admitted: Admitted) -> None:
        if not self.done.done():  # the caller may have given up waiting
            self.done.set_result(admitted)

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class Arrivals:
    """The arrivals waiting to be stored, and the one task that admits them."""

    def __init__(
        self, *, router: Router, db: Database, interactions: InteractionRecords, bus: EventBus
    ) -> None:
        self.router = router
        self.db = db
        self.interactions = interactions
        self.bus = bus
        self._waiting: list[Arrival] = []
        self._admitter: asyncio.Task[None] | None = None

    async def admit(
        self,
        new: NewInteraction,
        customer: Customer,
        message: str = "",
        *,
        command: int | None = None,
    ) -> Admitted:
        """The interaction once it is stored (with the customer's `message`, if any, and
        the answer to the `command` it came in, in the same transaction) and routed."""
        loop = asyncio.get_running_loop()
        arrival = Arrival(new, customer, loop.create_future(), message, command)
        self._waiting.append(arrival)
        if self._admitter is None or self._admitter.done():
            self._admitter = asyncio.create_task(self._admit_waiting(), name="queue-admit")
        # Shielded: a caller that stops waiting leaves its arrival in the batch, stored.
        return await asyncio.shield(arrival.done)

    async def drain(self) -> None:
        """Wait until what has arrived is stored."""
        if self._admitter is not None:
            await asyncio.gather(self._admitter, return_exceptions=True)

    async def _admit_waiting(self) -> None:
        """Admit arrivals batch by batch until none wait; each batch under the lock."""
        while self._waiting:
            async with self.router.lock:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                await self._admit(batch)

    async def _admit(self, batch: list[Arrival]) -> None:
        """Store and route a batch in one transaction; if it fails, each arrival alone, so
        that one bad arrival fails by itself."""
        try:
            await self._admit_together(batch)
        except Exception as exc:
            if len(batch) > 1:
                for arrival in batch:
                    await self._admit([arrival])
                return
            arrival = batch[0]
            existing = None
            if isinstance(exc, IntegrityError) and arrival.ref:
                existing = await self.interactions.find_by_ref(arrival.new.channel, arrival.ref[1])
            if existing is None:
                arrival.fail(exc)
            else:
                arrival.resolve(Admitted(existing))

    async def _admit_together(self, batch: list[Arrival]) -> None:
        now = self.router.clock()
        routed = False
        try:
            async with self.db.begin() as conn:
                known = await known_refs(conn, [a.ref for a in batch if a.ref])
                fresh: list[Arrival] = []
                for arrival in batch:
                    # A ref stored before, or twice in this batch, is the one interaction.
                    if arrival.ref is None or arrival.ref not in known:
                        fresh.append(arrival)
                        if arrival.ref:
                            known[arrival.ref] = 0
                ids = await open_many(conn, [a.new for a in fresh], moment(now), queued=True)
                said = [(a, i) for a, i in zip(fresh, ids, strict=True) if a.message]
                message_ids = await self.interactions.add_messages(
                    [
                        NewMessage(
                            interaction_id=interaction_id,
                            body=arrival.message,
                            direction=Direction.INBOUND,
                            author=Initiator.CUSTOMER,
                            at=moment(now),
                        )
                        for arrival, interaction_id in said
                    ],
                    conn=conn,
                )
                decisions: list[Decision] = []
                routed = True
                for arrival, interaction_id in zip(fresh, ids, strict=True):
                    work = work_item(
                        interaction_id,
                        arrival.new.channel.value,
                        arrival.customer,
                        arrival.new.topic,
                        arrival.new.attributes,
                        now,
                    )
                    decisions += self.router.engine.enqueue(work, now)
                await store_decisions(
                    conn, self.interactions, decisions, now, self.router.callbacks
                )
                await answer(
                    conn,
                    {
                        a.command: ok(i)
                        for a, i in zip(fresh, ids, strict=True)
                        if a.command is not None
                    },
                    all_=True,  # a withdrawn command's arrival is not stored
                )
        except Exception:
            if routed:  # the engine moved, the database did not: the database wins
                await self.router.rebuild()
            raise
        touched = {int(d.item_id) for d in decisions if hasattr(d, "item_id")}
        said_ids = {
            interaction_id: message_id
            for (_, interaction_id), message_id in zip(said, message_ids, strict=True)
        }
        stored: dict[int, Admitted] = {}
        for arrival, interaction_id in zip(fresh, ids, strict=True):
            stored[id(arrival)] = Admitted(interaction_id)
            if interaction_id not in touched:
                message_id = said_ids.get(interaction_id)
                stored[id(arrival)] = Admitted(
                    interaction_id,
                    arrival.new,
                    moment(now),
                    None if message_id is None else (message_id, arrival.message),
                )
            if arrival.ref:
                known[arrival.ref] = interaction_id
            self.bus.publish(
                ev.InteractionQueued(
                    interaction_id=interaction_id,
                    customer_id=arrival.customer.id,
                    channel=arrival.new.channel.value,
                )
            )
        for (_, interaction_id), message_id in zip(said, message_ids, strict=True):
            self.bus.publish(
                ev.InteractionMessage(interaction_id=interaction_id, message_id=message_id)
            )
        self.router.published(decisions)
        for arrival in batch:
            found = stored.get(id(arrival))
            arrival.resolve(found or Admitted(known[arrival.ref]))  # type: ignore[index]

    async def enter_started(self, interaction_id: int, customer: Customer, row: Any) -> None:
        """Work that began outside the queue (a chat with the bot, its `row` read just now)
        enters it: stored as queued and routed in one transaction, its wait starting now."""
        if row.status != InteractionStatus.BOT.value:
            raise Conflict(
                f"interaction {interaction_id} is {row.status}, not with the bot", "status"
            )
        async with self.router.lock:
            now = self.router.clock()
            at = moment(now)
            work = work_item(interaction_id, row.channel, customer, row.topic, row.attributes, now)
            decisions = self.router.call(self.router.engine.enqueue, work, now)
            try:
                async with self.db.begin() as conn:
                    await self.interactions.transition(
                        interaction_id,
                        InteractionStatus.QUEUED,
                        at=at,
                        conn=conn,
                        columns={"queued_at": at, "routing_since": at},
                    )
                    await store_decisions(
                        conn, self.interactions, decisions, now, self.router.callbacks
                    )
            except Exception:
                await self.router.rebuild()  # the engine moved, the database did not
                raise
            self.bus.publish(
                ev.InteractionQueued(
                    interaction_id=interaction_id, customer_id=customer.id, channel=row.channel
                )
            )
            self.router.published(decisions)
