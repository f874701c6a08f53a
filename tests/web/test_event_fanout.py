"""The fan-out of events to consoles: who gets what, and a console that stops reading."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

import aiohttp

from contactcenter.events import Event, EventBus, InteractionMessage, InteractionQueued, Offered
from contactcenter.web.api import events as api_events
from contactcenter.web.event_fanout import Fanout, OutletState
from tests.conftest import Api


@dataclass(frozen=True, kw_only=True)
class Tick(Event):
    """A numbered event of the tests' own."""

    type: ClassVar[str] = "tick"
    n: int


def _drain(outlet) -> list[str]:  # type: ignore[no-untyped-def]
    got = []
    while outlet._pending:
        got.append(outlet._pending.popleft())
    return got


async def test_agents_get_events_about_them_and_their_work_supervisors_everything() -> None:
    holders = {7: 1}  # interaction 7 is held by agent 1
    fanout = Fanout(bus=EventBus(), holder=holders.get)
    boss, one, two = fanout.open(None, True), fanout.open(1, False), fanout.open(2, False)
    fanout.deliver(Offered(interaction_id=9, agent_id=2, expires_at=0.0))
    fanout.deliver(InteractionMessage(interaction_id=7))  # names no agent
    fanout.deliver(InteractionQueued(interaction_id=8, customer_id=1, channel="email"))
    assert len(_drain(boss)) == 3
    assert [e for e in _drain(one)] == ['{"type": "interaction.message", "interaction_id": 7}']
    assert len(_drain(two)) == 1


async def test_a_console_that_falls_behind_is_dropped_and_the_others_get_everything() -> None:
    fanout = Fanout(bus=EventBus(), holder=lambda _: None)
    dropped: list[bool] = []
    slow = fanout.open(None, True, limit=10, on_drop=lambda: dropped.append(True))
    fast = fanout.open(None, True, limit=1000)
    for n in range(50):
        fanout.deliver(Tick(n=n))
        if n % 5 == 0:
            _drain(fast)  # the fast one keeps reading
    assert slow.state is OutletState.DROPPED and dropped == [True]
    assert await slow.get() is None
    assert fast.state is OutletState.OPEN and len(_drain(fast)) == 4
    fanout.close(slow)
    assert fanout.consoles == 1


async def test_a_stream_that_falls_behind_is_told_and_closed_and_others_go_on(api: Api) -> None:
    fanout = api.client.app[api_events.FANOUT]
    slow = await api.client.ws_connect("/api/v1/events", headers=api.headers("supervisor"))
    await asyncio.sleep(0.05)
    (outlet,) = fanout.watchers
    outlet.limit = 20
    for n in range(100):  # one burst: the socket's writer cannot run in between
        api.services.bus.publish(Tick(n=n))
    frames = []
    async with asyncio.timeout(5):
        async for message in slow:
            if message.type is aiohttp.WSMsgType.TEXT:
                frames.append(message.json())
    assert frames[-1]["type"] == "stream.overflow"
    assert slow.close_code == aiohttp.WSCloseCode.TRY_AGAIN_LATER
    fresh = await api.client.ws_connect("/api/v1/events", headers=api.headers("supervisor"))
    await asyncio.sleep(0.05)
    api.services.bus.publish(Tick(n=100))
    async with asyncio.timeout(2):
        assert (await fresh.receive_json())["n"] == 100
    await fresh.close()
