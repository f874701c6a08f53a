"""Random event sequences against the engine; after every step the invariants hold.

- an agent's load on a channel is exactly the work offered to, active with or wrapping up with
  them there, and never above their capacity (so no item is with two agents);
- work-conserving: no waiting item has an eligible agent with room who did not decline it (so
  once an eligible agent exists, waiting work is offered at once: nobody starves);
- every decision is about work and agents the engine knows.
"""

from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from routing.engine import Engine
from routing.policy import parse_policy
from routing.state import ItemState
from routing.types import Offer, Presence, Target, WorkItem

from .conftest import POLICY, agent

# Small capacities, so that work often waits and agents often free up with work waiting.
AGENTS = [
    agent("am", "key", level=3, chat=1, email=1, fax=1),
    agent("k1", "key", "senior", level=2, chat=2, email=1, fax=1),
    agent("s1", "senior", "general", level=1, skills=("lang:zh",), chat=1, email=1, fax=1),
    agent("g1", "general", chat=1, email=2, fax=1),
]
TIERS = st.sampled_from(["key_account", "relationship", "transactional"])
CHANNELS = st.sampled_from(["voice", "chat", "email", "fax"])


class EngineMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.engine = Engine(parse_policy(POLICY))
        self.now = 0.0
        self.count = 0
        for spec in AGENTS:
            self.engine.upsert_agent(spec, self.now)

    def items_in(self, *states: ItemState) -> list[str]:
        return sorted(i for i, item in self.engine.items.items() if item.state in states)

    @rule(tier=TIERS, channel=CHANNELS, zh=st.booleans(), has_am=st.booleans())
    def enqueue(self, tier: str, channel: str, zh: bool, has_am: bool) -> None:
        self.count += 1
        attributes = {"language": "zh" if zh else "en"}
        if has_am:
            attributes["account_manager"] = "am"
        self.engine.enqueue(
            WorkItem(str(self.count), channel, tier, self.now, attributes), self.now
        )

    @rule(who=st.sampled_from([a.id for a in AGENTS]), presence=st.sampled_from(list(Presence)))
    def presence(self, who: str, presence: Presence) -> None:
        self.engine.set_presence(who, presence, self.now)

    @precondition(lambda self: self.items_in(ItemState.OFFERED))
    @rule(data=st.data(), take=st.booleans())
    def answer_offer(self, data: st.DataObject, take: bool) -> None:
        item_id = data.draw(st.sampled_from(self.items_in(ItemState.OFFERED)))
        agent_id = self.engine.items[item_id].agent
        if take:
            self.engine.accept(item_id, agent_id, self.now)
        else:
            self.engine.reject(item_id, agent_id, self.now)

    @precondition(lambda self: self.items_in(ItemState.ACTIVE))
    @rule(data=st.data(), how=st.sampled_from(["complete", "to_group", "to_agent", "reply"]))
    def finish(self, data: st.DataObject, how: str) -> None:
        item_id = data.draw(st.sampled_from(self.items_in(ItemState.ACTIVE)))
        if how == "complete":
            self.engine.complete(item_id, self.now)
        elif how == "to_group":
            self.engine.transfer(item_id, Target(group="senior"), self.now)
        elif how == "to_agent":
            self.engine.transfer(item_id, Target(agent="k1"), self.now)
        else:
            self.engine.responded(item_id, self.now)

    @precondition(lambda self: self.items_in(ItemState.WAITING, ItemState.OFFERED))
    @rule(data=st.data())
    def abandon(self, data: st.DataObject) -> None:
        waiting = self.items_in(ItemState.WAITING, ItemState.OFFERED)
        self.engine.abandon(data.draw(st.sampled_from(waiting)), self.now)

    @rule(seconds=st.floats(min_value=0.5, max_value=90))
    def wait(self, seconds: float) -> None:
        self.now += seconds
        for decision in self.engine.tick(self.now):
            if isinstance(decision, Offer):
                assert decision.item_id in self.engine.items
                assert decision.agent_id in self.engine.agents

    @invariant()
    def loads_match_assignments_within_capacity(self) -> None:
        if not hasattr(self, "engine"):
            return
        held: Counter[tuple[str, str]] = Counter()
        offered: dict[str, set[str]] = {a: set() for a in self.engine.agents}
        for item in self.engine.items.values():
            if item.state is ItemState.WAITING:
                assert item.agent is None
            else:
                held[(item.agent, item.channel)] += 1
            if item.state is ItemState.OFFERED:
                offered[item.agent].add(item.spec.id)
        for agent_id, state in self.engine.agents.items():
            assert state.offers == offered[agent_id]
        for agent_id, state in self.engine.agents.items():
            for channel, lane in state.lanes.items():
                assert lane.load == held[(agent_id, channel)], (agent_id, channel)
                assert lane.load <= state.spec.capacity.get(channel, 0)

    @invariant()
    def waiting_count_is_the_number_of_waiting_items(self) -> None:
        if hasattr(self, "engine"):
            assert self.engine.waiting() == len(self.items_in(ItemState.WAITING))

    @invariant()
    def no_eligible_agent_idles_while_work_waits(self) -> None:
        if not hasattr(self, "engine"):
            return
        for item in self.engine.items.values():
            if item.state is not ItemState.WAITING:
                continue
            for other in self.engine.agents.values():
                if other.id in item.declined or not other.free_for(item.channel):
                    continue
                eligible = [s for s in item.eligible() if other.qualifies(s)]
                assert not eligible, (item.spec.id, other.id, eligible)


EngineMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineProperties = EngineMachine.TestCase
