"""Whether this instance routes the queue, and how work reaches the router.

While this instance leads (always, without `leadership`: SQLite, tests), the router, its
arrivals and the agents' actions run here, on the database fenced with the leader's epoch.
Otherwise each change is handed to the router through the database (`commands.py`) and the
questions are answered from the router's view (`view.py`). The queue's front door (`core.py`)
asks the seat for both, by verb, so that a change runs the same code here or on the router.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from contactcenter.cluster.leadership import Leadership
from contactcenter.cluster.notify import Listener
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Invalid, Unavailable
from contactcenter.events import EventBus
from contactcenter.interactions.records import InteractionRecords
from contactcenter.interactions.transitions import NewInteraction
from contactcenter.model import Channel, Customer, Initiator, Presence
from contactcenter.people.agents import AgentDirectory
from contactcenter.queue.actions import AgentActions
from contactcenter.queue.arrivals import Admitted, Arrivals
from contactcenter.queue.commands import ASKED, DONE, CommandRunner, Forwarder, ok
from contactcenter.queue.escalations import EscalationActions
from contactcenter.queue.router import Router
from contactcenter.queue.view import CHANNEL as VIEW
from contactcenter.queue.view import RoutingView, ViewReader, ViewWriter
from contactcenter.store.db import Database
from routing.policy import Policy


class RouterSeat:
    def __init__(
        self,
        *,
        db: Database,
        interactions: InteractionRecords,
        agents: AgentDirectory,
        customers: CustomerRecords,
        policy: Policy,
        bus: EventBus,
        clock: Callable[[], float] = time.time,
        leadership: Leadership | None = None,
        instance: str = "",
    ) -> None:
        self.db = db
        self.interactions = interactions
        self.agents = agents
        self.customers = customers
        self.policy = policy
        self.bus = bus
        self.clock = clock
        self.leadership = leadership
        self._run_timers = True
        self._seat(db)
        self._leading = False
        self._views = ViewReader(db=db)
        self._forwarder = Forwarder(db=db, instance=instance, seen=self._views.at_least)
        self._runner: CommandRunner | None = None
        self._writer: ViewWriter | None = None
        self._listener: Listener | None = None

    def _seat(self, db: Database) -> None:
        """A router, its arrivals and the agents' actions, writing through `db`."""
        self.router = Router(
            db=db,
            interactions=self.interactions,
            agents=self.agents,
            policy=self.policy,
            bus=self.bus,
            clock=self.clock,
        )
        self.escalations = EscalationActions(router=self.router, db=db)
        self.actions = AgentActions(
            router=self.router,
            db=db,
            interactions=self.interactions,
            customers=self.customers,
            agents=self.agents,
            policy=self.policy,
            bus=self.bus,
        )
        self.arrivals = Arrivals(
            router=self.router, db=db, interactions=self.interactions, bus=self.bus
        )

    # -- life ---------------------------------------------------------------------------------

    async def start(self, run_timers: bool = True) -> None:
        """Without leadership: route now. With it: listen for the router's answers and view,
        and route whenever this instance leads."""
        self._run_timers = run_timers
        if self.leadership is None:
            await self._lead(self.db)
            return
        if not self.db.is_sqlite:
            self._listener = Listener(db=self.db, name="queue")
            self._listener.on(DONE, self._forwarder.heard)
            self._listener.on(VIEW, self._views.heard)
            self._listener.on(ASKED, self._asked)
            await self._listener.start()
            self._views.refresh()
        self.leadership.on_company(self._company)
        await self.leadership.join("queue", self._lead, self._stand_down)

    async def stop(self) -> None:
        if self.leadership is None:
            await self._stand_down()
        await self._forwarder.stop()
        await self._views.stop()
        if self._listener is not None:
            await self._listener.stop()

    def routes(self) -> bool:
        return self._leading

    async def _lead(self, db: Database) -> None:
        """Route: the engine rebuilt from the database, writing through `db` (fenced with
        this leader's epoch on PostgreSQL)."""
        self._seat(db)
        await self.router.start(run_timers=self._run_timers)
        if self.leadership is not None and not db.is_sqlite:
            epoch = self.leadership.epoch() or 0
            self._writer = ViewWriter(
                db=db, epoch=epoch, build=self.router.view, alone=self.leadership.alone
            )
            self.router.on_change(self._writer.changed)
            await self._writer.write_now()
            self._runner = CommandRunner(db=db, run=self._run_command, view_written=self._written)
            self._runner.start()
        self._leading = True

    async def _stand_down(self) -> None:
        """Stop routing: new requests go to the next router; what has arrived is stored (or
        fails, if another router was elected meanwhile)."""
        self._leading = False
        if self._runner is not None:
            await self._runner.stop()
            self._runner = None
        await self.arrivals.drain()
        await self.router.stop()
        if self._writer is not None:
            await self._writer.stop()
            self._writer = None
        if self._listener is not None:  # another instance routes next: read its view
            self._views.refresh()

    def _company(self) -> None:
        """Another instance came: it reads the view from now on."""
        if self._writer is not None:
            self._writer.changed()

    def _asked(self, payload: str) -> None:
        if self._runner is not None:
            self._runner.heard(payload)

    async def _written(self) -> tuple[int, int]:
        assert self._writer is not None
        return self._writer.epoch, await self._writer.write_now()

    # -- the front door's two questions ---------------------------------------------------------

    def reads(self) -> Router | RoutingView:
        """The engine where this instance routes (or routed last, without leadership); else
        the router's view."""
        if self._leading or self.leadership is None:
            return self.router
        return self.view()

    def view(self) -> RoutingView:
        return self._views.view

    async def admit(self, new: NewInteraction, customer: Customer, message: str) -> Admitted:
        """An arrival stored and routed, here or by the router."""
        if self._leading:
            return await self.arrivals.admit(new, customer, message)
        interaction_id = await self.do(
            "enqueue",
            customer_id=customer.id,
            channel=new.channel.value,
            subject=new.subject,
            topic=new.topic,
            attributes=new.attributes,
            external_ref=new.external_ref,
            message=message,
            initiated_by=new.initiated_by.value,
            products=list(new.products),
        )
        return Admitted(int(interaction_id))

    async def do(self, verb: str, **args: Any) -> Any:
        """`verb` here if this instance routes, else by the router (`commands.py`)."""
        if self._leading:
            return await self._run_here(verb, args)
        if self.leadership is None or self.db.is_sqlite:
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
        a = self.actions
        if verb == "enqueue":
            customer = await self.customers.get(args.pop("customer_id"))
            message = args.pop("message")
            channel = Channel(args.pop("channel"))
            initiated_by = Initiator(args.pop("initiated_by", Initiator.CUSTOMER.value))
            products = tuple(args.pop("products", ()))
            new = NewInteraction(
                customer.id, channel, **args, initiated_by=initiated_by, products=products
            )
            admitted = await self.arrivals.admit(new, customer, message, command=command_id)
            return admitted.interaction_id
        if verb == "enqueue_started":
            customer = await self.customers.get(args["customer_id"])
            row = await a.row(args["interaction_id"])
            return await self.arrivals.enter_started(args["interaction_id"], customer, row)
        if verb == "position":
            return self.router.position(args["interaction_id"])
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
            "boost": self.escalations.boost,
            "widen": self.escalations.widen,
            "schedule_callback": a.schedule_callback,
            "requeue": a.requeue,
            "abandon": a.abandon,
            "self_served": a.self_served,
        }
        if verb not in verbs:
            raise Invalid(f"the queue has no command {verb}", "verb")
        return await verbs[verb](**args)
