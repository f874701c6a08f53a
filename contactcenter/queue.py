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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.agents import AgentDirectory
from contactcenter.customers import CustomerRecords
from contactcenter.errors import Conflict, NotFound
from contactcenter.events import EventBus
from contactcenter.interactions import InteractionRecords
from contactcenter.model import Channel, Customer, InteractionStatus, Presence
from contactcenter.queue_store import (
    known_refs,
    open_rows,
    store_decisions,
    store_presence,
)
from contactcenter.queue_translate import agent_spec, event_of, moment, row_work_item, work_item
from contactcenter.store.db import Database
from contactcenter.store.tables import interactions as interactions_table
from contactcenter.transitions import NewInteraction, open_many
from routing.engine import Engine
from routing.policy import Policy
from routing.types import Abandoned, Decision, RoutingError, Target
from routing.types import Presence as RoutingPresence

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


class InteractionQueue:
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
        self.engine = Engine(policy)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._sleeping_until: float | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._arrivals: list[Arrival] = []
        self._admitter: asyncio.Task[None] | None = None

    # -- life ---------------------------------------------------------------------------------

    async def start(self, run_timers: bool = True) -> None:
        """Rebuild from the database; then, unless told not to, run timers as they fall due."""
        async with self._lock:
            await self._rebuild()
        if run_timers:
            self._ticker = asyncio.create_task(self._tick_loop(), name="queue-ticker")

    async def tick(self) -> None:
        """Act on every timer due by now: offer timeouts, overflows, SLA warnings, wrap-ups."""

        async def step(now: float) -> list[Decision]:
            return self.engine.tick(now)

        await self._run_async(step)

    async def stop(self) -> None:
        """Store what has arrived, then stop the timers."""
        if self._admitter is not None:
            await asyncio.gather(self._admitter, return_exceptions=True)
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None

    async def _tick_loop(self) -> None:
        """Sleep until the engine's next timer, or until new work sets an earlier one."""
        while True:
            self._sleeping_until = due = self.engine.next_timer()
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
                    decisions += self.engine.enqueue(work, now)
                await store_decisions(conn, self.interactions, decisions, now)
        except Exception:
            if routed:  # the engine moved, the database did not: the database wins
                await self._rebuild()
            raise
        stored: dict[int, int] = {}
        for arrival, interaction_id in zip(fresh, ids, strict=True):
            stored[id(arrival)] = interaction_id
            if arrival.ref:
                known[arrival.ref] = interaction_id
            self.bus.publish({"type": "interaction.queued", "interaction_id": interaction_id,
                              "customer_id": arrival.customer.id,
                              "channel": arrival.new.channel.value})  # fmt: skip
        self._published(decisions)
        for arrival in batch:
            arrival.resolve(stored.get(id(arrival)) or known[arrival.ref])  # type: ignore[index]

    async def set_presence(self, agent_id: int, presence: Presence) -> None:
        async def step(now: float) -> list[Decision]:
            async with self.db.begin() as conn:
                await store_presence(conn, agent_id, presence, now)
            self.bus.publish({"type": "agent.presence", "agent_id": agent_id,
                              "presence": presence.value})  # fmt: skip
            if str(agent_id) not in self.engine.agents:
                await self._load_agent(agent_id, now)
            return self.engine.set_presence(str(agent_id), RoutingPresence(presence.value), now)

        await self._run_async(step)

    async def refresh_agent(self, agent_id: int) -> None:
        """The agent's groups, skills or capacity changed, or the agent was removed: the engine
        follows (a removed agent's open offers go back to the queue)."""

        async def step(now: float) -> list[Decision]:
            try:
                agent = await self.agents.get_agent(agent_id)
            except NotFound:
                if str(agent_id) not in self.engine.agents:
                    return []
                return self.engine.remove_agent(str(agent_id), now)
            decisions = self.engine.upsert_agent(agent_spec(agent), now)
            presence = RoutingPresence(agent["presence"])
            return decisions + self.engine.set_presence(str(agent_id), presence, now)

        await self._run_async(step)

    async def accept(self, interaction_id: int, agent_id: int) -> None:
        await self._act(interaction_id, agent_id, "accept", S.ACTIVE)

    async def reject(self, interaction_id: int, agent_id: int) -> None:
        await self._act(interaction_id, agent_id, "reject", S.QUEUED, reason="rejected")

    async def responded(self, interaction_id: int) -> None:
        """The first agent reply went out (email and fax): it stops the service-level clock."""

        async def step(now: float) -> list[Decision]:
            async with self.db.begin() as conn:
                result = await conn.execute(
                    update(interactions_table)
                    .where(
                        interactions_table.c.id == interaction_id,
                        interactions_table.c.first_response_at.is_(None),
                    )
                    .values(first_response_at=moment(now))
                )
            if result.rowcount and str(interaction_id) in self.engine.items:
                return self.engine.responded(str(interaction_id), now)
            return []

        await self._run_async(step)

    async def complete(
        self,
        interaction_id: int,
        agent_id: int,
        *,
        outcome: dict[str, Any] | None = None,
        note: str | None = None,
        author_user_id: int | None = None,
    ) -> None:
        """The agent is done: disposition, outcome, complaint flag and note are stored with the
        transition; wrap-up follows where the policy gives the channel wrap-up time."""
        self._owned(interaction_id, agent_id)
        row = await self._row(interaction_id)
        wraps = self.policy.wrap_up.get(row.channel, 0.0) > 0

        async def record(conn: AsyncConnection) -> None:
            if outcome:
                await self.interactions.record_outcome(interaction_id, conn=conn, **outcome)
            if note:
                await self.customers.add_note(
                    row.customer_id, note, author_user_id, interaction_id, conn
                )

        await self._act(
            interaction_id, agent_id, "complete", S.WRAP_UP if wraps else S.CLOSED, record
        )

    async def transfer(
        self, interaction_id: int, agent_id: int, *, to_group: str | None = None,
        to_agent: int | None = None,
    ) -> None:  # fmt: skip
        if (to_group is None) == (to_agent is None):
            raise Conflict("transfer to either a group or an agent", "to")
        if to_group is not None and to_group not in self.policy.groups:
            raise Conflict(f"no group {to_group} in the routing policy", "to_group")
        target = Target(group=to_group) if to_group else Target(agent=str(to_agent))
        self._owned(interaction_id, agent_id)

        async def step(now: float) -> list[Decision]:
            async with self.db.begin() as conn:
                for status in (S.TRANSFERRED, S.QUEUED):
                    await self.interactions.transition(
                        interaction_id, status, at=moment(now), conn=conn,
                        by_agent=agent_id, to_group=to_group, to_agent=to_agent,
                    )  # fmt: skip
                await conn.execute(
                    update(interactions_table)
                    .where(interactions_table.c.id == interaction_id)
                    .values(agent_id=None, routing_step=0, routing_since=moment(now))
                )
            return self._engine_call(self.engine.transfer, str(interaction_id), target, now)

        await self._run_async(step)

    async def abandon(self, interaction_id: int) -> float:
        """The customer left before an agent accepted; returns how long they waited."""
        async with self._lock:
            now = self.clock()
            decisions = self._engine_call(self.engine.abandon, str(interaction_id), now)
            waited = next(d.waited for d in decisions if isinstance(d, Abandoned))
            async with self.db.begin() as conn:
                await self.interactions.transition(
                    interaction_id, S.ABANDONED, at=moment(now), conn=conn, waited=round(waited, 3)
                )
            await self._apply([d for d in decisions if not isinstance(d, Abandoned)], now)
            self.bus.publish({"type": "interaction.abandoned", "interaction_id": interaction_id,
                              "waited": waited})  # fmt: skip
        return waited

    # -- internals ----------------------------------------------------------------------------

    async def _act(
        self,
        interaction_id: int,
        agent_id: int,
        verb: str,
        to: InteractionStatus,
        also: Callable[[AsyncConnection], Awaitable[None]] | None = None,
        **data: Any,
    ) -> None:
        """An agent's action: the engine checks it, then the transition (and `also`, in the
        same transaction) is stored, and the decisions that follow are applied."""
        method = getattr(self.engine, verb)
        # complete() names no agent: the caller checked that the work is theirs.
        args: tuple[str, ...] = () if verb == "complete" else (str(agent_id),)

        async def step(now: float) -> list[Decision]:
            decisions = self._engine_call(method, str(interaction_id), *args, now)
            async with self.db.begin() as conn:
                columns = {"agent_id": None} if to is S.QUEUED else None
                await self.interactions.transition(
                    interaction_id, to, at=moment(now), conn=conn, columns=columns,
                    agent_id=agent_id, **data,
                )  # fmt: skip
                if also is not None:
                    await also(conn)
            return decisions

        await self._run_async(step)
        self.bus.publish({"type": f"interaction.{to.value}", "interaction_id": interaction_id,
                          "agent_id": agent_id})  # fmt: skip

    def _engine_call(self, method: Callable[..., list[Decision]], *args: Any) -> list[Decision]:
        try:
            return method(*args)
        except RoutingError as exc:
            raise Conflict(str(exc)) from None

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
                    await store_decisions(conn, self.interactions, decisions, now)
            except Exception:
                log.exception("queue.store_failed")
                await self._rebuild()
                raise
        self._published(decisions)

    def _published(self, decisions: list[Decision]) -> None:
        """Tell listeners what was decided (and stored), and wake the ticker if need be."""
        for decision in decisions:
            self.bus.publish(event_of(decision))
        due = self.engine.next_timer()
        if due is not None and (self._sleeping_until is None or due < self._sleeping_until):
            self._wake.set()

    async def _rebuild(self) -> None:
        """The engine anew from the database: agents and their presence, open interactions."""
        now = self.clock()
        self.engine = Engine(self.policy)
        for agent in await self.agents.list_agents():
            spec = agent_spec(agent)
            self.engine.upsert_agent(spec, now)
            self.engine.set_presence(spec.id, RoutingPresence(agent["presence"]), now)
        decisions: list[Decision] = []
        async with self.db.begin() as conn:
            rows = await open_rows(conn)
            for row in rows:
                status = S(row.status)
                if status is S.WRAP_UP:
                    # Wrap-up is a timer, and the timer went with the process: it is over.
                    await self.interactions.transition(row.id, S.CLOSED, at=moment(now), conn=conn)
                    continue
                if status is S.OFFERED:
                    await self.interactions.transition(
                        row.id, S.QUEUED, at=moment(now), conn=conn, columns={"agent_id": None},
                        reason="restart",
                    )  # fmt: skip
                work = row_work_item(row)
                if status is S.ACTIVE and row.agent_id is not None:
                    if str(row.agent_id) in self.engine.agents:
                        self.engine.restore_active(work, str(row.agent_id), now)
                    continue
                since = (row.routing_since or row.queued_at or row.created_at).timestamp()
                decisions += self.engine.enqueue(work, now, step=row.routing_step, step_since=since)
        log.info("queue.rebuilt", open=len(rows), waiting=self.engine.waiting())
        if decisions:
            async with self.db.begin() as conn:
                await store_decisions(conn, self.interactions, decisions, now)
        self._published(decisions)

    async def _row(self, interaction_id: int) -> Any:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(interactions_table).where(interactions_table.c.id == interaction_id)
                )
            ).one_or_none()
        if row is None:
            raise Conflict(f"interaction {interaction_id} is not in the queue")
        return row

    async def _load_agent(self, agent_id: int, now: float) -> None:
        """An agent created after the queue started joins the engine."""
        agent = await self.agents.get_agent(agent_id)
        self.engine.upsert_agent(agent_spec(agent), now)

    def _owned(self, interaction_id: int, agent_id: int) -> None:
        state = self.engine.state_of(str(interaction_id))
        if state is None or state[1] != str(agent_id) or state[0] != "active":
            raise Conflict(f"interaction {interaction_id} is not active with agent {agent_id}")
