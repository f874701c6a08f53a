"""The routing engine's own small types: what it is told and what it decides.

Plain values only; the engine imports nothing from the service, and the service translates its
domain objects into these (DESIGN.md, "The routing engine").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

CHANNELS = ("voice", "chat", "email", "fax")
LIVE_CHANNELS = frozenset({"voice", "chat"})


class Presence(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a work item may be served: one named agent, or agents of a group.

    `agent` is an agent id, or the name of an item attribute holding one (`account_manager`);
    a group target may ask for a minimum level and skills. `timeout` is how long the item waits
    here before the next target is added (None: the last target, no overflow).
    """

    group: str | None = None
    agent: str | None = None
    min_level: int = 0
    skills: frozenset[str] = frozenset()
    timeout: float | None = None

    def describe(self) -> str:
        if self.agent is not None:
            return f"agent {self.agent}"
        extra = f" level>={self.min_level}" if self.min_level else ""
        extra += f" skills {','.join(sorted(self.skills))}" if self.skills else ""
        return f"group {self.group}{extra}"


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """An agent as the service knows it; `capacity` per channel, `groups` name -> level."""

    id: str
    groups: dict[str, int]
    skills: frozenset[str] = frozenset()
    capacity: dict[str, int] = field(
        default_factory=lambda: {"voice": 1, "chat": 3, "email": 5, "fax": 5}
    )
    voice_blocks_other: bool = True


@dataclass(slots=True)
class WorkItem:
    """An interaction waiting to be routed, as the engine needs it.

    `attributes` holds what rules match on besides tier and channel (segment, language, topic,
    account_manager, ...). `queued_at` is kept across restarts and transfers: it is the item's
    place in the queue.
    """

    id: str
    channel: str
    tier: str
    queued_at: float
    attributes: dict[str, Any] = field(default_factory=dict)


# -- decisions -------------------------------------------------------------------------------
# Work items and decisions are made on the path of every assignment, so they are plain slotted
# dataclasses: a frozen one sets each field through object.__setattr__, which cost a tenth of an
# assignment. Nothing changes them after they are made.


@dataclass(slots=True)
class Offer:
    item_id: str
    agent_id: str
    expires_at: float


@dataclass(slots=True)
class OfferExpired:
    item_id: str
    agent_id: str


@dataclass(slots=True)
class OfferRevoked:
    """The agent went away or offline with the offer open: the work goes back at its place."""

    item_id: str
    agent_id: str


@dataclass(slots=True)
class Overflowed:
    item_id: str
    step: int
    target: str


@dataclass(slots=True)
class SlaWarning:
    item_id: str
    threshold: float


@dataclass(slots=True)
class SlaBreached:
    item_id: str
    threshold: float


@dataclass(slots=True)
class AgentPaused:
    """The agent missed too many offers in a row and was set away."""

    agent_id: str
    missed: int


@dataclass(slots=True)
class Abandoned:
    item_id: str
    waited: float


@dataclass(slots=True)
class WrapUpEnded:
    agent_id: str
    item_id: str


Decision = (
    Offer
    | OfferExpired
    | Overflowed
    | SlaWarning
    | SlaBreached
    | AgentPaused
    | Abandoned
    | WrapUpEnded
)


class RoutingError(ValueError):
    """An event the engine cannot apply (unknown item or agent, wrong state); nothing changed."""
