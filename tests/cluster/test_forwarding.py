"""An instance that does not route hands its queue work to the one that does, through the
database, and answers as if it routed itself: the same ids, the same refusals, its own change
visible at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

from contactcenter.cluster.leadership import LEADER_LOCK_KEY, Leadership
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict, Unavailable
from contactcenter.events import EventBus
from contactcenter.interactions.records import InteractionRecords
from contactcenter.model import Channel, Presence
from contactcenter.people.agents import AgentDirectory, AgentFields, GroupFields
from contactcenter.queue import commands
from contactcenter.queue.core import InteractionQueue
from contactcenter.store.db import Database
from contactcenter.store.tables import interactions, queue_commands
from routing.policy import load_policy
from tests.conftest import asyncpg_dsn


@pytest.fixture
async def two(
    pg: Database, interaction_records: InteractionRecords
) -> AsyncIterator[tuple[InteractionQueue, InteractionQueue, int, Leadership]]:
    """Two instances' queues (the first routes), the agent's id, the first's leadership."""
    directory = AgentDirectory(pg)
    group = (await directory.create_group(GroupFields(name="general")))["id"]
    agent = await directory.create_agent(
        AgentFields.model_validate({"name": "ana", "groups": [{"group_id": group}]})
    )
    started: list[tuple[InteractionQueue, Leadership]] = []
    for name in ("router", "other"):
        leadership = Leadership(db=pg, instance=name)
        queue = InteractionQueue(
            db=pg,
            interactions=interaction_records,
            agents=directory,
            policy=load_policy(),
            bus=EventBus(),
            leadership=leadership,
            instance=name,
        )
        await queue.start()
        await leadership.start()
        started.append((queue, leadership))
    yield started[0][0], started[1][0], agent["id"], started[0][1]
    for queue, leadership in reversed(started):
        await leadership.stop()
        await queue.stop()


async def test_work_handed_to_the_router_is_routed_and_answered(
    two: Any, records: CustomerRecords
) -> None:
    router, other, ana, _ = two
    assert router.routes() and not other.routes()
    customer = (await records.resolve("email", "pat@example.com")).customer

    first = await other.enqueue(customer, Channel.EMAIL, subject="Hello", external_ref="<m1@x>")
    again = await other.enqueue(customer, Channel.EMAIL, subject="Hello", external_ref="<m1@x>")
    assert first == again  # the router's answer, the same for a retried arrival
    assert router.routed(first).state == "waiting"  # type: ignore[union-attr]
    assert other.routed(first).state == "waiting"  # type: ignore[union-attr]
    assert await other.position(first) == 1

    await other.set_presence(ana, Presence.AVAILABLE)
    assert other.presence_of(ana) is Presence.AVAILABLE  # its own change, seen at once
    assert other.holder(first) == ana  # offered to ana by the router
    with pytest.raises(Conflict, match="not active with agent"):
        other.check_held(first, ana)
    with pytest.raises(Conflict):
        await other.accept(first, ana + 1000)  # refused by the router, as it would be here
    await other.accept(first, ana)
    other.check_held(first, ana)
    await other.complete(first, ana, outcome={"disposition": "resolved"})
    assert other.routed(first) is None or other.routed(first).state == "wrap_up"  # type: ignore[union-attr]
    assert (await records.get(customer.id)).id == customer.id


async def test_work_handed_over_while_no_instance_routes_waits_for_the_next_router(
    two: Any, records: CustomerRecords
) -> None:
    router, other, _, leadership = two
    customer = (await records.resolve("email", "lee@example.com")).customer
    await leadership.stop()  # the router's instance stops: nobody routes for a moment
    await router.stop()
    assert not router.routes()
    arrival = asyncio.create_task(
        other.enqueue(customer, Channel.EMAIL, subject="Anyone?", external_ref="<w@x>")
    )
    async with asyncio.timeout(10):  # the other instance is elected and runs what waits
        interaction_id = await arrival
    assert other.routes()
    assert other.routed(interaction_id).state == "waiting"  # type: ignore[union-attr]
    again = await other.enqueue(customer, Channel.EMAIL, subject="Anyone?", external_ref="<w@x>")
    assert again == interaction_id


async def test_work_nobody_took_in_time_is_withdrawn_and_never_done(
    two: Any, records: CustomerRecords, pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    router, other, _, leadership = two
    customer = (await records.resolve("email", "kim@example.com")).customer
    # A leader that hangs: it holds the lock, so nobody else is elected, and it routes nothing.
    hung = await asyncpg.connect(asyncpg_dsn(pg.url.render_as_string(False)))
    await leadership.stop()
    await router.stop()
    await hung.execute("SELECT pg_advisory_lock($1)", LEADER_LOCK_KEY)
    monkeypatch.setattr(commands, "ANSWER_SECONDS", 0.5)
    with pytest.raises(Unavailable, match="nothing was done"):
        await other.enqueue(customer, Channel.EMAIL, subject="Lost?", external_ref="<late@x>")
    await hung.close()  # the hung leader goes; the other instance is elected
    async with asyncio.timeout(5):
        while not other.routes():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # a round of the new router's commands
    async with pg.connect() as conn:
        stored = (
            await conn.execute(
                select(interactions).where(interactions.c.external_ref == "<late@x>")
            )
        ).all()
        left = (await conn.execute(select(queue_commands))).all()
    assert stored == []  # the 503 told the truth: nothing was done
    assert all(row.done_at is not None for row in left)
