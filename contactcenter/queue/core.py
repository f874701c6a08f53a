"""The one queue: every channel enqueues here; every transition is stored, then routed and told.

The routing engine decides; `router.py` keeps it and the database in step, and `actions.py`
holds what agents do. This class is the queue's front door: arrivals (one at a time or many,
stored together), the agents' actions, and what routing knows now, as typed answers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog

from contactcenter import events as ev
from contactcenter.cluster.leadership import Leadership
from contactcenter.cluster.notify import Listener
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict, Invalid, Unavailable
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
from contactcenter.queue.actions import AgentActions
from contactcenter.queue.arrivals import Admitted, Arrivals
from contactcenter.queue.commands import ASKED, DONE, CommandRunner, Forwarder, ok
from contactcenter.queue.persistence import store_decisions
from contactcenter.queue.router import Router
from contactcenter.queue.translation import moment, work_item
from contactcenter.queue.view import CHANNEL as VIEW
from contactcenter.queue.view import RoutingView, ViewReader, ViewWriter
from contactcenter.store.db import Database
from routing.policy import Policy

log = structlog.get_logger(__name__)
S = InteractionStatus


class InteractionQueue:
    """The one queue. Ask it through its methods; `policy` (the routing policy it runs) is
    read by the channels and the consoles for targets and opening hours, and never changed.

    With `leadership` (several instances on PostgreSQL) the queue routes only while its
    instance leads; otherwise it hands each change to the router through the database
    (`commands.py`) and answers questions from the router's view (`view.py`). Without it, it
    routes from `start` to `stop` (SQLite, tests)."""

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
        self._agents = agents
        self._customers = customers or CustomerRecords(db=db)
        self._clock = clock
        self._leadership = leadership
        self._run_timers = True
        self._router = self._make_router(db)
        self._actions, self._arrivals = self._collaborators(db)
        self._leading = False
        self._views = ViewReader(db=db)
        self._forwarder = Forwarder(db=db, instance=instance, seen=self._views.at_least)
        self._runner: CommandRunner | None = None
        self._writer: ViewWriter | None = None
        self._listener: Listener | None = None

    def _make_router(self, db: Database) -> Router:
        return Router(
            db=db,
            interactions=self.interactions,
            agents=self._agents,
            policy=self.policy,
            bus=self.bus,
            clock=self._clock,
        )

    def _collaborators(self, db: Database) -> tuple[AgentActions, Arrivals]:
        actions = AgentActions(
            router=self._router,
            db=db,
            interactions=self.interactions,
            customers=self._customers,
            agents=self._agents,
            policy=self.policy,
            bus=self.bus,
        )
        arrivals = Arrivals(
            router=self._router, db=db, interactions=self.interactions, bus=self.bus
        )
        return actions, arrivals

    # -- life ---------------------------------------------------------------------------------

    async def start(self, run_timers: bool = True) -> None:
        """Without leadership: route now (rebuilt from the database), with timers unless told
        not to. With it: listen for the router's answers and view, and route whenever this
        instance leads (start the leadership next, before anything enqueues)."""
        self._run_timers = run_timers
        if self._leadership is None:
            await self._lead(self.db)
            return
        if not self.db.is_sqlite:
            self._listener = Listener(db=self.db, name="queue")
            self._listener.on(DONE, self._forwarder.heard)
            self._listener.on(VIEW, self._views.heard)
            self._listener.on(ASKED, self._asked)
            await self._listener.start()
            self._views.refresh()
        self._leadership.on_company(self._company)
        await self._leadership.join("queue", self._lead, self._stand_down)

    async def tick(self) -> None:
        """Act on every timer due by now: offer timeouts, overflows, SLA warnings, wrap-ups."""
        await self._router.tick()

    async def stop(self) -> None:
        """Store what has arrived, then stop the timers (and listening)."""
        if self._leadership is None:
            await self._stand_down()
        await self._forwarder.stop()
        await self._views.stop()
        if self._listener is not None:
            await self._listener.stop()

    def routes(self) -> bool:
        """Whether this instance routes the queue now."""
        return self._leading

    async def _lead(self, db: Database) -> None:
        """Route: the engine rebuilt from the database, writing through `db` (fenced with
        this leader's epoch on PostgreSQL)."""
        self._router = self._make_router(db)
        self._actions, self._arrivals = self._collaborators(db)
        await self._router.start(run_timers=self._run_timers)
        if self._leadership is not None and not db.is_sqlite:
            epoch = self._leadership.epoch() or 0
            self._writer = ViewWriter(
                db=db, epoch=epoch, build=self._router.view, alone=self._leadership.alone
            )
            self._router.on_change(self._writer.changed)
            await self._writer.write_now()
            self._runner = CommandRunner(
                db=db, run=self._run_command, view_written=self._view_written
            )
            self._runner.start()
        self._leading = True

    async def _stand_down(self) -> None:
        """Stop routing: new requests go to the next router; what has arrived is stored (or
        fails, if another router was elected meanwhile)."""
        self._leading = False
        if self._runner is not None:
            await self._runner.stop()
            self._runner = None
        await self._arrivals.drain()
        await self._router.stop()
        if self._writer is not None:
            await self._writer.stop()
            self._writer = None
        self._views.refresh()

    def _company(self) -> None:
        """Another instance came: it reads the view from now on."""
        if self._writer is not None:
            self._writer.changed()

    def _asked(self, payload: str) -> None:
        if self._runner is not None:
            self._runner.heard(payload)

    async def _view_written(self) -> tuple[int, int]:
        assert self._writer is not None
        return self._writer.epoch, await self._writer.write_now()

    def _reads(self) -> Router | RoutingView:
        """The engine where this instance routes (or routed last, without leadership); else
        the router's view."""
        if self._leading or self._leadership is None:
            return self._router
        return self._views.view

    def now(self) -> datetime:
        """The queue's clock (aware UTC): what reports measure waits against."""
        return moment(self._clock())

    # -- handing work to the router ------------------------------------------------------------

    async def _do(self, verb: str, **args: Any) -> Any:
        """`verb` here if this instance routes, else by the router (`commands.py`)."""
        if self._leading:
            return await self._run_here(verb, args)
        if self._leadership is None or self.db.is_sqlite:
            raise Unavailable("the queue is not running")
        return await self._forwarder.forward(verb, args)

    async def _run_command(
        self, command_id: int, verb: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        """A command another instance handed over, run here (the router)."""
        return ok(await self._run_here(verb, args, command_id))

    async def _run_here(
        self, verb: str, args: dict[str, Any], command_id: int | None = None
    ) -> Any:
        a = self._actions
        if verb == "enqueue":
            customer = await self._customers.get(args.pop("customer_id"))
            message = args.pop("message")
            new = NewInteraction(customer.id, Channel(args.pop("channel")), **args)
            admitted = await self._arrivals.admit(new, customer, message, command=command_id)
            return admitted.interaction_id
        if verb == "enqueue_started":
            customer = await self._customers.get(args["customer_id"])
            return await self._enqueue_started(args["interaction_id"], customer)
        if verb == "position":
            return self._router.position(args["interaction_id"])
        if verb == "set_presence":
            return await a.set_presence(
                args["agent_id"], Presence(args["presence"]), args["reason"]
            )
        verbs: dict[str, Callable[..., Awaitable[Any]]] = {
            "refresh_agent": a.refresh_agent,
            "accept": a.accept,
            "reject": a.reject,
            "responded": a.responded,
            "complete": a.complete,
            "transfer": a.transfer,
            "move": a.move,
            "schedule_callback": a.schedule_callback,
            "requeue": a.requeue,
            "abandon": a.abandon,
            "self_served": a.self_served,
        }
        if verb not in verbs:
            raise Invalid(f"the queue has no command {verb}", "verb")
        return await verbs[verb](**args)

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
    ) -> Admitted:
        """`enqueue`, answered with what was stored: where this instance routes and the
        arrival stored a new interaction that still waits, enough to describe it without
        reading it back (`Admitted.fresh`)."""
        if self._leading:
            new = NewInteraction(customer.id, channel, subject, topic, attributes, external_ref)
            admitted = await self._arrivals.admit(new, customer, message)
        else:
            interaction_id = await self._do(
                "enqueue",
                customer_id=customer.id,
                channel=channel.value,
                subject=subject,
                topic=topic,
                attributes=attributes,
                external_ref=external_ref,
                message=message,
            )
            admitted = Admitted(int(interaction_id))
        log.info("queue.enqueued", interaction_id=admitted.interaction_id, customer_id=customer.id)
        return admitted

    async def enqueue_started(self, interaction_id: int, customer: Customer) -> None:
        """Work that began outside the queue (a chat with the bot) enters it now, its wait
        starting now: stored as queued and routed in one transaction, as `enqueue` does."""
        await self._do("enqueue_started", interaction_id=interaction_id, customer_id=customer.id)

    async def _enqueue_started(self, interaction_id: int, customer: Customer) -> None:
        row = await self._actions.row(interaction_id)
        if row.status != InteractionStatus.BOT.value:
            raise Conflict(
                f"interaction {interaction_id} is {row.status}, not with the bot", "status"
            )
        async with self._router.lock:
            now = self._router.clock()
            at = moment(now)
            work = work_item(interaction_id, row.channel, customer, row.topic, row.attributes, now)
            decisions = self._router.call(self._router.engine.enqueue, work, now)
            try:
                async with self._router.db.begin() as conn:
                    await self.interactions.transition(
                        interaction_id,
                        InteractionStatus.QUEUED,
                        at=at,
                        conn=conn,
                        columns={"queued_at": at, "routing_since": at},
                    )
                    await store_decisions(
                        conn, self.interactions, decisions, now, self._router.callbacks
                    )
            except Exception:
                await self._router.rebuild()  # the engine moved, the database did not
                raise
            self.bus.publish(
                ev.InteractionQueued(
                    interaction_id=interaction_id, customer_id=customer.id, channel=row.channel
                )
            )
            self._router.published(decisions)
        log.info("queue.enqueued", interaction_id=interaction_id, customer_id=customer.id)

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
        found = self._reads().routed(interaction_id)
        return None if found is None else found.agent_id

    def routed(self, interaction_id: int) -> Routed | None:
        """Where routing has the interaction now (None: not in routing, e.g. over)."""
        return self._reads().routed(interaction_id)

    async def position(self, interaction_id: int) -> int | None:
        """Where waiting work stands (1: next) where it waits; None when it is not waiting
        (asked of the router: it costs the length of the work's places)."""
        if self._leading:
            return self._router.position(interaction_id)
        found = await self._do("position", interaction_id=interaction_id)
        return None if found is None else int(found)

    def waiting(self) -> int:
        """How much work waits for an offer."""
        return self._reads().waiting()

    def knows_agent(self, agent_id: int) -> bool:
        """Whether routing has seen this agent (every agent who set a presence)."""
        return self._reads().knows_agent(agent_id)

    def places(self, interaction_id: int) -> list[tuple[str, str]]:
        """Where waiting work may go now: ("group", name) and ("agent", id), each once."""
        return self._reads().places(interaction_id)

    def offer_expires(self, interaction_id: int) -> float | None:
        """When an open offer lapses (epoch seconds; None: no open offer)."""
        return self._reads().offer_expires(interaction_id)

    def load(self, agent_id: int) -> dict[str, int]:
        """Work the agent holds per channel they have room on (empty: not seen yet)."""
        return self._reads().load(agent_id)

    def staffing(self) -> Staffing:
        """Agents with work, and agents available or with work, now."""
        return self._reads().staffing()

    def waiting_by_group(self) -> dict[str, int]:
        """Waiting work per group it may go to now (work open to two groups counts in both)."""
        return self._reads().waiting_by_group()

    def has_callback(self, interaction_id: int) -> bool:
        """Whether a caller waits for a callback on this work."""
        return self._reads().has_callback(interaction_id)

    # -- what agents do (actions.py, through `_do`) ----------------------------------------------

    def presence_of(self, agent_id: int) -> Presence | None:
        """The agent's presence as routing knows it now (None: an agent it does not know)."""
        return self._reads().presence_of(agent_id)

    async def set_presence(self, agent_id: int, presence: Presence, reason: str = "") -> None:
        """The agent's presence; `reason` when the service sets it itself."""
        await self._do("set_presence", agent_id=agent_id, presence=presence.value, reason=reason)

    async def refresh_agent(self, agent_id: int) -> None:
        """The agent's groups, skills or capacity changed, or the agent was removed."""
        await self._do("refresh_agent", agent_id=agent_id)

    async def accept(self, interaction_id: int, agent_id: int) -> None:
        await self._do("accept", interaction_id=interaction_id, agent_id=agent_id)

    async def reject(self, interaction_id: int, agent_id: int) -> None:
        await self._do("reject", interaction_id=interaction_id, agent_id=agent_id)

    async def responded(self, interaction_id: int) -> None:
        """The first agent reply went out (email and fax): it stops the service-level clock."""
        await self._do("responded", interaction_id=interaction_id)

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
        await self._do(
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
        await self._do(
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
        await self._do(
            "move",
            interaction_id=interaction_id,
            to_group=to_group,
            to_agent=to_agent,
            by_user=by_user,
        )

    async def schedule_callback(self, interaction_id: int) -> bool:
        """A waiting caller asked to be called back (False: no longer waiting)."""
        return bool(await self._do("schedule_callback", interaction_id=interaction_id))

    async def requeue(self, interaction_id: int, reason: str) -> None:
        """Active work that never reached its agent goes back to its place in the queue."""
        await self._do("requeue", interaction_id=interaction_id, reason=reason)

    async def abandon(self, interaction_id: int) -> float:
        """The customer left before an agent accepted; returns how long they waited."""
        return float(await self._do("abandon", interaction_id=interaction_id))

    async def self_served(self, interaction_id: int, article_id: int) -> None:
        """An article answered the customer before any agent took the work."""
        await self._do("self_served", interaction_id=interaction_id, article_id=article_id)

    def check_held(self, interaction_id: int, agent_id: int) -> None:
        """Conflict unless the interaction is active with this agent (what answering needs)."""
        found = self._reads().routed(interaction_id)
        if found is None or found.agent_id != agent_id or found.state != "active":
            raise Conflict(f"interaction {interaction_id} is not active with agent {agent_id}")
