"""The one queue: every channel enqueues here; every transition is stored, then routed and told.

The routing engine decides; this shell keeps the engine and the database in step. Each engine
call happens under one lock, and the decisions it returns are written in one transaction before
they are published on the event bus, so what agents and channels hear has always been stored
first. Should a write fail, the engine is rebuilt from the database, which is the truth. On start
the engine is rebuilt the same way: waiting work keeps its place, open offers are offered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from contactcenter import events as ev
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict
from contactcenter.events import EventBus
from contactcenter.interactions.records import InteractionRecords
from contactcenter.interactions.transitions import NewInteraction, open_many
from contactcenter.model import Channel, Customer, Direction, Initiator, InteractionStatus
from contactcenter.people.agents import AgentDirectory
from contactcenter.queue.actions import AgentActions
from contactcenter.queue.persistence import (
    known_refs,
    store_decisions,
)
from contactcenter.queue.recovery import rebuild
from contactcenter.queue.translation import event_of, moment, work_item
from contactcenter.store.db import Database
from contactcenter.store.router_lock import RouterLock
from routing.engine import Engine
from routing.policy import Policy
from routing.types import Decision

log = structlog.get_logger(__name__)
S = InteractionStatus
# Arrivals admitted in one transaction at most; more wait for the next.
MAX_BATCH = 256


@dataclass(slots=True)
class Arrival:
    """One interaction a channel asked to enqueue, waiting for its batch to be stored."""

    new: NewInteraction
    customer: Customer
    done: asyncio.Future[int]

    @property
    def ref(self) -> tuple[str, str] | None:
        ref = self.new.external_ref
        return (self.new.channel.value, ref) if ref else None

    def resolve(self, interaction_id: int) -> None:
        if not self.done.done():  # the caller may have given up waiting
            self.done.set_result(interaction_id)

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


@dataclass(frozen=True, slots=True)
class Routed:
    """Where routing has an interaction: `waiting`, `offered`, `active` or `wrap_up`, and the
    agent it is offered to or held by."""

    state: str
    agent_id: int | None


class InteractionQueue(AgentActions):
    def __init__(
        self,
        db: Database,
        interactions: InteractionRecords,
        agents: AgentDirectory,
        policy: Policy,
        bus: EventBus,
        clock: Callable[[], float] = time.time,
        customers: CustomerRecords | None = None,
    ) -> None:
        self.db = db
        self.interactions = interactions
        self.customers = customers or CustomerRecords(db)
        self.agents = agents
        self.policy = policy
        self.bus = bus
        self.clock = clock
        self.routing = Engine(policy)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._sleeping_until: float | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._arrivals: list[Arrival] = []
        self._admitter: asyncio.Task[None] | None = None
        self._router = RouterLock(db)
        # Callers who hung up to be called back: their work waits as callback_scheduled.
        self.callbacks: set[int] = set()

    # -- life ---------------------------------------------------------------------------------

    async def start(self, run_timers: bool = True) -> None:
        """Rebuild from the database; then, unless told not to, run timers as they fall due."""
        await self._router.acquire()
        try:
            async with self._lock:
                await self._rebuild()
        except BaseException:
            await self._router.release()
            raise
        if run_timers:
            self._ticker = asyncio.create_task(self._tick_loop(), name="queue-ticker")

    async def tick(self) -> None:
        """Act on every timer due by now: offer timeouts, overflows, SLA warnings, wrap-ups."""

        async def step(now: float) -> list[Decision]:
            return self.routing.tick(now)

        await self._run_async(step)

    async def stop(self) -> None:
        """Store what has arrived, then stop the timers."""
        if self._admitter is not None:
            await asyncio.gather(self._admitter, return_exceptions=True)
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        await self._router.release()

    async def _tick_loop(self) -> None:
        """Sleep until the engine's next timer, or until new work sets an earlier one."""
        while True:
            self._sleeping_until = due = self.routing.next_timer()
            delay = None if due is None else max(0.0, due - self.clock())
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                log.exception("queue.tick_failed")

    # -- what channels and agents do ------------------------------------------------------------

    async def enqueue(
        self,
        customer: Customer,
        channel: Channel,
        *,
        subject: str = "",
        topic: str | None = None,
        attributes: dict[str, Any] | None = None,
        external_ref: str | None = None,
    ) -> int:
        """Every channel's one way in: the interaction is stored as queued, then routed.

        Arrivals that come while the queue is busy are stored together in one transaction
        (group commit), each still answered only once it is stored. An `external_ref` the
        channel stored before (a retried webhook, a mail fetched twice) returns that
        interaction instead of queuing it again."""
        new = NewInteraction(customer.id, channel, subject, topic, attributes, external_ref)
        arrival = Arrival(new, customer, asyncio.get_running_loop().create_future())
        self._arrivals.append(arrival)
        if self._admitter is None or self._admitter.done():
            self._admitter = asyncio.create_task(self._admit_waiting(), name="queue-admit")
        # Shielded: a caller that stops waiting leaves its arrival in the batch, stored.
        interaction_id = await asyncio.shield(arrival.done)
        log.info("queue.enqueued", interaction_id=interaction_id, customer_id=customer.id)
        return interaction_id

    async def enqueue_started(self, interaction_id: int, customer: Customer) -> None:
        """Work that began outside the queue (a chat with the bot) enters it now, its wait
        starting now: stored as queued and routed in one transaction, as `enqueue` does."""
        row = await self._row(interaction_id)
        if row.status != InteractionStatus.BOT.value:
            raise Conflict(f"interaction {interaction_id} is {row.status}, not with the bot",
                           "status")  # fmt: skip
        async with self._lock:
            now = self.clock()
            at = moment(now)
            work = work_item(interaction_id, row.channel, customer, row.topic, row.attributes, now)
            decisions = self._engine_call(self.routing.enqueue, work, now)
            try:
                async with self.db.begin() as conn:
                    await self.interactions.transition(
                        interaction_id, InteractionStatus.QUEUED, at=at, conn=conn,
                        columns={"queued_at": at, "routing_since": at},
                    )  # fmt: skip
                    await store_decisions(conn, self.interactions, decisions, now, self.callbacks)
            except Exception:
                await self._rebuild()  # the engine moved, the database did not
                raise
            self.bus.publish(
                ev.InteractionQueued(
                    interaction_id=interaction_id, customer_id=customer.id, channel=row.channel
                )
            )
            self._published(decisions)
        log.info("queue.enqueued", interaction_id=interaction_id, customer_id=customer.id)

    async def customer_message(self, interaction_id: int, body: str, *,
                               external_id: str | None = None) -> int:  # fmt: skip
        """A customer's message on their interaction (a chat line, a web form's text): stored,
        then published as `interaction.message`, which the knowledge-base suggestions follow."""
        message_id = await self.interactions.add_message(
            interaction_id, body, direction=Direction.INBOUND, author=Initiator.CUSTOMER,
            external_id=external_id,
        )  # fmt: skip
        self.bus.publish(
            ev.InteractionMessage(interaction_id=interaction_id, message_id=message_id)
        )
        return message_id

    async def _admit_waiting(self) -> None:
        """Admit arrivals batch by batch until none wait; each batch under the lock."""
        while self._arrivals:
            async with self._lock:
                batch = self._arrivals[:MAX_BATCH]
                del self._arrivals[:MAX_BATCH]
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
                arrival.resolve(existing)

    async def _admit_together(self, batch: list[Arrival]) -> None:
        now = self.clock()
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
                decisions: list[Decision] = []
                routed = True
                for arrival, interaction_id in zip(fresh, ids, strict=True):
                    work = work_item(
                        interaction_id, arrival.new.channel.value, arrival.customer,
                        arrival.new.topic, arrival.new.attributes, now,
                    )  # fmt: skip
                    decisions += self.routing.enqueue(work, now)
                await store_decisions(conn, self.interactions, decisions, now, self.callbacks)
        except Exception:
            if routed:  # the engine moved, the database did not: the database wins
                await self._rebuild()
            raise
        stored: dict[int, int] = {}
        for arrival, interaction_id in zip(fresh, ids, strict=True):
            stored[id(arrival)] = interaction_id
            if arrival.ref:
                known[arrival.ref] = interaction_id
            self.bus.publish(
                ev.InteractionQueued(
                    interaction_id=interaction_id,
                    customer_id=arrival.customer.id,
                    channel=arrival.new.channel.value,
                )
            )
        self._published(decisions)
        for arrival in batch:
            arrival.resolve(stored.get(id(arrival)) or known[arrival.ref])  # type: ignore[index]

    def holder(self, interaction_id: int) -> int | None:
        """The agent the interaction is offered to or held by now, as routing knows it."""
        found = self.routed(interaction_id)
        return None if found is None else found.agent_id

    def routed(self, interaction_id: int) -> Routed | None:
        """Where routing has the interaction now (None: not in routing, e.g. over)."""
        state = self.routing.state_of(str(interaction_id))
        if state is None:
            return None
        return Routed(state[0], None if state[1] is None else int(state[1]))

    def position(self, interaction_id: int) -> int | None:
        """Where waiting work stands (1: next) where it waits; None when it is not waiting."""
        return self.routing.position(str(interaction_id))

    def waiting(self) -> int:
        """How much work waits for an offer."""
        return self.routing.waiting()

    def knows_agent(self, agent_id: int) -> bool:
        """Whether routing has seen this agent (every agent who set a presence)."""
        return str(agent_id) in self.routing.agents

    # -- internals ----------------------------------------------------------------------------

    async def _run_async(self, step: Callable[[float], Any]) -> None:
        """Under the lock: run `step` (which asks the engine), then store and tell its decisions."""
        async with self._lock:
            now = self.clock()
            decisions = await step(now)
            await self._apply(decisions, now)

    async def _apply(self, decisions: list[Decision], now: float) -> None:
        """Store the decisions in one transaction, then publish them. A failed write means the
        engine is ahead of the database: rebuild it from the database and report the error."""
        if decisions:
            try:
                async with self.db.begin() as conn:
                    await store_decisions(conn, self.interactions, decisions, now, self.callbacks)
            except Exception:
                log.exception("queue.store_failed")
                await self._rebuild()
                raise
        self._published(decisions)

    def _published(self, decisions: list[Decision]) -> None:
        """Tell listeners what was decided (and stored), and wake the ticker if need be."""
        for decision in decisions:
            self.bus.publish(event_of(decision))
        due = self.routing.next_timer()
        if due is not None and (self._sleeping_until is None or due < self._sleeping_until):
            self._wake.set()

    async def _rebuild(self) -> None:
        """The engine anew from the database (see `queue_recovery`)."""
        now = self.clock()
        async with self.db.begin() as conn:
            engine, decisions, callbacks = await rebuild(
                conn, self.policy, self.agents, self.interactions, now
            )
        self.routing, self.callbacks = engine, callbacks
        self._published(decisions)
