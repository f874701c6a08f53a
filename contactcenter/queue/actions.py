"""What agents (and the channels on their behalf) do to queued work: presence, accept, reject,
first response, complete, transfer, abandon. Each action is checked by the engine, stored, and
its consequences applied through the router's one path (`Router.run` / `Router.apply`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter import events as ev
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict, NotFound
from contactcenter.events import EventBus
from contactcenter.interactions.records import InteractionRecords
from contactcenter.model import InteractionStatus, Presence
from contactcenter.people.agents import AgentDirectory
from contactcenter.queue.persistence import store_presence
from contactcenter.queue.router import Router
from contactcenter.queue.translation import agent_spec, moment
from contactcenter.store.db import Database
from contactcenter.store.tables import interactions as interactions_table
from routing.policy import Policy
from routing.types import Abandoned, Decision, Target
from routing.types import Presence as RoutingPresence

S = InteractionStatus
# What listeners hear when an agent's action moves work to each status.
_ACTED: dict[InteractionStatus, type[ev.AgentActed]] = {
    S.ACTIVE: ev.InteractionActive,
    S.QUEUED: ev.InteractionRejected,
    S.WRAP_UP: ev.InteractionWrapUp,
    S.CLOSED: ev.InteractionClosed,
}


class AgentActions:
    """What agents do to work, each action through the router's one path (`Router.run`). The
    queue holds one and answers for it."""

    def __init__(
        self,
        *,
        router: Router,
        db: Database,
        interactions: InteractionRecords,
        customers: CustomerRecords,
        agents: AgentDirectory,
        policy: Policy,
        bus: EventBus,
    ) -> None:
        self.router = router
        self.db = db
        self.interactions = interactions
        self.customers = customers
        self.agents = agents
        self.policy = policy
        self.bus = bus

    async def set_presence(self, agent_id: int, presence: Presence, reason: str = "") -> None:
        """The agent's presence; `reason` when the service sets it itself (shown to
        supervisors)."""

        async def step(now: float) -> list[Decision]:
            async with self.db.begin() as conn:
                await store_presence(conn, agent_id, presence, now, reason)
            self.bus.publish(
                ev.AgentPresence(agent_id=agent_id, presence=presence.value, reason=reason)
            )
            if str(agent_id) not in self.router.engine.agents:
                await self._load_agent(agent_id, now)
            return self.router.engine.set_presence(
                str(agent_id), RoutingPresence(presence.value), now
            )

        await self.router.run(step)

    async def refresh_agent(self, agent_id: int) -> None:
        """The agent's groups, skills or capacity changed, or the agent was removed: the engine
        follows (a removed agent's open offers go back to the queue)."""

        async def step(now: float) -> list[Decision]:
            try:
                agent = await self.agents.get_agent(agent_id)
            except NotFound:
                if str(agent_id) not in self.router.engine.agents:
                    return []
                return self.router.engine.remove_agent(str(agent_id), now)
            decisions = self.router.engine.upsert_agent(agent_spec(agent), now)
            presence = RoutingPresence(agent["presence"])
            return decisions + self.router.engine.set_presence(str(agent_id), presence, now)

        await self.router.run(step)

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
            if result.rowcount and str(interaction_id) in self.router.engine.items:
                return self.router.engine.responded(str(interaction_id), now)
            return []

        await self.router.run(step)

    async def complete(
        self,
        interaction_id: int,
        agent_id: int,
        *,
        outcome: dict[str, Any] | None = None,
        note: str | None = None,
        author_user_id: int | None = None,
        talk_seconds: int | None = None,
    ) -> None:
        """The agent is done: disposition, outcome, complaint flag and note are stored with the
        transition (and, for a call, how long it was talked); wrap-up follows where the policy
        gives the channel wrap-up time."""
        self.check_held(interaction_id, agent_id)
        row = await self.row(interaction_id)
        wraps = self.policy.wrap_up.get(row.channel, 0.0) > 0

        async def record(conn: AsyncConnection) -> None:
            if outcome:
                await self.interactions.record_outcome(interaction_id, conn=conn, **outcome)
            if note:
                await self.customers.add_note(
                    row.customer_id, note, author_user_id, interaction_id, conn
                )

        data = {} if talk_seconds is None else {"talk_seconds": talk_seconds}
        await self._act(
            interaction_id, agent_id, "complete", S.WRAP_UP if wraps else S.CLOSED, record, **data
        )

    async def transfer(
        self,
        interaction_id: int,
        agent_id: int,
        *,
        to_group: str | None = None,
        to_agent: int | None = None,
    ) -> None:
        target = self._target(to_group, to_agent)
        self.check_held(interaction_id, agent_id)

        async def step(now: float) -> list[Decision]:
            # Back in the queue at its place, with its targets starting over from now.
            requeued = {"agent_id": None, "routing_step": 0, "routing_since": moment(now)}
            async with self.db.begin() as conn:
                await self._back_in_queue(
                    conn,
                    interaction_id,
                    now,
                    requeued,
                    by_agent=agent_id,
                    to_group=to_group,
                    to_agent=to_agent,
                )
            return self.router.call(self.router.engine.transfer, str(interaction_id), target, now)

        await self.router.run(step)
        self.bus.publish(
            ev.InteractionTransferred(
                interaction_id=interaction_id,
                agent_id=agent_id,
                to_group=to_group,
                to_agent=to_agent,
            )
        )

    async def move(
        self,
        interaction_id: int,
        *,
        to_group: str | None = None,
        to_agent: int | None = None,
        by_user: int | None = None,
    ) -> None:
        """A supervisor sends waiting work to another group or agent; it keeps its place in the
        queue. Work offered, held or waiting for a callback is not moved (409)."""
        target = self._target(to_group, to_agent)
        if interaction_id in self.router.callbacks:
            raise Conflict(
                f"interaction {interaction_id} waits for a callback; it stays where it is", "status"
            )

        async def step(now: float) -> list[Decision]:
            # The engine refuses work that is not waiting before anything is written.
            decisions = self.router.call(self.router.engine.move, str(interaction_id), target, now)
            requeued = {"routing_step": 0, "routing_since": moment(now)}
            try:
                async with self.db.begin() as conn:
                    await self._back_in_queue(
                        conn,
                        interaction_id,
                        now,
                        requeued,
                        by_user=by_user,
                        to_group=to_group,
                        to_agent=to_agent,
                        reason="moved",
                    )
            except Exception:
                await self.router.rebuild()  # the engine moved, the database did not
                raise
            return decisions

        await self.router.run(step)
        self.bus.publish(
            ev.InteractionMoved(interaction_id=interaction_id, to_group=to_group, to_agent=to_agent)
        )

    async def _back_in_queue(
        self,
        conn: AsyncConnection,
        interaction_id: int,
        now: float,
        columns: dict[str, Any],
        **data: Any,
    ) -> None:
        """Work handed on: `transferred`, then `queued` again with `columns` changed; both
        events carry `data` (who, to where, why)."""
        for status, changed in ((S.TRANSFERRED, None), (S.QUEUED, columns)):
            await self.interactions.transition(
                interaction_id, status, at=moment(now), conn=conn, columns=changed, **data
            )

    def _target(self, to_group: str | None, to_agent: int | None) -> Target:
        if (to_group is None) == (to_agent is None):
            raise Conflict("give either a group or an agent", "to")
        if to_group is not None and to_group not in self.policy.groups:
            raise Conflict(f"no group {to_group} in the routing policy", "to_group")
        return Target(group=to_group) if to_group else Target(agent=str(to_agent))

    async def schedule_callback(self, interaction_id: int) -> bool:
        """A waiting caller asked to be called back: the work keeps its place in the queue as
        callback_scheduled. False when it is no longer waiting (an agent is about to take it)."""
        async with self.router.lock:
            state = self.router.engine.state_of(str(interaction_id))
            if state is None or state[0] != "waiting" or interaction_id in self.router.callbacks:
                return interaction_id in self.router.callbacks
            async with self.db.begin() as conn:
                await self.interactions.transition(
                    interaction_id, S.CALLBACK_SCHEDULED, at=moment(self.router.clock()), conn=conn
                )
            self.router.callbacks.add(interaction_id)
            self.router.published([])
        self.bus.publish(ev.InteractionCallbackScheduled(interaction_id=interaction_id))
        return True

    async def requeue(self, interaction_id: int, reason: str) -> None:
        """Active work that never reached its agent (a call that could not be put through)
        goes back to its place in the queue, for someone else; `reason` is kept on the event."""

        async def step(now: float) -> list[Decision]:
            decisions = self.router.call(self.router.engine.requeue, str(interaction_id), now)
            async with self.db.begin() as conn:
                await self._back_in_queue(
                    conn, interaction_id, now, {"agent_id": None}, reason=reason
                )
            return decisions

        await self.router.run(step)
        self.bus.publish(ev.InteractionRequeued(interaction_id=interaction_id, reason=reason))

    async def abandon(self, interaction_id: int) -> float:
        """The customer left before an agent accepted; returns how long they waited."""
        return await self._leave(interaction_id, S.ABANDONED)

    async def self_served(self, interaction_id: int, article_id: int) -> None:
        """The customer's question was answered by an article before any agent took it: the
        interaction leaves the queue (if it is there) as `self_served`, not abandoned."""
        row = await self.row(interaction_id)
        if InteractionStatus(row.status) in (S.QUEUED, S.OFFERED):
            await self._leave(interaction_id, S.SELF_SERVED, article_id=article_id)
            return
        if row.agent_id is not None or InteractionStatus(row.status).is_final:
            raise Conflict(
                f"interaction {interaction_id} is {row.status}; an agent has it or it is over",
                "status",
            )
        await self.interactions.transition(interaction_id, S.SELF_SERVED, article_id=article_id)
        self.bus.publish(
            ev.InteractionSelfServed(interaction_id=interaction_id, article_id=article_id)
        )

    async def _leave(self, interaction_id: int, to: InteractionStatus, **data: Any) -> float:
        """Waiting work leaves the queue without an agent; returns how long it waited."""
        async with self.router.lock:
            now = self.router.clock()
            decisions = self.router.call(self.router.engine.abandon, str(interaction_id), now)
            waited = next(d.waited for d in decisions if isinstance(d, Abandoned))
            self.router.callbacks.discard(interaction_id)
            async with self.db.begin() as conn:
                await self.interactions.transition(
                    interaction_id, to, at=moment(now), conn=conn, waited=round(waited, 3), **data
                )
            await self.router.apply([d for d in decisions if not isinstance(d, Abandoned)], now)
            if to is S.ABANDONED:
                self.bus.publish(
                    ev.InteractionAbandoned(interaction_id=interaction_id, waited=waited)
                )
            else:
                self.bus.publish(
                    ev.InteractionSelfServed(interaction_id=interaction_id, waited=waited, **data)
                )
        return waited

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
        # complete() names no agent: the caller checked that the work is theirs.
        args: tuple[str, ...] = () if verb == "complete" else (str(agent_id),)

        async def step(now: float) -> list[Decision]:
            method = getattr(self.router.engine, verb)
            decisions = self.router.call(method, str(interaction_id), *args, now)
            async with self.db.begin() as conn:
                columns = {"agent_id": None} if to is S.QUEUED else None
                await self.interactions.transition(
                    interaction_id,
                    to,
                    at=moment(now),
                    conn=conn,
                    columns=columns,
                    agent_id=agent_id,
                    **data,
                )
                if also is not None:
                    await also(conn)
            return decisions

        await self.router.run(step)
        self.bus.publish(_ACTED[to](interaction_id=interaction_id, agent_id=agent_id))

    async def row(self, interaction_id: int) -> Any:
        """The interaction's row (Conflict: no such interaction)."""
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
        self.router.engine.upsert_agent(agent_spec(agent), now)

    def check_held(self, interaction_id: int, agent_id: int) -> None:
        """Conflict unless the interaction is active with this agent (what answering needs)."""
        state = self.router.engine.state_of(str(interaction_id))
        if state is None or state[1] != str(agent_id) or state[0] != "active":
            raise Conflict(f"interaction {interaction_id} is not active with agent {agent_id}")
