"""The engine's mutable state: work items, agents, and the heaps that order them.

Heaps use lazy deletion: an entry carries the version its item or agent had when it was pushed,
and an entry whose version is no longer current is dropped when it reaches the top. Every push and
pop is O(log n); nothing ever scans a whole queue.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from routing.types import AgentSpec, Presence, Target, WorkItem

# A place where work waits: a group with its level and skills, or one agent.
Spec = tuple[str, str, int, frozenset[str]]
QueueKey = tuple[Spec, str]  # (spec, channel)


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


@dataclass(slots=True)
class Item:
    spec: WorkItem
    key: float  # priority - aging rate * queued_at: larger is served first, and never changes
    specs: list[Spec | None]  # one per target; None where an agent target resolved to nobody
    timeouts: list[float | None]
    step: int = 0  # targets 0..step are eligible (overflow widens, it does not move)
    step_since: float = 0.0
    state: ItemState = ItemState.WAITING
    agent: str | None = None
    declined: set[str] = field(default_factory=set)
    version: int = 0
    answered: bool = False  # live channels: accepted; email and fax: first response sent

    @property
    def channel(self) -> str:
        return self.spec.channel

    def eligible(self) -> Iterator[Spec]:
        for spec in self.specs[: self.step + 1]:
            if spec is not None:
                yield spec

    def entry(self, seq: int) -> tuple[float, float, int, str, int]:
        return (-self.key, self.spec.queued_at, seq, self.spec.id, self.version)


@dataclass(slots=True)
class Agent:
    spec: AgentSpec
    presence: Presence = Presence.OFFLINE
    load: dict[str, int] = field(default_factory=dict)
    last_assigned: float = 0.0
    missed: int = 0
    version: int = 0
    specs: list[Spec] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.spec.id

    def free_for(self, channel: str) -> bool:
        if self.presence is not Presence.AVAILABLE:
            return False
        if self.load.get(channel, 0) >= self.spec.capacity.get(channel, 0):
            return False
        return not (
            self.spec.voice_blocks_other and channel != "voice" and self.load.get("voice", 0)
        )

    def qualifies(self, spec: Spec) -> bool:
        kind, name, level, skills = spec
        if kind == "agent":
            return name == self.id
        return self.spec.groups.get(name, -1) >= level and skills <= self.spec.skills

    def entry(self, seq: int) -> tuple[int, float, int, str, int]:
        return (sum(self.load.values()), self.last_assigned, seq, self.id, self.version)


class Heaps:
    """Per-queue heaps of waiting items and of free agents, with lazy deletion."""

    def __init__(self) -> None:
        self.items: dict[QueueKey, list[tuple[float, float, int, str, int]]] = {}
        self.agents: dict[QueueKey, list[tuple[int, float, int, str, int]]] = {}
        self._seq = 0

    def seq(self) -> int:
        self._seq += 1
        return self._seq

    def push_item(self, key: QueueKey, item: Item) -> None:
        heapq.heappush(self.items.setdefault(key, []), item.entry(self.seq()))

    def push_agent(self, key: QueueKey, agent: Agent) -> None:
        heapq.heappush(self.agents.setdefault(key, []), agent.entry(self.seq()))

    def best_item(
        self, key: QueueKey, live: Callable[[str, int], bool], skip: Callable[[str], bool]
    ) -> tuple[float, float, int, str, int] | None:
        """The head entry whose item is still live there and not skipped (left in the heap)."""
        return _head(self.items.get(key), live, skip)

    def best_agent(
        self, key: QueueKey, live: Callable[[str, int], bool], skip: Callable[[str], bool]
    ) -> tuple[int, float, int, str, int] | None:
        return _head(self.agents.get(key), live, skip)


def _head(heap: list | None, live: Callable[[str, int], bool], skip: Callable[[str], bool]):  # type: ignore[no-untyped-def]
    """The first entry that is live and not skipped. Dead entries are dropped for good; skipped
    ones (an agent who declined this item) are set aside and pushed back."""
    if not heap:
        return None
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
