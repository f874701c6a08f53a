"""SLA escalation on both backends: the policy's steps taken on work short of its target, each
once across sweeps and restarts; priority raised for good, work moved to another group, and a
notification that waits for business hours when the group is closed."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from contactcenter.escalation.sweep import EscalationSweep
from contactcenter.events import Escalated
from contactcenter.model import Channel, Presence
from contactcenter.settings import Settings, load_settings
from contactcenter.store.tables import escalations, interactions, messages, outbox
from routing.policy import DEFAULT_POLICY
from tests.conftest import Api

RELATIONSHIP = """
escalation:
  notify_mail: [lead@example.com]
  steps:
    - {name: nearly due, at: 80%, do: notify}
    - {name: jump, at: 100%, channels: [chat], do: raise_priority, points: 1000}
    - {name: to senior, at: 100%, channels: [email], do: reassign, group: senior}
    - {name: all hands, at: 150%, channels: [fax], do: overflow, group: senior}
    - {name: answer again, at: 100%, clock: next_response, channels: [email], do: notify}
    - {name: still open, at: 100%, clock: resolution, channels: [email], do: notify}
"""
# Transactional email: first response within 86,400 s of the general group's business hours.
HOURS = '\nhours:\n  timezone: Europe/Berlin\n  general: {mon-fri: "09:00-17:00"}\n'


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Iterator[Settings]:
    relationship = tmp_path / "relationship.yaml"
    relationship.write_text(RELATIONSHIP, encoding="utf-8")
    routing = tmp_path / "routing.yaml"
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        "email: {seconds: 86400}",
        "email: {seconds: 86400, next_response: 3600, resolution: 172800}",
    )
    routing.write_text(text + HOURS, encoding="utf-8")
    yield load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        relationship_policy=relationship,
        routing_policy=routing,
        support_addresses="support@example.com",
    )


async def _queued_at(api: Api, interaction_id: int, at: datetime) -> None:
    async with api.services.db.begin() as conn:
        await conn.execute(
            update(interactions).where(interactions.c.id == interaction_id).values(queued_at=at)
        )


async def _taken(api: Api) -> list[tuple[int, str]]:
    async with api.services.db.connect() as conn:
        rows = await conn.execute(
            select(escalations.c.interaction_id, escalations.c.step).order_by(escalations.c.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_steps_fire_once_across_restarts_and_act(api: Api, team: dict[str, Any]) -> None:
    services = api.services
    await services.escalation.stand_down()  # the test runs the sweep at times of its own
    customer = (await services.customers.resolve("email", "mei@example.com")).customer
    chat = await services.queue.enqueue(customer, Channel.CHAT, subject="Help")
    at = datetime.now(UTC)
    async with services.bus.subscribe() as heard:
        # A transactional chat's target is 120 s: 80% is 96 s, all of it 120 s.
        assert await services.escalation.sweep(at + timedelta(seconds=90)) == 0
        assert await services.escalation.sweep(at + timedelta(seconds=100)) == 1
        assert await services.escalation.sweep(at + timedelta(seconds=110)) == 0
        restarted = EscalationSweep(
            db=services.db,
            policy=services.escalation.policy,
            queue=services.queue,
            outbox=services.outbox,
            events=services.bus,
            mail_from="support@example.com",
        )
        assert await restarted.sweep(at + timedelta(seconds=130)) == 1  # only the jump
        assert await restarted.sweep(at + timedelta(seconds=500)) == 0
        told = []
        while not heard.queue.empty():
            if isinstance(event := heard.queue.get_nowait(), Escalated):
                told.append(event)
    assert [(e.step, e.detail) for e in told] == [
        ("nearly due", "80% of the target"),
        ("jump", "priority +1000"),
    ]
    assert await _taken(api) == [(chat, "nearly due"), (chat, "jump")]
    stored = await services.interactions.get(chat)
    assert stored["attributes"]["_priority_boost"] == 1000.0
    async with services.db.connect() as conn:
        mails = list(await conn.execute(select(outbox).where(outbox.c.kind == "escalation")))
    assert [m.recipient for m in mails] == ["lead@example.com"]
    board = await api.json("GET", "/api/v1/board", "supervisor")
    assert [e["step"] for e in board["escalations"]] == ["jump", "nearly due"]


async def test_an_email_is_moved_on_monday_and_nobody_is_told_at_the_weekend(
    api: Api, team: dict[str, Any]
) -> None:
    services = api.services
    await services.escalation.stand_down()  # the test runs the sweep at times of its own
    customer = (await services.customers.resolve("email", "bo@example.com")).customer
    mail = await services.queue.enqueue(customer, Channel.EMAIL, subject="Invoice")
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    await _queued_at(api, mail, friday - timedelta(days=7))  # a week of business hours ago
    saturday = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)
    # 86,400 s of business time is 3 working days: long used up, but the notification waits
    # for the group to open; the move does not tell anyone, so it happens at once.
    assert await services.escalation.sweep(saturday) == 1
    assert await _taken(api) == [(mail, "to senior")]
    moved = await services.interactions.get(mail)
    assert any(e["data"].get("to_group") == "senior" for e in moved["events"])
    monday = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)  # 09:30 in Berlin
    assert await services.escalation.sweep(monday) == 1
    assert await _taken(api) == [(mail, "to senior"), (mail, "nearly due")]


async def test_a_reassign_to_a_group_the_routing_policy_lacks_stops_start_up(
    tmp_path: Path, database_url: str
) -> None:
    from contactcenter.wiring import Services
    from workflows.relationship_policy import RelationshipPolicyError

    relationship = tmp_path / "wrong.yaml"
    relationship.write_text(
        "escalation:\n  steps:\n    - {name: x, at: 90%, do: reassign, group: nightshift}\n"
    )
    wrong = load_settings(
        {}, database_url=database_url, data_dir=tmp_path / "d", relationship_policy=relationship
    )
    with pytest.raises(RelationshipPolicyError, match="'nightshift', which is not a group"):
        Services.build(wrong)


async def test_an_overflow_lets_another_group_take_the_work_too(
    api: Api, team: dict[str, Any]
) -> None:
    services = api.services
    await services.escalation.stand_down()  # the test runs the sweep at times of its own
    await services.queue.set_presence(team["sue"], Presence.AVAILABLE)  # senior only
    customer = (await services.customers.resolve("phone", "+16175550155")).customer
    fax = await services.queue.enqueue(customer, Channel.FAX, subject="Order form")
    assert (await services.interactions.get(fax))["status"] == "queued"  # general: nobody
    week_ago = datetime.now(UTC) - timedelta(days=14)
    await _queued_at(api, fax, week_ago)
    monday = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # the general group is open
    assert await services.escalation.sweep(monday) == 2
    assert [step for _, step in await _taken(api)] == ["nearly due", "all hands"]
    offered = await services.interactions.get(fax)
    assert (offered["status"], offered["agent_id"]) == ("offered", team["sue"])
    assert offered["attributes"]["_overflow_groups"] == ["senior"]


async def test_the_next_response_and_resolution_clocks_of_an_email(
    api: Api, team: dict[str, Any]
) -> None:
    """After our answer the customer writes again: an hour (of business time) to answer again;
    and two days' worth of business hours (48) to resolve it."""
    services = api.services
    await services.escalation.stand_down()  # the test runs the sweep at times of its own
    customer = (await services.customers.resolve("email", "li@example.com")).customer
    mail = await services.queue.enqueue(customer, Channel.EMAIL, subject="Refund")
    berlin = ZoneInfo("Europe/Berlin")
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=berlin)
    async with services.db.begin() as conn:
        await conn.execute(
            update(interactions)
            .where(interactions.c.id == mail)
            .values(queued_at=monday, first_response_at=monday + timedelta(minutes=30))
        )
        for direction, at in (
            ("outbound", monday + timedelta(minutes=30)),
            ("inbound", monday + timedelta(days=1, hours=1)),
        ):
            await conn.execute(
                messages.insert().values(
                    interaction_id=mail,
                    direction=direction,
                    author="agent" if direction == "outbound" else "customer",
                    body="…",
                    created_at=at,
                )
            )
    tuesday = monday + timedelta(days=1)  # the customer wrote again at 10:00
    assert await services.escalation.sweep(tuesday + timedelta(hours=1, minutes=59)) == 0
    assert await services.escalation.sweep(tuesday + timedelta(hours=2, minutes=1)) == 1
    assert [step for _, step in await _taken(api)] == ["answer again"]
    # 48 business hours from Monday 09:00 is the next Tuesday at 09:00 (six working days).
    assert await services.escalation.sweep(datetime(2026, 12, 15, 8, 59, tzinfo=berlin)) == 0
    assert await services.escalation.sweep(datetime(2026, 12, 15, 9, 1, tzinfo=berlin)) == 1
    assert [step for _, step in await _taken(api)] == ["answer again", "still open"]
