"""The routing engine: events in, decisions out; pure, deterministic, the clock passed in.

Ordering. An item's effective priority is `tier priority + r * waited`. With one aging rate `r`
for everyone that orders exactly as the constant `priority - r * queued_at`, which each heap keeps;
so a key account comes first, and a transactional item that has waited long enough overtakes it.

Matching. When work arrives (or widens to a new target), the eligible free agent with the least
work and the longest time since their last assignment gets the offer. When an agent frees up, the
best waiting item across every queue they may serve, on every channel they have room on, comes
first. Overflow widens: after a target's timeout the next target is added, and the earlier ones
stay eligible (an account manager who frees up still gets their key account).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from routing.policy import Policy
from routing.state import (
    NO_ONE,
    Agent,
    Heaps,
    Item,
    ItemState,
    Place,
    Spec,
    agent_spec,
    group_spec,
)
from routing.timers import Timers
from routing.types import (
    CHANNELS,
    LIVE_CHANNELS,
    Abandoned,
    AgentPaused,
    AgentSpec,
    Decision,
    Offer,
    OfferExpired,
    OfferRevoked,
    Overflowed,
    Presence,
    RoutingError,
    SlaBreached,
    SlaWarning,
    Target,
    WorkItem,
    WrapUpEnded,
)

# How long a transfer to one agent waits for them before the item's own targets apply again.
TRANSFER_TIMEOUT = 60.0
# The share of its service-level threshold a wait reaches when its SLA warning is due.
SLA_WARNING_SHARE = 0.8


class Engine:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.items: dict[str, Item] = {}
        self.agents: dict[str, Agent] = {}
        self.heaps = Heaps()
        self.timers = Timers()
        self.specs: set[Spec] = set()
        self._waiting = 0
        # Targets of rules that name only groups, per channel: the same for every item.
        self._rule_targets: dict[
            tuple[int, str], tuple[list[Place | None], list[float | None]]
        ] = {}
        for rule in policy.rules:
            for target in rule.targets:
                if target.group is not None:
                    self.specs.add(group_spec(target))
        # What every new item reads of its tier, looked up once here.
        self._priority = {name: tier.priority for name, tier in policy.tiers.items()}
        self._sla = {name: tier.sla for name, tier in policy.tiers.items() if tier.sla}

    # -- agents -------------------------------------------------------------------------------

    def upsert_agent(self, spec: AgentSpec, now: float) -> list[Decision]:
        """Add an agent or replace what is known of them (groups, skills, capacity)."""
        agent = self.agents.get(spec.id)
        if agent is None:
            agent = self.agents[spec.id] = Agent(spec)
            for lane in agent.lanes.values():
                lane.last_assigned = now
        agent.use(spec)
        agent.specs = [s for s in self.specs if agent.qualifies(s)] + [agent_spec(spec.id)]
        self._place_agent(agent)
        out: list[Decision] = []
        self._agent_changed(agent)
        self._fill(agent, now, out)
        return out

    def remove_agent(self, agent_id: str, now: float) -> list[Decision]:
        """The agent is gone: work offered to them goes back to the queue."""
        out = self.set_presence(agent_id, Presence.OFFLINE, now)
        del self.agents[agent_id]
        return out

    def set_presence(self, agent_id: str, presence: Presence, now: float) -> list[Decision]:
        """Available agents get work at once; an agent who leaves gives back open offers."""
        agent = self._agent(agent_id)
        if presence is Presence.AVAILABLE and agent.presence is not Presence.AVAILABLE:
            agent.missed = 0
        agent.presence = presence
        out: list[Decision] = []
        if presence is not Presence.AVAILABLE:
            for item_id in sorted(agent.offers):
                agent.offers.discard(item_id)
                item = self.items[item_id]
                out.append(OfferRevoked(item_id, agent_id))
                self._release(agent, item.channel, now, out, refill=False)
                self._wait(item, now, out)
        self._agent_changed(agent)
        self._fill(agent, now, out)
        return out

    # -- work ---------------------------------------------------------------------------------

    def enqueue(
        self, work: WorkItem, now: float, *, step: int = 0, step_since: float | None = None
    ) -> list[Decision]:
        """Queue new work (or, on restart, work that waited before: pass its step and since)."""
        if work.id in self.items:
            raise RoutingError(f"item {work.id} is queued already")
        if work.channel not in CHANNELS:
            raise RoutingError(f"unknown channel {work.channel!r}")
        item = self._new_item(work)
        item.step = min(step, len(item.targets) - 1)
        item.step_since = now if step_since is None else step_since
        self.items[work.id] = item
        out: list[Decision] = []
        self._schedule_sla(item)
        if item.targets[item.step] is None:
            self._skip_empty_targets(item, out)
        self._schedule_overflow(item)
        self._wait(item, now, out)
        return out

    def restore_active(self, work: WorkItem, agent_id: str, now: float) -> list[Decision]:
        """On restart: work an agent had accepted (or was wrapping up) holds their room again."""
        if work.id in self.items:
            raise RoutingError(f"item {work.id} is queued already")
        if work.channel not in CHANNELS:
            raise RoutingError(f"unknown channel {work.channel!r}")
        agent = self._agent(agent_id)
        item = self._new_item(work)
        item.state, item.agent, item.answered = ItemState.ACTIVE, agent_id, True
        self.items[work.id] = item
        agent.lanes[work.channel].load += 1
        self._agent_changed(agent, work.channel)
        return []

    def accept(self, item_id: str, agent_id: str, now: float) -> list[Decision]:
        item = self._offered_to(item_id, agent_id)
        item.state = ItemState.ACTIVE
        item.version += 1
        agent = self.agents[agent_id]
        agent.offers.discard(item_id)
        agent.missed = 0
        if item.channel in LIVE_CHANNELS:
            item.answered = True
        return []

    def reject(self, item_id: str, agent_id: str, now: float) -> list[Decision]:
        """The agent declines: the item goes back at its place, and is not offered to them again."""
        item = self._offered_to(item_id, agent_id)
        out: list[Decision] = []
        self.agents[agent_id].offers.discard(item_id)
        self._release(self.agents[agent_id], item.channel, now, out, refill=False)
        self._requeue(item, now, out)
        self._fill(self.agents[agent_id], now, out)
        return out

    def responded(self, item_id: str, now: float) -> list[Decision]:
        """The first agent reply went out (email and fax: that ends the SLA clock)."""
        self._item(item_id).answered = True
        return []

    def complete(self, item_id: str, now: float) -> list[Decision]:
        """The agent is done; their slot is held for the channel's wrap-up time."""
        item = self._item(item_id)
        if item.state is not ItemState.ACTIVE or item.agent is None:
            raise RoutingError(f"item {item_id} is {item.state}, not active")
        out: list[Decision] = []
        wrap = self.policy.wrap_up.get(item.channel, 0.0)
        if wrap > 0:
            item.state = ItemState.WRAP_UP
            item.version += 1
            self.timers.add(now + wrap, "wrap_up", item_id, item.version, wrap)
            return out
        del self.items[item_id]
        self._release(self._agent(item.agent), item.channel, now, out)
        return out

    def transfer(self, item_id: str, target: Target, now: float) -> list[Decision]:
        """Back to the queue at its place, for `target` first, then its own targets again."""
        item = self._item(item_id)
        if item.state is not ItemState.ACTIVE or item.agent is None:
            raise RoutingError(
                f"item {item_id} is {item.state}, not active; only active work moves"
            )
        out: list[Decision] = []
        agent = self._agent(item.agent)
        self._release(agent, item.channel, now, out, refill=False)
        self._retarget(item, target, now, out)
        self._fill(agent, now, out)
        return out

    def boost(self, item_id: str, points: float) -> list[Decision]:
        """Waiting work jumps ahead by `points` of priority (an SLA escalation step); the
        caller keeps the total in the work's `_priority_boost` attribute, so a rebuild keeps
        it. Refused for work that is not waiting."""
        item = self._item(item_id)
        if item.state is not ItemState.WAITING:
            raise RoutingError(f"item {item_id} is not waiting")
        item.key += points
        item.version += 1  # its old heap entries lapse; new ones carry the new key
        for place in item.places_now():
            self.heaps.push_item(place, item)
        return []

    def widen(self, item_id: str, group: str, now: float) -> list[Decision]:
        """Waiting work may also be taken by `group` from now on, whatever its step (an SLA
        escalation's overflow); it keeps its place. The caller keeps the groups in the work's
        `_overflow_groups` attribute, so a rebuild keeps them. Refused for work not waiting."""
        item = self._item(item_id)
        if item.state is not ItemState.WAITING:
            raise RoutingError(f"item {item_id} is not waiting")
        place = self._group_place(group, item.channel)
        out: list[Decision] = []
        if place in item.places_now():
            return out
        item.extra = (*item.extra, place)
        self.heaps.push_item(place, item)
        self._match(item, (place,), now, out)
        return out

    def _group_place(self, group: str, channel: str) -> Place:
        spec = group_spec(Target(group=group))
        self._add_spec(spec)
        return self._place(spec, channel)

    def move(self, item_id: str, target: Target, now: float) -> list[Decision]:
        """A supervisor sends waiting work to another group or agent: it keeps its place (its
        time in the queue) and waits for `target` first, as transferred work does."""
        item = self._item(item_id)
        if item.state is not ItemState.WAITING:
            held = f" with agent {item.agent}" if item.agent else ""
            raise RoutingError(f"item {item_id} is {item.state}{held}; only waiting work moves")
        out: list[Decision] = []
        self._waiting -= 1  # `_wait` counts it again
        self._retarget(item, target, now, out)
        return out

    def _retarget(self, item: Item, target: Target, now: float, out: list[Decision]) -> None:
        """`target` first (a group for good; an agent, then the item's own targets), from now."""
        if target.group is not None:
            spec = group_spec(target)
            self._add_spec(spec)
            specs: list[Spec | None] = [spec]
            timeouts: list[float | None] = [None]
        else:
            assert target.agent is not None
            specs = [agent_spec(target.agent)]  # a transfer names the agent itself
            timeouts = [target.timeout or TRANSFER_TIMEOUT]
            rule = self.policy.rule_for(item.spec)
            specs += [self._resolve(t, item.spec) for t in rule.targets]
            timeouts += [t.timeout for t in rule.targets]
        item.targets = self._places(specs, item.channel)
        item.timeouts, item.step, item.step_since = timeouts, 0, now
        item.declined = NO_ONE
        self._skip_empty_targets(item, out)
        self._schedule_overflow(item)
        self._wait(item, now, out)

    def requeue(self, item_id: str, now: float) -> list[Decision]:
        """Active work that could not reach its agent (a call not put through) goes back to
        its place in the queue, for its own targets, and is not offered to that agent again."""
        item = self._item(item_id)
        if item.state is not ItemState.ACTIVE or item.agent is None:
            raise RoutingError(f"item {item_id} is {item.state}, not active")
        out: list[Decision] = []
        agent = self._agent(item.agent)
        item.declined = item.declined | {agent.id}
        self._release(agent, item.channel, now, out, refill=False)
        self._wait(item, now, out)
        self._fill(agent, now, out)
        return out

    def abandon(self, item_id: str, now: float) -> list[Decision]:
        """The customer left before an agent accepted."""
        item = self._item(item_id)
        if item.state not in (ItemState.WAITING, ItemState.OFFERED):
            raise RoutingError(f"item {item_id} is {item.state}; only waiting work is abandoned")
        out: list[Decision] = [Abandoned(item_id, now - item.queued_at)]
        del self.items[item_id]
        if item.state is ItemState.WAITING:
            self._waiting -= 1
        item.version += 1
        if item.state is ItemState.OFFERED and item.agent in self.agents:
            self.agents[item.agent].offers.discard(item_id)
            self._release(self.agents[item.agent], item.channel, now, out)
        return out

    def tick(self, now: float) -> list[Decision]:
        """Everything due by `now`: offer timeouts, overflows, SLA warnings, wrap-up ends, in the
        order they fell due. Work offered here counts its offer time from `now`: a tick that
        runs late (a busy or restarted service) never offers what has expired already."""
        out: list[Decision] = []
        while (timer := self.timers.pop_due(now)) is not None:
            at, _, kind, item_id, version = timer
            item = self.items.get(item_id)
            if item is None:
                continue
            if kind == "offer" and item.version == version and item.state is ItemState.OFFERED:
                self._offer_expired(item, now, out)
            elif kind == "overflow" and self._overflow_due(item, at, version):
                self._overflow(item, at, now, out)
            elif kind in ("sla_warning", "sla_breach") and not item.answered:
                sla = self.policy.sla(item.spec.tier, item.channel)
                assert sla is not None
                if kind == "sla_warning":
                    out.append(SlaWarning(item_id, sla.seconds))
                    breach = self._sla_due(item, sla.seconds)
                    self.timers.add(breach, "sla_breach", item_id, 0, ("breach", sla.seconds))
                else:
                    out.append(SlaBreached(item_id, sla.seconds))
            elif kind == "wrap_up" and item.version == version and item.agent is not None:
                del self.items[item_id]
                out.append(WrapUpEnded(item.agent, item_id))
                if item.agent in self.agents:
                    self._release(self.agents[item.agent], item.channel, now, out)
        return out

    def next_timer(self) -> float | None:
        """When `tick` next has something to do (the service sleeps until then)."""
        return self.timers.next_at()

    def waiting(self) -> int:
        """How many items wait for an offer."""
        return self._waiting

    def position(self, item_id: str) -> int | None:
        """Where a waiting item stands (1: next) among the work waiting where it waits; None
        when it is not waiting. Counts the entries of its places, so it costs their length:
        for announcing to a caller, not for routing."""
        item = self.items.get(item_id)
        if item is None or item.state is not ItemState.WAITING:
            return None
        me = (-item.key, item.queued_at)
        ahead: set[str] = set()
        for place in item.places_now():
            for entry in place.items:
                other = entry[3]
                if (
                    other is not item
                    and other.version == entry[4]
                    and other.state is ItemState.WAITING
                    and (entry[0], entry[1]) < me
                ):
                    ahead.add(other.id)
        return len(ahead) + 1

    def state_of(self, item_id: str) -> tuple[str, str | None] | None:
        item = self.items.get(item_id)
        return None if item is None else (item.state.value, item.agent)

    # -- internals ----------------------------------------------------------------------------

    def _new_item(self, work: WorkItem) -> Item:
        """The item for new work: its constant heap key and its rule's targets."""
        rule = self.policy.rule_for(work)
        targets = self._rule_targets.get((id(rule), work.channel))
        if targets is None:
            specs = [self._resolve(t, work) for t in rule.targets]
            targets = (self._places(specs, work.channel), [t.timeout for t in rule.targets])
            if all(t.group is not None for t in rule.targets):
                # Items share these lists, which are replaced, never changed in place.
                self._rule_targets[id(rule), work.channel] = targets
        previous = work.attributes.get("previous_agent")
        if previous and self.policy.previous_agent_seconds:
            # A follow-up waits first for the agent who handled what it follows.
            targets = (
                [self._place(agent_spec(str(previous)), work.channel), *targets[0]],
                [self.policy.previous_agent_seconds, *targets[1]],
            )
        priority = self._priority.get(work.tier, 0.0) + _boost(work)
        key = priority - self.policy.aging_per_second * work.queued_at
        made = Item(work, key, targets[0], targets[1], work.channel, work.id, work.queued_at)
        added = work.attributes.get("_overflow_groups") or ()
        if isinstance(added, list | tuple):
            made.extra = tuple(
                self._group_place(g, work.channel) for g in added if isinstance(g, str) and g
            )
        return made

    def _places(self, specs: list[Spec | None], channel: str) -> list[Place | None]:
        return [None if spec is None else self._place(spec, channel) for spec in specs]

    def _place(self, spec: Spec, channel: str) -> Place:
        """The place for work on `spec`. One agent's own place is made only when work first
        names them there, and they serve it from then on (most agents are never named, and
        matching skips the places that do not exist)."""
        place = self.heaps.find(spec, channel)
        if place is None:
            place = self.heaps.place(spec, channel)
            agent = self.agents.get(spec[1]) if spec[0] == "agent" else None
            if agent is not None:
                agent.lanes[channel].places.append(place)
                self._agent_changed(agent, channel)
        return place

    def _resolve(self, target: Target, work: WorkItem) -> Spec | None:
        """A policy's agent target names an attribute of the work (`account_manager`)."""
        if target.group is not None:
            return group_spec(target)
        assert target.agent is not None
        named: Any = work.attributes.get(target.agent)
        return agent_spec(str(named)) if named not in (None, "") else None

    def _add_spec(self, spec: Spec) -> None:
        if spec in self.specs:
            return
        self.specs.add(spec)
        for agent in self.agents.values():
            if agent.qualifies(spec):
                agent.specs.append(spec)
                self._place_agent(agent)
                self._agent_changed(agent)

    def _place_agent(self, agent: Agent) -> None:
        """The places the agent serves: those of their groups, and their own where it exists."""
        heaps = self.heaps
        for channel, lane in agent.lanes.items():
            lane.places = []
            for spec in agent.specs:
                place = (
                    heaps.place(spec, channel) if spec[0] == "group" else heaps.find(spec, channel)
                )
                if place is not None:
                    lane.places.append(place)

    def _agent_changed(self, agent: Agent, channel: str | None = None) -> None:
        """New version and an entry in each free-agent heap where they have room now: for one
        channel when only its work changed, for all of them otherwise."""
        for ch in agent.served if channel is None else (channel,):
            agent.lanes[ch].version += 1
            if agent.free_for(ch):
                self.heaps.file_agent(agent, ch)

    def _wait(self, item: Item, now: float, out: list[Decision]) -> None:
        """New, returned or transferred work waits (it was not waiting before)."""
        self._waiting += 1
        item.state = ItemState.WAITING
        item.agent = None
        item.version += 1
        eligible = item.places_now()
        for place in eligible:
            self.heaps.push_item(place, item)
        self._match(item, eligible, now, out)

    def _requeue(self, item: Item, now: float, out: list[Decision]) -> None:
        if item.agent is not None:
            item.declined = item.declined | {item.agent}
        self._wait(item, now, out)

    def _match(
        self, item: Item, places: Iterable[Place | None], now: float, out: list[Decision]
    ) -> None:
        """Offer `item` to the best free agent in `places` (where it has just begun to wait),
        if there is one."""
        best = None
        for place in places:
            if place is None or not place.agents:
                continue
            entry = self.heaps.best_agent(place, item.channel, item.declined)
            if entry is not None and (best is None or entry < best):
                best = entry
        if best is not None:
            agent = best[3]
            self._offer(item, agent, now, out)
            self._agent_changed(agent, item.channel)

    def _fill(
        self,
        agent: Agent,
        now: float,
        out: list[Decision],
        channels: tuple[str, ...] | None = None,
        refile: bool = True,
    ) -> None:
        """Offer the agent the best waiting work they may take, while they have room; only on
        `channels` when only those gained room. `refile=False`: the caller re-files the agent
        on those channels itself (default: every channel they serve)."""
        if channels is None:
            channels = agent.served
        offered: list[str] = []
        best_item, lanes = self.heaps.best_item, agent.lanes
        while True:
            best = None
            for channel in channels:
                if not agent.free_for(channel):
                    continue
                for place in lanes[channel].places:
                    if not place.items:  # most of an agent's places hold no work
                        continue
                    entry = best_item(place, agent.id)
                    if entry is not None and (best is None or entry < best):
                        best = entry
            if best is None:
                break
            item = best[3]
            self._offer(item, agent, now, out)
            if item.channel not in offered:
                offered.append(item.channel)
        if refile:
            for channel in offered:
                self._agent_changed(agent, channel)

    def _offer(self, item: Item, agent: Agent, now: float, out: list[Decision]) -> None:
        """Reserve the agent's room for the item; the caller re-files the agent afterwards.

        An offered call shuts the other channels too, but their heap entries then fail `free_for`
        when they come up, so only the offer's channel needs re-filing."""
        self._waiting -= 1
        item.state = ItemState.OFFERED
        item.agent = agent.id
        item.version += 1
        lane = agent.lanes[item.channel]
        lane.load += 1
        lane.last_assigned = now
        agent.offers.add(item.id)
        timeout = self.policy.offer_timeout[item.channel]
        expires = item.offer_expires = now + timeout
        self.timers.add(expires, "offer", item.id, item.version, timeout)
        out.append(Offer(item.id, agent.id, expires))

    def _offer_expired(self, item: Item, now: float, out: list[Decision]) -> None:
        assert item.agent is not None
        agent = self.agents.get(item.agent)
        out.append(OfferExpired(item.id, item.agent))
        if agent is not None:
            agent.offers.discard(item.id)
            agent.missed += 1
            if agent.missed >= self.policy.missed_before_away:
                agent.presence = Presence.AWAY
                out.append(AgentPaused(agent.id, agent.missed))
            self._release(agent, item.channel, now, out, refill=False)
        self._requeue(item, now, out)
        if agent is not None:
            self._fill(agent, now, out)

    def _release(
        self, agent: Agent, channel: str, now: float, out: list[Decision], refill: bool = True
    ) -> None:
        """An item leaves the agent (callers drop it from `agent.offers` where it was one)."""
        lane = agent.lanes[channel]
        lane.load -= 1
        # The end of a call may open the other channels again.
        reopens = channel == "voice" and agent.voice_blocks_other and not lane.load
        if refill:
            self._fill(agent, now, out, agent.served if reopens else (channel,), refile=False)
        self._agent_changed(agent, None if reopens else channel)

    def _overflow(self, item: Item, at: float, now: float, out: list[Decision]) -> None:
        """The next target is added from `at`, when it was due; an offer it brings counts from
        `now`, so that the agent has the whole offer time even when `tick` runs late."""
        item.step += 1
        item.step_since = at
        out.append(Overflowed(item.id, item.step, _describe(item.targets[item.step])))
        self._skip_empty_targets(item, out)
        place = item.targets[item.step]
        self._schedule_overflow(item)
        if item.state is ItemState.WAITING and place is not None:
            self.heaps.push_item(place, item)
            self._match(item, (place,), now, out)

    def _skip_empty_targets(self, item: Item, out: list[Decision]) -> None:
        """An agent target that names nobody (no account manager) is passed at once."""
        while item.targets[item.step] is None and item.step + 1 < len(item.targets):
            item.step += 1
            out.append(Overflowed(item.id, item.step, _describe(item.targets[item.step])))

    def _overflow_due(self, item: Item, at: float, step: int) -> bool:
        """Whether an overflow timer is the item's current one: set for this step, at the time
        this step's wait ends (a transfer or move restarts the steps, voiding older timers)."""
        if item.step != step or item.step + 1 >= len(item.targets):
            return False
        timeout = item.timeouts[item.step]
        return timeout is not None and at == item.step_since + timeout

    def _schedule_overflow(self, item: Item) -> None:
        timeout = item.timeouts[item.step]
        if timeout is not None and item.step + 1 < len(item.targets):
            at = item.step_since + timeout
            self.timers.add(at, "overflow", item.id, item.step, timeout)

    def _schedule_sla(self, item: Item) -> None:
        slas = self._sla.get(item.spec.tier)
        sla = slas.get(item.channel) if slas else None
        if sla is None:
            return
        # The warning's timer schedules the breach when it fires: one timer per item at a time.
        at = self._sla_due(item, SLA_WARNING_SHARE * sla.seconds)
        self.timers.add(at, "sla_warning", item.id, 0, ("warning", sla.seconds))

    def _sla_due(self, item: Item, seconds: float) -> float:
        """When `seconds` of the item's clock have run: wall time for live channels; for email
        and fax, business time in the hours of the group it is routed to (it pauses outside)."""
        hours = self.policy.business_hours(item.spec)
        if hours is None:
            return item.queued_at + seconds
        start = datetime.fromtimestamp(item.queued_at, UTC)
        return hours.add(start, seconds).timestamp()

    def _item(self, item_id: str) -> Item:
        item = self.items.get(item_id)
        if item is None:
            raise RoutingError(f"no item {item_id} in the queue")
        return item

    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise RoutingError(f"no agent {agent_id}")
        return agent

    def _offered_to(self, item_id: str, agent_id: str) -> Item:
        item = self._item(item_id)
        if item.state is not ItemState.OFFERED or item.agent != agent_id:
            raise RoutingError(f"item {item_id} is not offered to agent {agent_id}")
        return item


def _boost(work: WorkItem) -> float:
    """The priority escalation has added to the work (see `Engine.boost`)."""
    try:
        return float(work.attributes.get("_priority_boost") or 0)
    except (TypeError, ValueError):
        return 0.0


def _describe(place: Place | None) -> str:
    if place is None:
        return "nobody"
    kind, name, level, skills = place.spec
    if kind == "agent":
        return f"agent {name}"
    return Target(group=name, min_level=level, skills=skills).describe()
