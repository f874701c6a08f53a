"""Events published on one instance reach the others' consoles, once, in order; listeners that
act on events hear only their own instance's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from contactcenter.cluster.relay import EventRelay
from contactcenter.events import ChatLine, Event, EventBus, InteractionQueued, Origin
from contactcenter.store.db import Database


@pytest.fixture
async def buses(pg: Database) -> AsyncIterator[tuple[EventBus, EventBus]]:
    a, b = EventBus(), EventBus()
    relays = [EventRelay(db=pg, bus=a, instance="a"), EventRelay(db=pg, bus=b, instance="b")]
    for relay in relays:
        await relay.start()
    yield a, b
    for relay in relays:
        await relay.stop()


async def _take(sub: object, n: int) -> list[Event]:
    got = []
    async with asyncio.timeout(5):
        while len(got) < n:
            got.append(await sub.get())  # type: ignore[attr-defined]
    return got


async def test_events_reach_the_other_instance_in_order_and_not_back(
    buses: tuple[EventBus, EventBus],
) -> None:
    a, b = buses
    async with (
        b.subscribe() as everything,
        b.subscribe(Origin.HERE) as acting,
        a.subscribe(Origin.ELSEWHERE) as echo,
    ):
        sent = [
            InteractionQueued(interaction_id=i, customer_id=7, channel="chat") for i in range(50)
        ]
        for event in sent:
            a.publish(event)
        assert await _take(everything, 50) == sent
        b.publish(InteractionQueued(interaction_id=999, customer_id=1, channel="email"))
        (own,) = await _take(acting, 1)
        assert own.about_interaction() == 999  # b's own event; none of a's
        (back,) = await _take(echo, 1)
        assert back.about_interaction() == 999  # a hears b's, never its own back
        assert everything.queue.qsize() == 1 and acting.queue.empty() and echo.queue.empty()


async def test_an_event_larger_than_a_notification_still_arrives(
    buses: tuple[EventBus, EventBus],
) -> None:
    a, b = buses
    long_line = {"seq": 3, "author": "customer", "text": "长" * 6000, "at": "2026-12-07T10:00:00Z"}
    big = ChatLine(interaction_id=5, agent_id=None, line=long_line)
    small = InteractionQueued(interaction_id=6, customer_id=1, channel="chat")
    async with b.subscribe() as heard:
        a.publish(big)
        a.publish(small)
        assert await _take(heard, 2) == [big, small]
