"""Domain types shared by every package: plain enums and dataclasses, no I/O.

The words follow DESIGN.md: customer tiers, segments, lifecycle stages, identities, interactions
and their life, agents and their presence, user roles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Tier(StrEnum):
    """Decides routing, priority and SLA targets."""

    KEY_ACCOUNT = "key_account"
    RELATIONSHIP = "relationship"
    TRANSACTIONAL = "transactional"


class Segment(StrEnum):
    HOME = "home"
    SMALL_BUSINESS = "small_business"
    LARGE_ENTERPRISE = "large_enterprise"
    PUBLIC_SECTOR = "public_sector"


class LifecycleStage(StrEnum):
    PROSPECT = "prospect"
    FIRST_PURCHASE = "first_purchase"
    REPEAT = "repeat"
    LOYAL = "loyal"
    LAPSED = "lapsed"
    WON_BACK = "won_back"


class IdentityKind(StrEnum):
    PHONE = "phone"
    FAX = "fax"
    EMAIL = "email"
    CHAT_VISITOR = "chat_visitor"
    EXTERNAL_CRM = "external_crm"


class Channel(StrEnum):
    VOICE = "voice"
    EMAIL = "email"
    FAX = "fax"
    CHAT = "chat"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Initiator(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class InteractionStatus(StrEnum):
    BOT = "bot"  # a chat answered from the knowledge base; not in the queue (yet)
    QUEUED = "queued"
    OFFERED = "offered"
    ACTIVE = "active"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"
    ABANDONED = "abandoned"
    SELF_SERVED = "self_served"
    CALLBACK_SCHEDULED = "callback_scheduled"
    TRANSFERRED = "transferred"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {InteractionStatus.CLOSED, InteractionStatus.ABANDONED, InteractionStatus.SELF_SERVED}
)

# Which status may follow which. `transferred` is a passing state: the interaction goes back to
# the queue (or straight to an offer) for its new target.
_S = InteractionStatus
TRANSITIONS: dict[InteractionStatus, frozenset[InteractionStatus]] = {
    # The visitor asks for a person (queued), is helped (self_served), leaves (abandoned, never
    # offered: not counted against service levels) or the chat ends idle (closed).
    _S.BOT: frozenset({_S.QUEUED, _S.SELF_SERVED, _S.ABANDONED, _S.CLOSED}),
    # A supervisor may move waiting work to another target: queued → transferred → queued.
    _S.QUEUED: frozenset(
        {_S.OFFERED, _S.ABANDONED, _S.SELF_SERVED, _S.CALLBACK_SCHEDULED, _S.CLOSED, _S.ACTIVE}
        | {_S.TRANSFERRED}
    ),
    _S.OFFERED: frozenset({_S.ACTIVE, _S.QUEUED, _S.ABANDONED, _S.CALLBACK_SCHEDULED}),
    _S.ACTIVE: frozenset({_S.WRAP_UP, _S.TRANSFERRED, _S.CLOSED}),
    _S.WRAP_UP: frozenset({_S.CLOSED}),
    _S.TRANSFERRED: frozenset({_S.QUEUED, _S.OFFERED}),
    _S.CALLBACK_SCHEDULED: frozenset({_S.QUEUED, _S.OFFERED, _S.ABANDONED, _S.CLOSED}),
    _S.CLOSED: frozenset(),
    _S.ABANDONED: frozenset(),
    _S.SELF_SERVED: frozenset(),
}


class CallStage(StrEnum):
    """Where a phone call stands, as the voice channel follows it from webhook to webhook."""

    MENU = "menu"  # hearing the menu
    ORDER = "order"  # self-service: giving an order number
    QUEUED = "queued"  # holding in the queue
    CALLBACK = "callback"  # hung up to be called back, keeping the place
    CONNECTING = "connecting"  # an agent accepted; the call is being put through
    CONNECTED = "connected"  # talking to the agent
    VOICEMAIL = "voicemail"  # leaving a message after hours
    ENDED = "ended"


class Presence(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"
    WRAP_UP = "wrap_up"


class Role(StrEnum):
    """User roles; each role may do everything the roles before it may."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    def allows(self, required: Role) -> bool:
        return _ROLE_RANK[self] >= _ROLE_RANK[required]


_ROLE_RANK = {Role.AGENT: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}

DEFAULT_CAPACITY: dict[Channel, int] = {
    Channel.VOICE: 1,
    Channel.CHAT: 3,
    Channel.EMAIL: 5,
    Channel.FAX: 5,
}


class InvalidTransition(ValueError):
    """An interaction was asked to move to a status its current one does not allow."""


@dataclass(frozen=True, slots=True)
class InteractionEvent:
    """One transition in an interaction's life; kept forever."""

    type: str
    at: datetime
    from_status: InteractionStatus | None
    to_status: InteractionStatus | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Interaction:
    """One contact on one channel. Transitions are checked and recorded, never sent from here."""

    channel: Channel
    status: InteractionStatus
    customer_id: int
    id: int | None = None
    events: list[InteractionEvent] = field(default_factory=list)

    def transition(self, to: InteractionStatus, at: datetime, **data: Any) -> InteractionEvent:
        event = transition_event(self.status, to, at, **data)
        self.status = to
        self.events.append(event)
        return event


def transition_event(
    from_status: InteractionStatus, to: InteractionStatus, at: datetime, **data: Any
) -> InteractionEvent:
    """The event of a move from one status to another, if the life of an interaction allows it."""
    if to not in TRANSITIONS[from_status]:
        raise InvalidTransition(f"interaction cannot go from {from_status} to {to}")
    return InteractionEvent(
        type=f"status.{to.value}", at=at, from_status=from_status, to_status=to, data=data
    )


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """A stored identity of a customer."""

    id: int
    kind: IdentityKind
    value: str
    verified: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Customer:
    """The shared customer record, as every channel and the API see it."""

    id: int
    name: str
    organisation: str
    tier: Tier
    segment: Segment | None
    lifecycle_stage: LifecycleStage | None
    account_manager_id: int | None
    language: str | None
    tags: list[str]
    verified: bool
    created_at: datetime
    updated_at: datetime
    identities: list[IdentityRecord] = field(default_factory=list)
    last_order_at: datetime | None = None  # kept by the order records, never edited


TIER_RANK = {Tier.TRANSACTIONAL: 0, Tier.RELATIONSHIP: 1, Tier.KEY_ACCOUNT: 2}


@dataclass(frozen=True, slots=True)
class Routed:
    """Where routing has an interaction now: `waiting`, `offered`, `active` or `wrap_up`, and
    the agent it is offered to or held by."""

    state: str
    agent_id: int | None


@dataclass(frozen=True, slots=True)
class Staffing:
    """Agents routing knows now: with work, and available or with work."""

    busy: int
    staffed: int
