"""The engine's mutable state: work items, agents, and the heaps that order them.

Heaps use lazy deletion: an entry carries the version its item or agent had when it was pushed,
and an entry whose version is no longer current is dropped when it reaches the top. Every push and
pop is O(log n); nothing ever scans a whole queue.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from routing.types import CHANNELS, AgentSpec, Presence, Target, WorkItem

# A place where work waits: a group with its level and skills, or one agent.
Spec = tuple[str, str, int, frozenset[str]]
QueueKey = tuple[Spec, str]  # (spec, channel)
# Heap entries: the ordering key, a sequence number that breaks ties (so that the object after it
# is never compared), the item or agent itself, and the version it had when pushed.
ItemEntry = tuple[float, float, int, "Item", int]
AgentEntry = tuple[int, float, int, "Agent", int]


def group_spec(target: Target) -> Spec:
    assert target.group is not None
    return ("group", target.group, target.min_level, target.skills)


def agent_spec(agent_id: str) -> Spec:
    return ("agent", agent_id, 0, frozenset())


class ItemState(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ACTIVE = "active"
    WRAP_UP = "wrap_up"


_WAITING = ItemState.WAITING
NO_ONE: frozenset[str] = frozenset()


_AVAILABLE = Presence.AVAILABLE


@dataclass(slots=True, eq=False)
class Place:
    """Where work waits for one spec on one channel: its waiting items and its free agents.
    Items and agents hold their places directly, so that matching looks nothing up."""

    spec: Spec
    channel: str
    items: list[ItemEntry] = field(default_factory=list)
    agents: list[AgentEntry] = field(default_factory=list)


@dataclass(slots=True)
class Item:
    spec: WorkItem
    key: float  # priority - aging rate * queued_at: larger is served first, and never changes
    targets: list[Place | None]  # one per target; None where an agent target named nobody
    timeouts: list[float | None]
    # The work's channel, id and time queued, kept here because every match reads them.
    channel: str
    id: str
    queued_at: float
    step: int = 0  # targets 0..step are eligible (overflow widens, it does not move)
    step_since: float = 0.0
    state: ItemState = ItemState.WAITING
    agent: str | None = None
    # Agents who declined it; most items have none, so they share one empty set until then.
    declined: frozenset[str] = NO_ONE
    version: int = 0
    answered: bool = False  # live channels: accepted; email and fax: first response sent
    offer_expires: float = 0.0  # while offered: when the offer lapses
    # Groups an escalation added (overflow): eligible whatever the step, for the item's life.
    extra: tuple[Place, ...] = ()

    def places_now(self) -> list[Place]:
        """The places it waits in now: its targets up to its step, and any added."""
        return [p for p in self.targets[: self.step + 1] if p is not None] + [
            p for p in self.extra if p not in self.targets[: self.step + 1]
        ]

    def eligible(self) -> list[Spec]:
        """The specs of the targets it may be served by now."""
        return [place.spec for place in self.places_now()]


@dataclass(slots=True, eq=False)
class Lane:
    """An agent's work on one channel, kept together because every match on the channel reads
    all of it: load and room, the time of their last assignment there, the version of their
    free-agent heap entries, and the places they serve."""

    capacity: int = 0
    load: int = 0
    last_assigned: float = 0.0
    version: int = 0
    places: list[Place] = field(default_factory=list)


@dataclass(slots=True)
class Agent:
    """An agent's live state, with one lane per channel, so that work on one channel re-files
    the agent in that channel's heaps only."""

    spec: AgentSpec
    presence: Presence = Presence.OFFLINE
    missed: int = 0
    specs: list[Spec] = field(default_factory=list)
    offers: set[str] = field(default_factory=set)  # items offered to them, not yet answered
    lanes: dict[str, Lane] = field(init=False)  # every channel, capacity 0 where none is given
    voice: Lane = field(init=False)  # the voice lane, which may block the others
    # From `spec`, kept at hand for `free_for`, which every match calls.
    id: str = field(init=False)
    voice_blocks_other: bool = field(init=False)
    served: tuple[str, ...] = field(init=False)  # the channels with any capacity

    def __post_init__(self) -> None:
        self.lanes = {ch: Lane() for ch in CHANNELS}
        self.voice = self.lanes["voice"]
        self.use(self.spec)

    def use(self, spec: AgentSpec) -> None:
        """Take a new spec (groups, skills, capacity); the caller re-files the agent."""
        self.spec = spec
        self.id = spec.id
        for channel, lane in self.lanes.items():
            lane.capacity = spec.capacity.get(channel, 0)
        self.served = tuple(ch for ch, lane in self.lanes.items() if lane.capacity > 0)
        self.voice_blocks_other = spec.voice_blocks_other

    def busy(self) -> bool:
        """Holding any work (offered, active or in wrap-up)."""
        return any(lane.load for lane in self.lanes.values())

    def free_for(self, channel: str) -> bool:
        if self.presence is not _AVAILABLE:
            return False
        lane = self.lanes[channel]
        if lane.load >= lane.capacity:
            return False
        return not (self.voice_blocks_other and channel != "voice" and self.voice.load)

    def qualifies(self, spec: Spec) -> bool:
        kind, name, level, skills = spec
        if kind == "agent":
            return name == self.id
        return self.spec.groups.get(name, -1) >= level and skills <= self.spec.skills

    def entry(self, seq: int, lane: Lane) -> AgentEntry:
        """Least work on the channel first, then the longest since their last one there."""
        return (lane.load, lane.last_assigned, seq, self, lane.version)


class Heaps:
    """The places, each with its heaps of waiting items and free agents, with lazy deletion."""

    def __init__(self) -> None:
        self.places: dict[QueueKey, Place] = {}
        # Ties in a heap go to the entry pushed first.
        self.seq = itertools.count().__next__

    def place(self, spec: Spec, channel: str) -> Place:
        place = self.places.get((spec, channel))
        if place is None:
            place = self.places[spec, channel] = Place(spec, channel)
        return place

    def find(self, spec: Spec, channel: str) -> Place | None:
        return self.places.get((spec, channel))

    def push_item(self, place: Place, item: Item) -> None:
        """Best first: the largest constant key, then the earliest queued."""
        heapq.heappush(place.items, (-item.key, item.queued_at, self.seq(), item, item.version))

    def file_agent(self, agent: Agent, channel: str) -> None:
        """One entry for the agent in the free-agent heap of each place they serve."""
        lane = agent.lanes[channel]
        entry = agent.entry(self.seq(), lane)
        for place in lane.places:
            heapq.heappush(place.agents, entry)

    def best_item(self, place: Place, agent_id: str) -> ItemEntry | None:
        """The head of a queue: the best item still waiting there that `agent_id` did not
        decline. Entries of items no longer waiting there are dropped on the way."""
        heap = place.items
        while heap:
            entry = heap[0]
            item = entry[3]
            if item.version != entry[4] or item.state is not _WAITING:
                heapq.heappop(heap)
            elif agent_id in item.declined:
                return _head(
                    heap,
                    lambda it, v: it.version == v and it.state is _WAITING,
                    lambda it: agent_id in it.declined,
                )
            else:
                return entry
        return None

    def best_agent(self, place: Place, channel: str, declined: frozenset[str]) -> AgentEntry | None:
        """The head of a free-agent heap: the best agent with room on the channel who did not
        decline the item. Stale entries are dropped on the way (an agent who was removed is
        offline, so their entries are stale too)."""
        heap = place.agents
        while heap:
            entry = heap[0]
            agent = entry[3]
            if agent.lanes[channel].version != entry[4] or not agent.free_for(channel):
                heapq.heappop(heap)
            elif agent.id in declined:
                return _head(
                    heap,
                    lambda a, v: a.lanes[channel].version == v and a.free_for(channel),
                    lambda a: a.id in declined,
                )
            else:
                return entry
        return None


def _head(heap: list, live: Callable[[Any, int], bool], skip: Callable[[Any], bool]) -> Any:
    """The first entry that is live and not skipped. Dead entries are dropped for good; skipped
    ones (an agent who declined this item) are set aside and pushed back."""
    aside = []
    found = None
    while heap:
        entry = heap[0]
        if not live(entry[3], entry[4]):
            heapq.heappop(heap)
            continue
        if skip(entry[3]):
            aside.append(heapq.heappop(heap))
            continue
        found = entry
        break
    for entry in aside:
        heapq.heappush(heap, entry)
    return found
