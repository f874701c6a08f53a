"""The one queue: every channel enqueues here; every transition is stored, then routed and told.

The routing engine decides; `router.py` keeps it and the database in step, `arrivals.py` stores
what arrives and `actions.py` holds what agents do; `seat.py` knows whether they run here or on
the instance that routes. This class is the queue's front door: arrivals (one at a time or many,
stored together), the agents' actions, and what routing knows now, as typed answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import structlog

from contactcenter import events as ev
from contactcenter.cluster.leadership import Leadership
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict
from contactcenter.events import EventBus
from contactcenter.interactions.records import InteractionRecords
from contactcenter.interactions.transitions import NewInteraction
from contactcenter.model import (
    Channel,
    Customer,
    Direction,
    Initiator,
    InteractionStatus,
    Presence,
    Routed,
    Staffing,
)
from contactcenter.people.agents import AgentDirectory
from contactcenter.queue.arrivals import Admitted
from contactcenter.queue.seat import RouterSeat
from contactcenter.queue.translation import moment
from contactcenter.store.db import Database
from routing.policy import Policy

log = structlog.get_logger(__name__)
S = InteractionStatus


class InteractionQueue:
    """The one queue. Ask it through its methods; `policy` (the routing policy it runs) is
    read by the channels and the consoles for targets and opening hours, and never changed.

    With `leadership` (several instances on PostgreSQL) the queue routes only while its
    instance leads; otherwise it hands each change to the router through the database
    (`commands.py`) and answers questions from the router's view (`view.py`): `seat.py`.
    Without it, it routes from `start` to `stop` (SQLite, tests)."""

    def __init__(
        self,
        *,
        db: Database,
        interactions: InteractionRecords,
        agents: AgentDirectory,
        policy: Policy,
        bus: EventBus,
        clock: Callable[[], float] = time.time,
        customers: CustomerRecords | None = None,
        leadership: Leadership | None = None,
        instance: str = "",
    ) -> None:
        self.db = db
        self.interactions = interactions
        self.policy = policy
        self.bus = bus
        self._clock = clock
        self._seat = RouterSeat(
            db=db,
            interactions=interactions,
            agents=agents,
            customers=customers or CustomerRecords(db=db),
            policy=policy,
            bus=bus,
            clock=clock,
            leadership=leadership,
            instance=instance,
        )

    # -- life ---------------------------------------------------------------------------------

    async def start(self, run_timers: bool = True) -> None:
        """Without leadership: route now (rebuilt from the database), with timers unless told
        not to. With it: listen for the router's answers and view, and route whenever this
        instance leads (start the leadership next, before anything enqueues)."""
        await self._seat.start(run_timers)

    async def tick(self) -> None:
        """Act on every timer due by now: offer timeouts, overflows, SLA warnings, wrap-ups."""
        await self._seat.router.tick()

    async def stop(self) -> None:
        """Store what has arrived, then stop the timers (and listening)."""
        await self._seat.stop()

    def routes(self) -> bool:
        """Whether this instance routes the queue now."""
        return self._seat.routes()

    def now(self) -> datetime:
        """The queue's clock (aware UTC): what reports measure waits against."""
        return moment(self._clock())

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
        message: str = "",
        initiated_by: Initiator = Initiator.CUSTOMER,
        products: Sequence[str] = (),
    ) -> int:
        """Every channel's one way in: the interaction is stored as queued (with the
        customer's first `message`, if any, in the same transaction), then routed.

        Arrivals that come while the queue is busy are stored together in one transaction
        (group commit), each still answered only once it is stored. An `external_ref` the
        channel stored before (a retried webhook, a mail fetched twice) returns that
        interaction instead of queuing it again."""
        admitted = await self.admit(
            customer,
            channel,
            subject=subject,
            topic=topic,
            attributes=attributes,
            external_ref=external_ref,
            message=message,
            initiated_by=initiated_by,
            products=products,
        )
        return admitted.interaction_id

    async def admit(
        self,
        customer: Customer,
        channel: Channel,
        *,
        subject: str = "",
        topic: str | None = None,
        attributes: dict[str, Any] | None = None,
        external_ref: str | None = None,
        message: str = "",
        initiated_by: Initiator = Initiator.CUSTOMER,
        products: Sequence[str] = (),
    ) -> Admitted:
        """`enqueue`, answered with what was stored: where this instance routes and the
        arrival stored a new interaction that still waits, enough to describe it without
        reading it back (`Admitted.fresh`)."""
        new = NewInteraction(
            customer.id,
            channel,
            subject,
            topic,
            attributes,
            external_ref,
            initiated_by=initiated_by,
            products=tuple(products),
        )
        admitted = await self._seat.admit(new, customer, message)
        log.info("queue.enqueued", interaction_id=admitted.interaction_id, customer_id=customer.id)
        return admitted

    async def enqueue_started(self, interaction_id: int, customer: Customer) -> None:
        """Work that began outside the queue (a chat with the bot) enters it now, its wait
        starting now: stored as queued and routed in one transaction, as `enqueue` does."""
        await self._seat.do(
            "enqueue_started", interaction_id=interaction_id, customer_id=customer.id
        )

    async def customer_message(
        self, interaction_id: int, body: str, *, external_id: str | None = None
    ) -> int:
        """A customer's message on their interaction (a chat line, a web form's text): stored,
        then published as `interaction.message`, which the knowledge-base suggestions follow."""
        message_id = await self.interactions.add_message(
            interaction_id,
            body,
            direction=Direction.INBOUND,
            author=Initiator.CUSTOMER,
            external_id=external_id,
        )
        self.bus.publish(
            ev.InteractionMessage(interaction_id=interaction_id, message_id=message_id)
        )
        return message_id

    # -- what routing knows now -----------------------------------------------------------------

    def holder(self, interaction_id: int) -> int | None:
        """The agent the interaction is offered to or held by now, as routing knows it."""
        found = self._seat.reads().routed(interaction_id)
        return None if found is None else found.agent_id

    def routed(self, interaction_id: int) -> Routed | None:
        """Where routing has the interaction now (None: not in routing, e.g. over)."""
        return self._seat.reads().routed(interaction_id)

    async def position(self, interaction_id: int) -> int | None:
        """Where waiting work stands (1: next) where it waits; None when it is not waiting
        (asked of the router: it costs the length of the work's places)."""
        found = await self._seat.do("position", interaction_id=interaction_id)
        return None if found is None else int(found)

    def waiting(self) -> int:
        """How much work waits for an offer."""
        return self._seat.reads().waiting()

    def knows_agent(self, agent_id: int) -> bool:
        """Whether routing has seen this agent (every agent who set a presence)."""
        return self._seat.reads().knows_agent(agent_id)

    def places(self, interaction_id: int) -> list[tuple[str, str]]:
        """Where waiting work may go now: ("group", name) and ("agent", id), each once."""
        return self._seat.reads().places(interaction_id)

    def offer_expires(self, interaction_id: int) -> float | None:
        """When an open offer lapses (epoch seconds; None: no open offer)."""
        return self._seat.reads().offer_expires(interaction_id)

    def load(self, agent_id: int) -> dict[str, int]:
        """Work the agent holds per channel they have room on (empty: not seen yet)."""
        return self._seat.reads().load(agent_id)

    def staffing(self) -> Staffing:
        """Agents with work, and agents available or with work, now."""
        return self._seat.reads().staffing()

    def waiting_by_group(self) -> dict[str, int]:
        """Waiting work per group it may go to now (work open to two groups counts in both)."""
        return self._seat.reads().waiting_by_group()

    def has_callback(self, interaction_id: int) -> bool:
        """Whether a caller waits for a callback on this work."""
        return self._seat.reads().has_callback(interaction_id)

    # -- what agents do (actions.py, through `_do`) ----------------------------------------------

    def presence_of(self, agent_id: int) -> Presence | None:
        """The agent's presence as routing knows it now (None: an agent it does not know)."""
        return self._seat.reads().presence_of(agent_id)

    async def set_presence(self, agent_id: int, presence: Presence, reason: str = "") -> None:
        """The agent's presence; `reason` when the service sets it itself."""
        await self._seat.do(
            "set_presence", agent_id=agent_id, presence=presence.value, reason=reason
        )

    async def refresh_agent(self, agent_id: int) -> None:
        """The agent's groups, skills or capacity changed, or the agent was removed."""
        await self._seat.do("refresh_agent", agent_id=agent_id)

    async def accept(self, interaction_id: int, agent_id: int) -> None:
        await self._seat.do("accept", interaction_id=interaction_id, agent_id=agent_id)

    async def reject(self, interaction_id: int, agent_id: int) -> None:
        await self._seat.do("reject", interaction_id=interaction_id, agent_id=agent_id)

    async def responded(self, interaction_id: int) -> None:
        """The first agent reply went out (email and fax): it stops the service-level clock."""
        await self._seat.do("responded", interaction_id=interaction_id)

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
        """The agent is done: disposition, outcome, note and talk time are kept with it."""
        await self._seat.do(
            "complete",
            interaction_id=interaction_id,
            agent_id=agent_id,
            outcome=outcome,
            note=note,
            author_user_id=author_user_id,
            talk_seconds=talk_seconds,
        )

    async def transfer(
        self,
        interaction_id: int,
        agent_id: int,
        *,
        to_group: str | None = None,
        to_agent: int | None = None,
    ) -> None:
        await self._seat.do(
            "transfer",
            interaction_id=interaction_id,
            agent_id=agent_id,
            to_group=to_group,
            to_agent=to_agent,
        )

    async def move(
        self,
        interaction_id: int,
        *,
        to_group: str | None = None,
        to_agent: int | None = None,
        by_user: int | None = None,
    ) -> None:
        """A supervisor sends waiting work to another group or agent; it keeps its place."""
        await self._seat.do(
            "move",
            interaction_id=interaction_id,
            to_group=to_group,
            to_agent=to_agent,
            by_user=by_user,
        )

    async def boost(self, interaction_id: int, points: float) -> None:
        """Waiting work jumps ahead by `points` of priority, for good (an escalation step)."""
        await self._seat.do("boost", interaction_id=interaction_id, points=points)

    async def widen(self, interaction_id: int, group: str) -> None:
        """Waiting work may also be taken by `group` from now on (an escalation's overflow)."""
        await self._seat.do("widen", interaction_id=interaction_id, group=group)

    async def schedule_callback(self, interaction_id: int) -> bool:
        """A waiting caller asked to be called back (False: no longer waiting)."""
        return bool(await self._seat.do("schedule_callback", interaction_id=interaction_id))

    async def requeue(self, interaction_id: int, reason: str) -> None:
        """Active work that never reached its agent goes back to its place in the queue."""
        await self._seat.do("requeue", interaction_id=interaction_id, reason=reason)

    async def abandon(self, interaction_id: int) -> float:
        """The customer left before an agent accepted; returns how long they waited."""
        return float(await self._seat.do("abandon", interaction_id=interaction_id))

    async def self_served(self, interaction_id: int, article_id: int) -> None:
        """An article answered the customer before any agent took the work."""
        await self._seat.do("self_served", interaction_id=interaction_id, article_id=article_id)

    def check_held(self, interaction_id: int, agent_id: int) -> None:
        """Conflict unless the interaction is active with this agent (what answering needs)."""
        found = self._seat.reads().routed(interaction_id)
        if found is None or found.agent_id != agent_id or found.state != "active":
            raise Conflict(f"interaction {interaction_id} is not active with agent {agent_id}")
