"""What happened, as typed events, and the bus that carries them to every listener.

Each event is a class here, shared by its publisher and its listeners, so that a search for one
finds the other. `wire()` is what the consoles and the chat widget receive: `{"type": ..., ...}`
with the event's fields, the same JSON as before the events had classes.

Each subscriber has its own bounded queue, so one slow console never holds up routing; a
subscriber that falls too far behind is told so and dropped (it reconnects and reloads). With
several instances, what one publishes reaches the others' buses through PostgreSQL
(`cluster/relay.py`): consoles and chat sockets hear events from `Origin.ANYWHERE`; a listener
that acts on an event (dials a call, writes a notice) hears only those published `HERE`, so it
acts once, on the instance where the change was made.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, ClassVar

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened; `type` is its name on the wire."""

    type: ClassVar[str]

    def wire(self) -> dict[str, Any]:
        """The JSON object consoles receive: the type and the fields. A field whose default is
        None is left out while it is None (as the events were written before they had
        classes)."""
        data: dict[str, Any] = {"type": self.type}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None or f.default is not None:
                data[f.name] = value
        return data

    def about_interaction(self) -> int | None:
        """The interaction this event is about (None: none)."""
        return getattr(self, "interaction_id", None)

    def about_agent(self) -> int | None:
        """The agent this event names (None: none); their console hears it."""
        return getattr(self, "agent_id", None)


# -- the stream itself -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StreamOverflow(Event):
    """A listener fell too far behind and was dropped: it reloads and subscribes again."""

    type: ClassVar[str] = "stream.overflow"
    message: str = "too far behind; reload and reconnect"


OVERFLOW = StreamOverflow()


# -- interactions in the queue ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InteractionQueued(Event):
    """New work entered the queue (or a chat left the bot for a person)."""

    type: ClassVar[str] = "interaction.queued"
    interaction_id: int
    customer_id: int
    channel: str


@dataclass(frozen=True, kw_only=True)
class AgentActed(Event):
    """An agent's action on work they were offered or hold; the subclass says which."""

    interaction_id: int
    agent_id: int


@dataclass(frozen=True, kw_only=True)
class InteractionActive(AgentActed):
    """The agent accepted: the voice channel puts the call through, a chat says who joined."""

    type: ClassVar[str] = "interaction.active"


@dataclass(frozen=True, kw_only=True)
class InteractionRejected(AgentActed):
    """The agent turned the offer down: the work waits again (on the wire, queued)."""

    type: ClassVar[str] = "interaction.queued"


@dataclass(frozen=True, kw_only=True)
class InteractionWrapUp(AgentActed):
    """The agent finished and is in wrap-up."""

    type: ClassVar[str] = "interaction.wrap_up"


@dataclass(frozen=True, kw_only=True)
class InteractionClosed(AgentActed):
    """The agent finished; the channel has no wrap-up time."""

    type: ClassVar[str] = "interaction.closed"


@dataclass(frozen=True, kw_only=True)
class InteractionTransferred(Event):
    """The agent handed the work on; it waits again for the group or agent named."""

    type: ClassVar[str] = "interaction.transferred"
    interaction_id: int
    agent_id: int
    to_group: str | None
    to_agent: int | None


@dataclass(frozen=True, kw_only=True)
class InteractionMoved(Event):
    """A supervisor sent waiting work to another group or agent."""

    type: ClassVar[str] = "interaction.moved"
    interaction_id: int
    to_group: str | None
    to_agent: int | None


@dataclass(frozen=True, kw_only=True)
class InteractionCallbackScheduled(Event):
    """A waiting caller asked to be called back; the work keeps its place."""

    type: ClassVar[str] = "interaction.callback_scheduled"
    interaction_id: int


@dataclass(frozen=True, kw_only=True)
class InteractionRequeued(Event):
    """Active work that never reached its agent went back to its place in the queue."""

    type: ClassVar[str] = "interaction.requeued"
    interaction_id: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class InteractionAbandoned(Event):
    """The customer left before an agent accepted, after `waited` seconds."""

    type: ClassVar[str] = "interaction.abandoned"
    interaction_id: int
    waited: float


@dataclass(frozen=True, kw_only=True)
class InteractionSelfServed(Event):
    """An article answered the customer before any agent took the work (`waited` when it
    left the queue)."""

    type: ClassVar[str] = "interaction.self_served"
    interaction_id: int
    article_id: int
    waited: float | None = None


@dataclass(frozen=True, kw_only=True)
class InteractionMessage(Event):
    """A customer's message is on the interaction's timeline (a mail, a chat line, a form)."""

    type: ClassVar[str] = "interaction.message"
    interaction_id: int
    message_id: int | None = None
    customer_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class InteractionSuggestions(Event):
    """The knowledge-base articles suggested for an interaction changed (or were asked for)."""

    type: ClassVar[str] = "interaction.suggestions"
    interaction_id: int
    customer_id: int | None
    agent_id: int | None
    suggestions: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class AgentPresence(Event):
    """An agent's presence changed (`reason` when the service set it itself)."""

    type: ClassVar[str] = "agent.presence"
    agent_id: int
    presence: str
    reason: str


# -- what the routing engine decided (routing/types.py's decisions, ids as integers) ----------


@dataclass(frozen=True, kw_only=True)
class Offered(Event):
    type: ClassVar[str] = "routing.Offer"
    interaction_id: int
    agent_id: int
    expires_at: float


@dataclass(frozen=True, kw_only=True)
class OfferExpired(Event):
    type: ClassVar[str] = "routing.OfferExpired"
    interaction_id: int
    agent_id: int


@dataclass(frozen=True, kw_only=True)
class OfferRevoked(Event):
    type: ClassVar[str] = "routing.OfferRevoked"
    interaction_id: int
    agent_id: int


@dataclass(frozen=True, kw_only=True)
class Overflowed(Event):
    type: ClassVar[str] = "routing.Overflowed"
    interaction_id: int
    step: int
    target: str


@dataclass(frozen=True, kw_only=True)
class SlaWarning(Event):
    type: ClassVar[str] = "routing.SlaWarning"
    interaction_id: int
    threshold: float


@dataclass(frozen=True, kw_only=True)
class SlaBreached(Event):
    type: ClassVar[str] = "routing.SlaBreached"
    interaction_id: int
    threshold: float


@dataclass(frozen=True, kw_only=True)
class AgentPaused(Event):
    type: ClassVar[str] = "routing.AgentPaused"
    agent_id: int
    missed: int


@dataclass(frozen=True, kw_only=True)
class LeftQueue(Event):
    type: ClassVar[str] = "routing.Abandoned"
    interaction_id: int
    waited: float


@dataclass(frozen=True, kw_only=True)
class WrapUpEnded(Event):
    type: ClassVar[str] = "routing.WrapUpEnded"
    agent_id: int
    interaction_id: int


# -- channels --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class VoiceConnectFailed(Event):
    """A call could not be put through to the agent who accepted it; it waits again."""

    type: ClassVar[str] = "voice.connect_failed"
    interaction_id: int
    error: str


@dataclass(frozen=True, kw_only=True)
class ChatLine(Event):
    """A line of a chat (the visitor's, the bot's, an agent's or a notice)."""

    type: ClassVar[str] = "chat.line"
    interaction_id: int
    agent_id: int | None
    line: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ChatTyping(Event):
    """Someone (`by`: visitor or agent) is typing in a chat."""

    type: ClassVar[str] = "chat.typing"
    interaction_id: int
    by: str
    agent_id: int | None


@dataclass(frozen=True, kw_only=True)
class ChatEnded(Event):
    """A chat is over, with its final status."""

    type: ClassVar[str] = "chat.ended"
    interaction_id: int
    status: str
    survey: dict[str, Any] | None = None  # the questions the widget asks (chat/survey.py)


# -- the customer relationship ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LifecycleChanged(Event):
    """A customer's lifecycle stage moved (an order, the lapsed sweep, or an edit), and why."""

    type: ClassVar[str] = "customer.lifecycle_changed"
    customer_id: int
    from_stage: str | None
    to_stage: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class TierChanged(Event):
    """A supervisor accepted a tier review's suggestion."""

    type: ClassVar[str] = "customer.tier_changed"
    customer_id: int
    from_tier: str
    to_tier: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ComplaintOpened(Event):
    """A complaint case was opened; its owner's console hears it (supervisors hear all)."""

    type: ClassVar[str] = "complaint.opened"
    complaint_id: int
    reference: str
    customer_id: int
    agent_id: int | None  # the owner
    source: str


@dataclass(frozen=True, kw_only=True)
class ComplaintMoved(Event):
    """A complaint case changed status (or owner)."""

    type: ClassVar[str] = "complaint.moved"
    complaint_id: int
    reference: str
    customer_id: int
    agent_id: int | None  # the owner
    status: str
    outcome: str | None = None


@dataclass(frozen=True, kw_only=True)
class ComplaintDue(Event):
    """A complaint is due soon (`overdue` False: its owner is reminded) or overdue (True: the
    supervisors are told)."""

    type: ClassVar[str] = "complaint.due"
    complaint_id: int
    reference: str
    agent_id: int | None
    due_at: str
    overdue: bool


@dataclass(frozen=True, kw_only=True)
class SurveyAnswered(Event):
    """A customer answered a satisfaction survey; `low` (a score of 1 or 2) is an alert, and
    the agent who handled the work hears it."""

    type: ClassVar[str] = "survey.answered"
    interaction_id: int
    customer_id: int
    agent_id: int | None
    csat: int | None
    solved: bool | None
    low: bool


@dataclass(frozen=True, kw_only=True)
class Escalated(Event):
    """An SLA escalation step was taken on waiting work; `agent_id` (who holds it, if anyone)
    hears it, and supervisors see it on the dashboard."""

    type: ClassVar[str] = "sla.escalated"
    interaction_id: int
    step: str
    action: str
    agent_id: int | None = None
    detail: str = ""


class Origin(Enum):
    """Which events a subscriber hears: all, only those published by this instance, or only
    those relayed from the others."""

    ANYWHERE = "anywhere"
    HERE = "here"
    ELSEWHERE = "elsewhere"


class Subscription:
    def __init__(self, limit: int, origin: Origin = Origin.ANYWHERE) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(limit)
        self.dropped = False
        self.origin = origin

    async def get(self) -> Event:
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            event = await self.queue.get()
            yield event
            if event is OVERFLOW:
                return


class EventBus:
    def __init__(self, subscriber_limit: int = 1000) -> None:
        self.subscriber_limit = subscriber_limit
        self._subscribers: set[Subscription] = set()
        self._relay: Callable[[Event], None] | None = None

    def relay_to(self, send: Callable[[Event], None] | None) -> None:
        """Hand every event published here to `send` too (the other instances' buses)."""
        self._relay = send

    def publish(self, event: Event) -> None:
        """Hand `event` to every subscriber now (and to the relay); never waits."""
        self._deliver(event, Origin.ELSEWHERE)
        if self._relay is not None:
            self._relay(event)

    def publish_relayed(self, event: Event) -> None:
        """An event another instance published: to the subscribers that hear other
        instances."""
        self._deliver(event, Origin.HERE)

    def _deliver(self, event: Event, deaf: Origin) -> None:
        for sub in list(self._subscribers):
            if sub.dropped or sub.origin is deaf:
                continue
            if sub.queue.qsize() >= self.subscriber_limit - 1:
                # Keep one slot for the overflow notice, then stop feeding this subscriber.
                sub.dropped = True
                sub.queue.put_nowait(OVERFLOW)
                self._subscribers.discard(sub)
                log.warning("events.subscriber_dropped", pending=sub.queue.qsize())
                continue
            sub.queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, origin: Origin = Origin.ANYWHERE) -> AsyncIterator[Subscription]:
        sub = Subscription(self.subscriber_limit, origin)
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


def event_classes() -> dict[str, type[Event]]:
    """Every event class by its class name (two may share a wire name: a rejected offer is
    `interaction.queued` on the wire), which the relay rebuilds events from."""
    found: dict[str, type[Event]] = {}
    todo: list[type[Event]] = [Event]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "type" in cls.__dict__:
            found[cls.__name__] = cls
    return found


def fields_of(event: Event) -> dict[str, Any]:
    """The event's fields by name (every one, unlike `wire`)."""
    return {f.name: getattr(event, f.name) for f in fields(event)}
