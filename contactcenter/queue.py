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
from contactcenter.queue_translate import (
    agent_spec,
    event_of,
    moment,
    row_work_item,
    set_columns,
    store_presence,
    work_item,
)
from contactcenter.store.db import Database
from contactcenter.store.tables import customers as customers_table
from contactcenter.store.tables import interactions as interactions_table
from routing.engine import Engine
from routing.policy import Policy
from routing.types import (
    Abandoned,
    AgentPaused,
    Decision,
    Offer,
    OfferExpired,
    OfferRevoked,
    Overflowed,
    RoutingError,
    SlaBreached,
    SlaWarning,
    Target,
    WrapUpEnded,
)
from routing.types import Presence as RoutingPresence

log = structlog.get_logger(__name__)
S = InteractionStatus
_OPEN = (S.QUEUED, S.OFFERED, S.ACTIVE, S.WRAP_UP)


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

        An `external_ref` the channel stored before (a retried webhook, a mail fetched twice)
        returns that interaction instead of queuing it again."""
        async with self._lock:
            now = self.clock()
            routed = False
            try:
                # One transaction: the interaction, its routing, and the offer if one is made.
                async with self.db.begin() as conn:
                    interaction_id = await self.interactions.open(
                        customer.id, channel, subject=subject, topic=topic,
                        attributes=attributes, external_ref=external_ref, at=moment(now),
                        conn=conn, queued=True,
                    )  # fmt: skip
                    work = work_item(
                        interaction_id, channel.value, customer, topic, attributes, now
                    )
                    decisions = self.engine.enqueue(work, now)
                    routed = True
                    await self._store_all(conn, decisions, now)
            except IntegrityError:
                if routed:
                    await self._rebuild()
                    raise
                existing = (
                    await self.interactions.find_by_ref(channel, external_ref)
                    if external_ref
                    else None
                )
                if existing is None:
                    raise
                return existing
            except Exception:
                if routed:  # the engine moved, the database did not: the database wins
                    await self._rebuild()
                raise
            self.bus.publish({"type": "interaction.queued", "interaction_id": interaction_id,
                              "customer_id": customer.id, "channel": channel.value})  # fmt: skip
            self._published(decisions)
        log.info("queue.enqueued", interaction_id=interaction_id, customer_id=customer.id)
        return interaction_id

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
                await self.interactions.transition(
                    interaction_id, to, at=moment(now), conn=conn, agent_id=agent_id, **data
                )
                if to is S.QUEUED:
                    await set_columns(conn, str(interaction_id), agent_id=None)
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
                    await self._store_all(conn, decisions, now)
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

    async def _store_all(
        self, conn: AsyncConnection, decisions: list[Decision], now: float
    ) -> None:
        for decision in decisions:
            await self._store(conn, decision, now)

    async def _store(self, conn: AsyncConnection, decision: Decision, now: float) -> None:
        at = moment(now)
        match decision:
            case Offer(item_id, agent_id, expires_at):
                await self.interactions.transition(
                    int(item_id), S.OFFERED, at=at, conn=conn,
                    columns={"agent_id": int(agent_id)}, agent_id=int(agent_id),
                    expires_at=moment(expires_at).isoformat(),
                )  # fmt: skip
            case OfferExpired(item_id, agent_id) | OfferRevoked(item_id, agent_id):
                reason = "offer_expired" if isinstance(decision, OfferExpired) else "agent_left"
                await self.interactions.transition(
                    int(item_id), S.QUEUED, at=at, conn=conn, agent_id=int(agent_id),
                    reason=reason,
                )  # fmt: skip
                await set_columns(conn, item_id, agent_id=None)
            case Overflowed(item_id, step, target):
                await self.interactions.add_event(
                    int(item_id), "routing.overflowed", {"step": step, "target": target},
                    at=at, conn=conn,
                )  # fmt: skip
                await set_columns(conn, item_id, routing_step=step, routing_since=at)
            case SlaWarning(item_id, threshold) | SlaBreached(item_id, threshold):
                kind = "sla.warning" if isinstance(decision, SlaWarning) else "sla.breach"
                await self.interactions.add_event(
                    int(item_id), kind, {"threshold": threshold}, at=at, conn=conn
                )
            case AgentPaused(agent_id, _):
                await store_presence(conn, int(agent_id), Presence.AWAY, now)
            case WrapUpEnded(agent_id, item_id):
                await self.interactions.transition(int(item_id), S.CLOSED, at=at, conn=conn)

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
            rows = (
                await conn.execute(
                    select(
                        interactions_table,
                        customers_table.c.tier,
                        customers_table.c.segment,
                        customers_table.c.language,
                        customers_table.c.account_manager_id,
                    )
                    .join(customers_table, customers_table.c.id == interactions_table.c.customer_id)
                    .where(interactions_table.c.status.in_([s.value for s in _OPEN]))
                    .order_by(interactions_table.c.queued_at, interactions_table.c.id)
                )
            ).all()
            for row in rows:
                status = S(row.status)
                if status is S.WRAP_UP:
                    # Wrap-up is a timer, and the timer went with the process: it is over.
                    await self.interactions.transition(row.id, S.CLOSED, at=moment(now), conn=conn)
                    continue
                if status is S.OFFERED:
                    await self.interactions.transition(
                        row.id, S.QUEUED, at=moment(now), conn=conn, reason="restart"
                    )
                    await set_columns(conn, str(row.id), agent_id=None)
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
                await self._store_all(conn, decisions, now)
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
