"""The one queue inside the service, on both backends: stored first, then routed and told."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict
from contactcenter.events import EventBus, InteractionQueued, Offered
from contactcenter.interactions.records import InteractionFilter, InteractionRecords
from contactcenter.model import Channel, InteractionStatus, Presence, Tier
from contactcenter.people.agents import AgentDirectory, AgentFields, GroupFields
from contactcenter.queue.core import InteractionQueue
from contactcenter.reports.stats import queue_stats
from contactcenter.store.db import Database
from contactcenter.store.tables import agents as agents_table
from contactcenter.store.tables import interactions as interactions_table
from routing.policy import DEFAULT_POLICY, load_policy, parse_policy


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def setup(db: Database, interaction_records: InteractionRecords) -> AsyncIterator[Any]:
    directory = AgentDirectory(db)
    groups = {}
    for name in ("key-accounts", "senior", "general"):
        groups[name] = (await directory.create_group(GroupFields(name=name)))["id"]
    ids = {}
    for name, group in (("ana", "general"), ("bo", "general"), ("kim", "key-accounts")):
        made = await directory.create_agent(
            AgentFields.model_validate({"name": name, "groups": [{"group_id": groups[group]}]})
        )
        ids[name] = made["id"]
    clock = Clock()
    bus = EventBus()
    queue = InteractionQueue(
        db=db,
        interactions=interaction_records,
        agents=directory,
        policy=load_policy(),
        bus=bus,
        clock=clock,
    )
    await queue.start(run_timers=False)
    yield queue, ids, clock, bus
    await queue.stop()


async def _status(records: InteractionRecords, interaction_id: int) -> tuple[str, int | None]:
    found = await records.get(interaction_id)
    return found["status"], found["agent_id"]


async def test_an_interaction_is_stored_routed_accepted_and_closed(
    setup: Any, records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    queue, ids, _clock, bus = setup
    customer = (await records.resolve("email", "pat@example.com")).customer
    async with bus.subscribe() as events:
        mail = await queue.enqueue(customer, Channel.EMAIL, subject="Invoice")
        assert await _status(interaction_records, mail) == ("queued", None)
        await queue.set_presence(ids["ana"], Presence.AVAILABLE)
        assert await _status(interaction_records, mail) == ("offered", ids["ana"])
        await queue.accept(mail, ids["ana"])
        await queue.complete(mail, ids["ana"])
        seen = [events.queue.get_nowait().type for _ in range(events.queue.qsize())]
    assert await _status(interaction_records, mail) == ("closed", ids["ana"])
    history = [e["type"] for e in (await interaction_records.get(mail))["events"]]
    assert history == ["created", "status.offered", "status.active", "status.closed"]
    assert seen[:3] == ["interaction.queued", "agent.presence", "routing.Offer"]
    assert "interaction.closed" in seen


async def test_rejected_and_missed_offers_go_back_and_pause_the_agent(
    setup: Any, records: CustomerRecords, interaction_records: InteractionRecords, db: Database
) -> None:
    queue, ids, clock, _ = setup
    customer = (await records.resolve("phone", "+12125550142")).customer
    first = await queue.enqueue(customer, Channel.VOICE)
    clock.now += 1
    second = await queue.enqueue(customer, Channel.VOICE)
    await queue.set_presence(ids["ana"], Presence.AVAILABLE)
    assert await _status(interaction_records, first) == ("offered", ids["ana"])
    await queue.reject(first, ids["ana"])  # back at its place; ana gets the next one
    assert await _status(interaction_records, first) == ("queued", None)
    assert await _status(interaction_records, second) == ("offered", ids["ana"])
    await queue.set_presence(ids["ana"], Presence.OFFLINE)
    await queue.set_presence(ids["bo"], Presence.AVAILABLE)
    for _ in range(2):  # bo misses both; the default policy pauses after two in a row
        clock.now += 21
        await queue.tick()
    async with db.connect() as conn:
        presence = (
            await conn.execute(
                select(agents_table.c.presence).where(agents_table.c.id == ids["bo"])
            )
        ).scalar_one()
    assert presence == "away"
    assert await _status(interaction_records, first) == ("queued", None)
    reasons = [e["data"].get("reason") for e in (await interaction_records.get(first))["events"]]
    assert reasons.count("offer_expired") == 1 and "rejected" in reasons


async def test_abandon_and_wrong_state_actions(
    setup: Any, records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    queue, ids, clock, _ = setup
    customer = (await records.resolve("chat_visitor", "v-1")).customer
    chat = await queue.enqueue(customer, Channel.CHAT)
    with pytest.raises(Conflict, match="not offered"):
        await queue.accept(chat, ids["ana"])
    clock.now += 12.5
    assert await queue.abandon(chat) == pytest.approx(12.5)
    assert await _status(interaction_records, chat) == ("abandoned", None)
    with pytest.raises(Conflict):
        await queue.abandon(chat)


async def test_a_restart_keeps_places_reoffers_open_offers_and_restores_active_work(
    setup: Any, db: Database, records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    queue, ids, clock, bus = setup
    key = (await records.resolve("phone", "+16175550143")).customer
    key = await records.update(key.id, {"tier": Tier.KEY_ACCOUNT.value})
    plain = (await records.resolve("phone", "+13125550166")).customer
    await queue.set_presence(ids["ana"], Presence.AVAILABLE)
    active = await queue.enqueue(plain, Channel.VOICE)
    await queue.accept(active, ids["ana"])
    clock.now += 1
    waiting = await queue.enqueue(plain, Channel.VOICE)  # ana is on a call: it waits
    clock.now += 1
    await queue.set_presence(ids["kim"], Presence.AVAILABLE)
    offered = await queue.enqueue(key, Channel.VOICE)  # no account manager: kim's team
    assert await _status(interaction_records, offered) == ("offered", ids["kim"])
    await queue.stop()

    # A new process: the engine comes back from the database alone.
    clock.now += 5
    again = InteractionQueue(
        db=db,
        interactions=interaction_records,
        agents=AgentDirectory(db),
        policy=load_policy(),
        bus=bus,
        clock=clock,
    )
    await again.start(run_timers=False)
    assert await _status(interaction_records, active) == ("active", ids["ana"])
    assert await _status(interaction_records, offered) == ("offered", ids["kim"])
    assert await _status(interaction_records, waiting) == ("queued", None)
    reoffer = [e["data"].get("reason") for e in (await interaction_records.get(offered))["events"]]
    assert "restart" in reoffer
    await again.complete(active, ids["ana"])  # voice wrap-up, then ana takes the waiting call
    clock.now += 31
    await again.tick()
    assert await _status(interaction_records, active) == ("closed", ids["ana"])
    assert await _status(interaction_records, waiting) == ("offered", ids["ana"])
    await again.stop()


async def test_arrivals_at_once_are_stored_together_each_once(
    setup: Any, db: Database, records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    queue, ids, _clock, bus = setup
    await queue.set_presence(ids["ana"], Presence.AVAILABLE)
    customers = [(await records.resolve("email", f"c{n}@example.com")).customer for n in range(8)]
    async with bus.subscribe() as events:
        made = await asyncio.gather(
            *(queue.enqueue(customers[n % 8], Channel.EMAIL, subject=f"m{n}") for n in range(40))
        )
        seen = [events.queue.get_nowait() for _ in range(events.queue.qsize())]
    assert len(set(made)) == 40
    statuses = [await _status(interaction_records, i) for i in made]
    # Email capacity 5 by default: the five oldest are offered to ana, the rest wait in order.
    assert statuses[:5] == [("offered", ids["ana"])] * 5
    assert statuses[5:] == [("queued", None)] * 35
    for interaction_id in made:
        history = [e["type"] for e in (await interaction_records.get(interaction_id))["events"]]
        assert history in (["created"], ["created", "status.offered"])
    assert [e.interaction_id for e in seen if isinstance(e, InteractionQueued)] == made
    assert sorted(e.interaction_id for e in seen if isinstance(e, Offered)) == made[:5]
    assert queue.waiting() == 35


async def test_a_bad_arrival_fails_alone_and_references_are_kept_within_a_batch(
    setup: Any, records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    queue, _ids, _clock, _bus = setup
    customer = (await records.resolve("email", "pat@example.com")).customer
    before = await queue.enqueue(customer, Channel.EMAIL, external_ref="<m1@example.com>")
    ghost = dataclasses.replace(customer, id=customer.id + 1000)
    results = await asyncio.gather(
        queue.enqueue(customer, Channel.EMAIL, external_ref="<m1@example.com>"),
        queue.enqueue(customer, Channel.EMAIL, external_ref="<m2@example.com>"),
        queue.enqueue(ghost, Channel.EMAIL, subject="nobody"),
        queue.enqueue(customer, Channel.EMAIL, external_ref="<m2@example.com>"),
        queue.enqueue(customer, Channel.FAX, external_ref="<m2@example.com>"),
        return_exceptions=True,
    )
    assert results[0] == before
    assert isinstance(results[2], IntegrityError)
    assert results[1] == results[3] and isinstance(results[1], int)
    assert isinstance(results[4], int) and results[4] not in (results[1], before)
    listed = await interaction_records.list(InteractionFilter(customer_id=customer.id))
    assert sorted(i["id"] for i in listed) == sorted({before, results[1], results[4]})
    assert queue.waiting() == 3


async def test_a_caller_that_stops_waiting_still_has_its_interaction_stored(
    setup: Any, records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    queue, _ids, _clock, _bus = setup
    customer = (await records.resolve("email", "pat@example.com")).customer
    task = asyncio.create_task(queue.enqueue(customer, Channel.EMAIL, external_ref="<gone@x>"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await queue.stop()
    stored = await interaction_records.find_by_ref(Channel.EMAIL, "<gone@x>")
    assert stored is not None and queue.routed(stored) is not None


async def test_occupancy_over_the_window_follows_presence_and_handled_work(
    setup: Any, db: Database, records: CustomerRecords
) -> None:
    queue, ids, clock, _bus = setup
    start = clock.now
    await queue.set_presence(ids["ana"], Presence.AVAILABLE)
    customer = (await records.resolve("chat_visitor", "v-9")).customer
    clock.now = start + 100
    chat = await queue.enqueue(customer, Channel.CHAT)
    clock.now = start + 120
    await queue.accept(chat, ids["ana"])
    clock.now = start + 420
    await queue.complete(chat, ids["ana"])  # 10 s of chat wrap-up in the default policy
    clock.now = start + 430
    await queue.tick()
    clock.now = start + 600
    now = datetime.fromtimestamp(clock.now, UTC)
    stats = await queue_stats(db, queue, queue.policy, now, timedelta(minutes=30))
    (ana,) = stats["agents"]["occupancy_by_agent"]
    # Available for the last 600 s, handling from the accept to the end of wrap-up (310 s).
    assert ana == {
        "agent_id": ids["ana"],
        "handling_seconds": 310.0,
        "available_idle_seconds": 290.0,
        "occupancy": round(310 / 600, 4),
    }
    assert stats["agents"]["occupancy"] == round(310 / 600, 4)


async def test_a_chat_the_bot_could_not_answer_enters_the_queue_once(
    setup: Any, records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    queue, ids, clock, bus = setup
    customer = (await records.resolve("chat_visitor", "visitor-123456")).customer
    chat = await interaction_records.open(customer.id, Channel.CHAT, status=InteractionStatus.BOT)
    await queue.set_presence(ids["ana"], Presence.AVAILABLE)
    assert await _status(interaction_records, chat) == ("bot", None)  # with the bot: not routed

    clock.now += 40  # the visitor read the bot's answers, then asked for a person
    async with bus.subscribe() as events:
        await queue.enqueue_started(chat, customer)
        kinds = [(await events.get()).type for _ in range(2)]
    assert kinds == ["interaction.queued", "routing.Offer"]
    assert await _status(interaction_records, chat) == ("offered", ids["ana"])
    async with queue.db.connect() as conn:  # its wait starts when it entered the queue
        queued_at = (
            await conn.execute(
                select(interactions_table.c.queued_at).where(interactions_table.c.id == chat)
            )
        ).scalar_one()
    assert queued_at == datetime.fromtimestamp(clock.now, UTC)
    with pytest.raises(Conflict, match="not with the bot"):
        await queue.enqueue_started(chat, customer)


async def test_a_lapsed_customer_reaches_the_retention_group_also_after_a_restart(
    db: Database, records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    """A rule can match the lifecycle stage: win-back calls go to the agents trained for it."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    text = text.replace("groups: [key-accounts, senior, general]", "groups: [retention, general]")
    rules = text.index("rules:")
    policy = parse_policy(
        text[:rules]
        + "rules:\n"
        + "  - name: lapsed customers reach the retention team\n"
        + "    match: {lifecycle_stage: lapsed}\n"
        + "    targets: [{group: retention}]\n"
        + "  - name: everyone else\n"
        + "    targets: [{group: general}]\n"
    )
    directory = AgentDirectory(db)
    ids = {}
    for name in ("retention", "general"):
        group = (await directory.create_group(GroupFields(name=name)))["id"]
        made = await directory.create_agent(
            AgentFields.model_validate({"name": name, "groups": [{"group_id": group}]})
        )
        ids[name] = made["id"]
    lapsed = (await records.resolve("email", "gone@example.com")).customer
    lapsed = await records.update(lapsed.id, {"lifecycle_stage": "lapsed"})
    loyal = (await records.resolve("email", "here@example.com")).customer
    bus, clock = EventBus(), Clock()

    def queue_of() -> InteractionQueue:
        return InteractionQueue(
            db=db,
            interactions=interaction_records,
            agents=AgentDirectory(db),
            policy=policy,
            bus=bus,
            clock=clock,
        )

    queue = queue_of()
    await queue.start(run_timers=False)
    first = await queue.enqueue(lapsed, Channel.EMAIL, subject="Back again")
    other = await queue.enqueue(loyal, Channel.EMAIL, subject="Hello")
    await queue.stop()
    again = queue_of()  # rebuilt from the database: the stage comes from the customer's row
    await again.start(run_timers=False)
    await again.set_presence(ids["retention"], Presence.AVAILABLE)
    await again.set_presence(ids["general"], Presence.AVAILABLE)
    assert await _status(interaction_records, first) == ("offered", ids["retention"])
    assert await _status(interaction_records, other) == ("offered", ids["general"])
    await again.stop()
