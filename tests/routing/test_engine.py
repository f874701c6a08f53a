"""The routing engine with an explicit clock: ordering, matching, offers, overflow, SLA timers."""

import pytest

from routing.engine import Engine
from routing.types import (
    Abandoned,
    AgentPaused,
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

from .conftest import agent

AVAILABLE = Presence.AVAILABLE


def offers(decisions) -> list[tuple[str, str]]:
    return [(d.item_id, d.agent_id) for d in decisions if isinstance(d, Offer)]


def item(
    item_id: str, tier: str = "transactional", channel: str = "voice", at: float = 0.0, **attributes
) -> WorkItem:
    return WorkItem(item_id, channel, tier, at, attributes)


def test_higher_tier_first_at_equal_wait(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general", "key"), 0)
    engine.enqueue(item("t"), 0)
    engine.enqueue(item("k", "key_account"), 0)
    engine.enqueue(item("r", "relationship"), 0)
    assert offers(engine.set_presence("a", AVAILABLE, 1)) == [("k", "a")]


def test_aging_lets_long_waiting_work_overtake_a_higher_tier(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general", "key"), 0)
    engine.enqueue(item("t", at=0), 0)  # key 0 - 0 = 0
    engine.enqueue(item("k", "key_account", at=150), 150)  # key 100 - 150 = -50
    assert offers(engine.set_presence("a", AVAILABLE, 151)) == [("t", "a")]


def test_oldest_first_within_a_tier(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    for n, at in enumerate([5.0, 3.0, 4.0]):
        engine.enqueue(item(f"i{n}", at=at), at)
    assert offers(engine.set_presence("a", AVAILABLE, 6)) == [("i1", "a")]


def test_work_goes_to_the_least_busy_longest_waiting_agent(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.upsert_agent(agent("b", "general"), 0)
    engine.set_presence("a", AVAILABLE, 1)
    engine.set_presence("b", AVAILABLE, 1)
    first = offers(engine.enqueue(item("1", channel="chat"), 2))
    second = offers(engine.enqueue(item("2", channel="chat"), 3))
    assert {first[0][1], second[0][1]} == {"a", "b"}  # one each, not both to one agent


def test_key_account_reaches_account_manager_then_overflows_and_widens(engine: Engine) -> None:
    engine.upsert_agent(agent("am", "key"), 0)
    engine.upsert_agent(agent("team", "key"), 0)
    engine.set_presence("team", AVAILABLE, 0)
    out = engine.enqueue(item("k", "key_account", account_manager="am"), 0)
    assert offers(out) == []  # the account manager is offline; the team must wait 30 s
    assert not any(isinstance(d, (Offer, Overflowed)) for d in engine.tick(29.9))
    out = engine.tick(30)
    assert Overflowed("k", 1, "group key") in out and offers(out) == [("k", "team")]


def test_account_manager_free_first_gets_their_customer(engine: Engine) -> None:
    engine.upsert_agent(agent("am", "key"), 0)
    engine.upsert_agent(agent("team", "key"), 0)
    engine.set_presence("am", AVAILABLE, 0)
    engine.set_presence("team", AVAILABLE, 0)
    assert offers(engine.enqueue(item("k", "key_account", account_manager="am"), 1)) == [
        ("k", "am")
    ]


def test_no_account_manager_skips_straight_to_the_team(engine: Engine) -> None:
    engine.upsert_agent(agent("team", "key"), 0)
    engine.set_presence("team", AVAILABLE, 0)
    out = engine.enqueue(item("k", "key_account"), 1)
    assert Overflowed("k", 1, "group key") in out and offers(out) == [("k", "team")]


def test_a_follow_up_waits_for_its_previous_agent_then_takes_its_rule(policy) -> None:
    from dataclasses import replace

    engine = Engine(replace(policy, previous_agent_seconds=40))
    engine.upsert_agent(agent("before", "general"), 0)
    engine.upsert_agent(agent("other", "general"), 0)
    engine.set_presence("other", AVAILABLE, 0)
    out = engine.enqueue(item("f", channel="email", previous_agent="before"), 0)
    assert offers(out) == []  # the agent who handled the thread is offline: wait for them
    assert offers(engine.tick(39.9)) == []
    assert offers(engine.tick(40)) == [("f", "other")]
    engine.set_presence("before", AVAILABLE, 41)
    out = engine.enqueue(item("g", channel="email", previous_agent="before"), 42)
    assert offers(out) == [("g", "before")]


def test_without_a_wait_for_the_previous_agent_a_follow_up_routes_as_any(engine) -> None:
    engine.upsert_agent(agent("other", "general"), 0)
    engine.set_presence("other", AVAILABLE, 0)
    out = engine.enqueue(item("f", channel="email", previous_agent="before"), 0)
    assert offers(out) == [("f", "other")]


def test_min_level_and_skills_narrow_until_overflow(engine: Engine) -> None:
    engine.upsert_agent(agent("junior", "senior", "general", level=1), 0)
    engine.set_presence("junior", AVAILABLE, 0)
    assert offers(engine.enqueue(item("r", "relationship"), 0)) == []
    assert offers(engine.tick(60)) == [("r", "junior")]  # overflowed to general
    engine.upsert_agent(agent("wei", "general", skills=("lang:zh",)), 0)
    engine.upsert_agent(agent("sam", "general"), 0)
    engine.set_presence("sam", AVAILABLE, 61)
    engine.set_presence("wei", AVAILABLE, 62)  # sam idles longer, but cannot take it
    assert offers(engine.enqueue(item("z", channel="chat", at=63, language="zh"), 63)) == [
        ("z", "wei")
    ]


def test_capacity_per_channel_and_voice_blocks_other_work(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general", chat=2), 0)
    for n in range(3):
        engine.enqueue(item(f"c{n}", channel="chat", at=n), n)
    engine.enqueue(item("v", channel="voice", at=0.5), 0.5)
    out = engine.set_presence("a", AVAILABLE, 10)
    assert offers(out) == [("c0", "a"), ("v", "a")]  # a call offered: no more chats
    engine.accept("v", "a", 11)
    engine.accept("c0", "a", 11)
    assert offers(engine.complete("c0", 12)) == []  # on a call: no new chat meanwhile
    engine.complete("v", 13)  # voice wrap-up holds the line for 5 s
    assert offers(engine.tick(17)) == []
    out = engine.tick(18)
    assert WrapUpEnded("a", "v") in out and offers(out) == [("c1", "a"), ("c2", "a")]


def test_a_missed_offer_returns_to_its_place_and_two_misses_pause_the_agent(
    engine: Engine,
) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.upsert_agent(agent("b", "general"), 0)
    engine.enqueue(item("1", at=0), 0)
    engine.enqueue(item("2", at=1), 1)
    assert offers(engine.set_presence("a", AVAILABLE, 2)) == [("1", "a")]
    out = engine.tick(12)
    assert OfferExpired("1", "a") in out
    assert offers(out) == [("2", "a")]  # "1" is not offered to "a" again
    out = engine.tick(22)
    assert AgentPaused("a", 2) in out and offers(out) == []
    # "1" kept its place: the next agent gets it before "2".
    assert offers(engine.set_presence("b", AVAILABLE, 23)) == [("1", "b")]


def test_an_agent_who_leaves_gives_back_open_offers(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.upsert_agent(agent("b", "general"), 0)
    engine.set_presence("a", AVAILABLE, 0)
    assert offers(engine.enqueue(item("1"), 1)) == [("1", "a")]
    engine.set_presence("b", AVAILABLE, 2)
    out = engine.set_presence("a", Presence.AWAY, 3)
    assert OfferRevoked("1", "a") in out and offers(out) == [("1", "b")]
    assert engine.agents["a"].lanes["voice"].load == 0
    assert engine.agents["b"].lanes["voice"].load == 1


def test_reject_sends_the_work_to_someone_else(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.upsert_agent(agent("b", "general"), 0)
    engine.set_presence("a", AVAILABLE, 0)
    engine.set_presence("b", AVAILABLE, 1)
    (first,) = offers(engine.enqueue(item("1", at=2), 2))
    other = "b" if first[1] == "a" else "a"
    assert offers(engine.reject("1", first[1], 3)) == [("1", other)]
    with pytest.raises(RoutingError, match="not offered to agent"):
        engine.accept("1", first[1], 4)


def test_a_late_tick_gives_offers_their_whole_time(engine: Engine) -> None:
    """Timers fall due in order, but what they offer counts from the tick's own time."""
    engine.upsert_agent(agent("junior", "general", level=1), 0)
    engine.upsert_agent(agent("other", "general", level=1), 0)
    engine.set_presence("junior", AVAILABLE, 0)
    engine.enqueue(item("r", "relationship"), 0)  # senior level 2 first; general from 60 s
    out = engine.tick(500)
    assert Overflowed("r", 1, "group general") in out
    assert [(d.item_id, d.agent_id, d.expires_at) for d in out if isinstance(d, Offer)] == [
        ("r", "junior", 510)
    ]
    assert not any(isinstance(d, (OfferExpired, AgentPaused)) for d in out)
    out = engine.tick(510)  # missed now; the next agent gets it with their own full time
    engine.set_presence("other", AVAILABLE, 511)
    assert OfferExpired("r", "junior") in out
    assert engine.state_of("r") == ("offered", "other")


def test_transfer_to_a_group_keeps_the_place(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.upsert_agent(agent("b", "general"), 0)
    engine.upsert_agent(agent("s", "senior", level=3), 0)
    engine.set_presence("a", AVAILABLE, 0)
    engine.set_presence("b", AVAILABLE, 0)
    for name, at in (("early", 0), ("late", 5)):
        (offer,) = offers(engine.enqueue(item(name, at=at), at))
        engine.accept(name, offer[1], at + 1)
    engine.transfer("late", Target(group="senior"), 10)
    engine.transfer("early", Target(group="senior"), 11)
    assert offers(engine.set_presence("s", AVAILABLE, 12)) == [("early", "s")]


def test_transfer_to_an_agent_falls_back_to_the_usual_targets(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.set_presence("a", AVAILABLE, 0)
    engine.enqueue(item("1", at=0), 0)
    engine.accept("1", "a", 1)
    assert offers(engine.transfer("1", Target(agent="busy-expert"), 2)) == []
    out = engine.tick(62)  # the expert did not take it within 60 s
    assert offers(out) == [("1", "a")]


def test_waiting_work_moved_keeps_its_place_and_waits_for_its_new_target(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.upsert_agent(agent("s", "senior", level=3), 0)
    engine.enqueue(item("older", at=0), 0)
    engine.enqueue(item("newer", at=5), 5)
    engine.move("newer", Target(group="senior"), 6)
    engine.move("older", Target(group="senior"), 7)
    assert offers(engine.set_presence("s", AVAILABLE, 8)) == [("older", "s")]
    with pytest.raises(RoutingError, match="only waiting work moves"):
        engine.move("older", Target(group="general"), 9)


def test_a_second_move_starts_the_wait_for_its_agent_over(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.set_presence("a", AVAILABLE, 0)
    engine.set_presence("a", Presence.AWAY, 0)
    engine.enqueue(item("1", at=0), 0)
    engine.move("1", Target(agent="x"), 0)  # waits 60 s for x, then for general again
    engine.move("1", Target(agent="y"), 30)  # now 60 s for y, from 30
    engine.set_presence("a", AVAILABLE, 31)
    assert not [d for d in engine.tick(61) if isinstance(d, Overflowed)]  # x's timer is void
    assert [d.step for d in engine.tick(91) if isinstance(d, Overflowed)] == [1]


def test_sla_warning_at_80_percent_and_breach_unless_answered(engine: Engine) -> None:
    engine.enqueue(item("k", "key_account", at=0), 0)  # voice: 20 s target
    assert engine.tick(15.9) == []
    assert engine.tick(16) == [SlaWarning("k", 20.0)]
    assert engine.tick(20) == [SlaBreached("k", 20.0)]
    engine.enqueue(item("m", channel="email", at=0), 0)  # email: first response within 100 s
    engine.upsert_agent(agent("a", "general"), 0)
    engine.set_presence("a", AVAILABLE, 21)
    engine.accept("m", "a", 22)
    warnings = [d for d in engine.tick(80) if isinstance(d, (SlaWarning, SlaBreached))]
    assert warnings == [SlaWarning("m", 100.0)]  # accepted is not answered for email
    engine.responded("m", 85)
    assert not any(isinstance(d, SlaBreached) for d in engine.tick(101))


def test_abandon_while_waiting_or_offered(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.enqueue(item("1", at=0), 0)
    assert engine.abandon("1", 7) == [Abandoned("1", 7.0)]
    engine.enqueue(item("2", at=8), 8)
    engine.enqueue(item("3", at=9), 9)
    engine.set_presence("a", AVAILABLE, 10)
    out = engine.abandon("2", 12)
    assert out[0] == Abandoned("2", 4.0) and offers(out) == [("3", "a")]
    assert engine.state_of("2") is None


def test_restored_work_keeps_its_place_and_step(engine: Engine) -> None:
    engine.upsert_agent(agent("team", "key"), 0)
    engine.upsert_agent(agent("g", "general"), 0)
    engine.set_presence("g", AVAILABLE, 0)
    engine.enqueue(item("new", at=1000), 1000)  # offered to g at once
    out = engine.enqueue(
        item("k", "key_account", at=0, account_manager="am"), 1000, step=2, step_since=900
    )
    assert offers(out) == []  # g is busy on a call
    engine.accept("new", "g", 1001)
    engine.complete("new", 1002)
    assert offers(engine.tick(1007)) == [("k", "g")]


def test_events_about_unknown_or_wrong_state_work_change_nothing(engine: Engine) -> None:
    with pytest.raises(RoutingError):
        engine.accept("nope", "a", 0)
    engine.enqueue(item("1"), 0)
    with pytest.raises(RoutingError, match="queued already"):
        engine.enqueue(item("1"), 0)
    with pytest.raises(RoutingError, match="not active"):
        engine.complete("1", 1)
    assert engine.state_of("1") == ("waiting", None)


def test_restored_active_work_holds_the_agents_room(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general", chat=1), 0)
    engine.restore_active(item("old", channel="chat"), "a", 0)
    engine.set_presence("a", AVAILABLE, 1)
    assert offers(engine.enqueue(item("new", channel="chat", at=2), 2)) == []
    assert offers(engine.complete("old", 3)) == [("new", "a")]
    with pytest.raises(RoutingError, match="queued already"):
        engine.restore_active(item("new", channel="chat"), "a", 4)


def test_position_among_the_work_waiting_where_it_waits(engine: Engine) -> None:
    engine.enqueue(item("t1", at=0), 0)
    engine.enqueue(item("k", "key_account", at=1), 1)  # key accounts wait in their own places
    engine.enqueue(item("r", "relationship", at=2), 2)
    engine.enqueue(item("t2", at=3), 3)
    assert [engine.position(i) for i in ("t1", "t2", "r")] == [1, 2, 1]
    engine.tick(62)  # "k" and "r" overflow to general, where they go ahead on priority
    assert [engine.position(i) for i in ("k", "r", "t1", "t2")] == [1, 2, 3, 4]
    engine.upsert_agent(agent("a", "general"), 63)
    engine.set_presence("a", AVAILABLE, 63)  # takes "k"
    assert engine.position("k") is None
    assert [engine.position(i) for i in ("r", "t1", "t2")] == [1, 2, 3]


def test_active_work_requeued_keeps_its_place_and_skips_its_agent(engine: Engine) -> None:
    engine.upsert_agent(agent("a", "general"), 0)
    engine.upsert_agent(agent("b", "general"), 0)
    engine.enqueue(item("1", at=0), 0)
    engine.enqueue(item("2", at=1), 1)
    engine.set_presence("a", AVAILABLE, 2)
    engine.accept("1", "a", 3)
    assert offers(engine.requeue("1", 4)) == [("2", "a")]  # "a" is free, but not for "1"
    assert engine.position("1") == 1
    assert offers(engine.set_presence("b", AVAILABLE, 5)) == [("1", "b")]


def test_an_email_waiting_over_a_weekend_does_not_breach_its_business_hours_target() -> None:
    """Email and fax clocks run in the business hours of the group they are routed to; a
    voice target, and email for a group without hours, run around the clock."""
    from datetime import UTC, datetime

    from routing.policy import parse_policy
    from tests.routing.conftest import POLICY

    policy = parse_policy(
        POLICY.replace(
            "sla: {email: {seconds: 100}}",
            "sla: {email: {seconds: 7200}, chat: {percent: 80, seconds: 60}}",
        )
        + 'hours:\n  timezone: Europe/Berlin\n  general: {mon-fri: "09:00-17:00"}\n',
        "test.yaml",
    )
    engine = Engine(policy)

    def at(day: int, hour: int, minute: int = 0) -> float:  # December 2026, in Berlin
        return datetime(2026, 12, day, hour - 1, minute, tzinfo=UTC).timestamp()

    friday = at(4, 16)  # one business hour left on Friday
    engine.enqueue(item("mail", channel="email", at=friday), friday)
    engine.enqueue(item("chat", channel="chat", at=friday), friday)
    assert [d.item_id for d in engine.tick(at(4, 17)) if isinstance(d, SlaBreached)] == ["chat"]
    assert engine.tick(at(6, 23)) == []  # the whole weekend: the mail's clock is stopped
    assert engine.tick(at(7, 9, 35)) == []
    assert engine.tick(at(7, 9, 36)) == [SlaWarning("mail", 7200.0)]  # 80% of two hours
    assert engine.tick(at(7, 9, 59)) == []
    assert engine.tick(at(7, 10)) == [SlaBreached("mail", 7200.0)]


def test_a_boost_moves_waiting_work_ahead_and_a_rebuild_keeps_it(engine: Engine) -> None:
    engine.enqueue(item("old", at=0), 0)
    engine.enqueue(item("new", at=50), 50)
    engine.boost("new", 100)  # 100 points: more than the 50 s (50 points) it is behind
    engine.upsert_agent(agent("a", "general"), 60)
    engine.set_presence("a", AVAILABLE, 60)
    assert engine.state_of("new") == ("offered", "a")
    rebuilt = Engine(engine.policy)
    rebuilt.enqueue(item("old", at=0), 0)
    rebuilt.enqueue(item("new", at=50, _priority_boost=100), 50)  # as the queue stores it
    rebuilt.upsert_agent(agent("a", "general"), 60)
    rebuilt.set_presence("a", AVAILABLE, 60)
    assert rebuilt.state_of("new") == ("offered", "a")
    with pytest.raises(RoutingError):
        engine.boost("new", 10)  # offered: no longer waiting


def test_an_overflow_group_takes_waiting_work_too_and_a_rebuild_keeps_it(engine: Engine) -> None:
    engine.upsert_agent(agent("s", "senior"), 0)
    engine.set_presence("s", AVAILABLE, 0)
    engine.enqueue(item("1", at=0), 0)  # transactional: the general group only
    assert engine.state_of("1") == ("waiting", None)
    offered = engine.widen("1", "senior", 10)  # senior may take it too: s at once
    assert [type(d).__name__ for d in offered] == ["Offer"] and engine.state_of("1")[1] == "s"  # type: ignore[index]
    with pytest.raises(RoutingError):
        engine.widen("1", "senior", 11)  # offered now: no longer waiting
    rebuilt = Engine(engine.policy)
    rebuilt.upsert_agent(agent("s", "senior"), 20)
    rebuilt.set_presence("s", AVAILABLE, 20)
    rebuilt.enqueue(item("1", at=0, _overflow_groups=["senior"]), 20)  # as the queue stores it
    assert rebuilt.state_of("1") == ("offered", "s")
