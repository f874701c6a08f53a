"""Agents work the queue through the API: presence, accept, reject, complete, transfer."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from contactcenter.app import create_app
from contactcenter.model import Channel, Presence
from contactcenter.people.agents import AgentFields, GroupFields
from contactcenter.wiring import Services
from tests.conftest import Api


async def _queued(api: Api, channel: Channel = Channel.VOICE) -> int:
    customer = (await api.services.customers.resolve("phone", "+12125550142")).customer
    return await api.services.queue.enqueue(customer, channel, subject="Where is my order?")


async def test_an_agent_goes_available_accepts_and_completes_with_an_outcome(
    api: Api, team: dict[str, Any]
) -> None:
    call = await _queued(api)
    await api.json(
        "PUT", f"/api/v1/agents/{team['ana']}/presence", "ana", json={"presence": "available"}
    )
    offered = await api.json("GET", f"/api/v1/interactions/{call}", "ana")
    assert offered["status"] == "offered" and offered["agent_id"] == team["ana"]
    active = await api.json("POST", f"/api/v1/interactions/{call}/accept", "ana")
    assert active["status"] == "active" and active["answered_at"]
    done = await api.json(
        "POST",
        f"/api/v1/interactions/{call}/complete",
        "ana",
        json={
            "disposition": "resolved",
            "outcome": "order located",
            "complaint": True,
            "satisfaction": 4,
            "notes": "wants delivery before Friday",
        },
    )
    assert done["status"] == "wrap_up"  # voice has wrap-up time in the default policy
    assert (done["disposition"], done["outcome"], done["complaint"], done["satisfaction"]) == (
        "resolved",
        "order located",
        True,
        4,
    )
    timeline = await api.json("GET", f"/api/v1/customers/{done['customer_id']}/timeline", "ana")
    notes = [e["note"]["body"] for e in timeline["entries"] if e["kind"] == "note"]
    assert notes == ["wants delivery before Friday"]


async def test_reject_and_transfer_keep_the_work_moving(api: Api, team: dict[str, Any]) -> None:
    call = await _queued(api)
    for name in ("ana", "bo"):
        await api.json(
            "PUT", f"/api/v1/agents/{team[name]}/presence", name, json={"presence": "available"}
        )
    first = (await api.json("GET", f"/api/v1/interactions/{call}", "ana"))["agent_id"]
    mine, other = ("ana", "bo") if first == team["ana"] else ("bo", "ana")
    after = await api.json("POST", f"/api/v1/interactions/{call}/reject", mine)
    assert after["status"] == "offered" and after["agent_id"] == team[other]
    await api.json("POST", f"/api/v1/interactions/{call}/accept", other)
    moved = await api.json(
        "POST", f"/api/v1/interactions/{call}/transfer", other, json={"to_group": "senior"}
    )
    assert moved["status"] == "queued"
    await api.json(
        "PUT", f"/api/v1/agents/{team['sue']}/presence", "sue", json={"presence": "available"}
    )
    taken = await api.json("GET", f"/api/v1/interactions/{call}", "sue")
    assert taken["status"] == "offered" and taken["agent_id"] == team["sue"]
    kinds = [e["type"] for e in taken["events"]]
    assert "status.transferred" in kinds


async def test_refusals_name_the_reason_and_change_nothing(api: Api, team: dict[str, Any]) -> None:
    call = await _queued(api)
    refused = await api.json("POST", f"/api/v1/interactions/{call}/accept", "ana", status=409)
    assert "not offered" in refused["error"]["message"]
    other = await api.json(
        "PUT",
        f"/api/v1/agents/{team['bo']}/presence",
        "ana",
        status=403,
        json={"presence": "available"},
    )
    assert "own presence" in other["error"]["message"]
    await api.json(
        "PUT", f"/api/v1/agents/{team['bo']}/presence", "supervisor", json={"presence": "away"}
    )
    not_agent = await api.json("POST", f"/api/v1/interactions/{call}/accept", "admin", status=403)
    assert "not an agent" in not_agent["error"]["message"]
    both = await api.json(
        "POST",
        f"/api/v1/interactions/{call}/transfer",
        "ana",
        status=422,
        json={"to_group": "senior", "to_agent": team["bo"]},
    )
    assert "either" in both["error"]["message"]
    assert (await api.json("GET", f"/api/v1/interactions/{call}", "ana"))["status"] == "queued"


FAST_POLICY = """
offers: {timeout_seconds: {voice: 1, chat: 1, email: 1, fax: 1}, missed_before_away: 5}
groups: [general, senior]
tiers: {transactional: {priority: 0}}
rules:
  - targets: [{group: general}]
"""


async def test_the_service_expires_offers_on_its_own_clock(settings, tmp_path) -> None:
    policy = tmp_path / "fast.yaml"
    policy.write_text(FAST_POLICY, encoding="utf-8")
    fast = settings.model_copy(update={"routing_policy": policy})
    services = Services.build(fast)
    general = (await services.agents.create_group(GroupFields(name="general")))["id"]
    ana = await services.agents.create_agent(
        AgentFields.model_validate({"name": "ana", "groups": [{"group_id": general}]})
    )
    client = TestClient(TestServer(create_app(fast, services)))
    await client.start_server()
    try:
        customer = (await services.customers.resolve("email", "x@example.com")).customer
        mail = await services.queue.enqueue(customer, Channel.EMAIL)
        await services.queue.set_presence(ana["id"], Presence.AVAILABLE)
        assert (await services.interactions.get(mail))["status"] == "offered"
        for _ in range(50):  # the ticker, not the test, moves it on
            await asyncio.sleep(0.1)
            found = await services.interactions.get(mail)
            if any(e["data"].get("reason") == "offer_expired" for e in found["events"]):
                break
        reasons = [e["data"].get("reason") for e in found["events"]]
        assert "offer_expired" in reasons
    finally:
        await client.close()


async def test_other_systems_queue_work_once_per_reference(api: Api, team: dict[str, Any]) -> None:
    body = {
        "identity": {"kind": "phone", "value": "(617) 555-0143"},
        "channel": "email",
        "subject": "Callback about order 1042",
        "external_ref": "crm-case-77",
    }
    made = await api.json("POST", "/api/v1/interactions", "agent", status=201, json=body)
    assert made["status"] == "queued" and made["subject"] == "Callback about order 1042"
    again = await api.json("POST", "/api/v1/interactions", "agent", status=200, json=body)
    assert again["id"] == made["id"]
    listed = await api.json("GET", "/api/v1/interactions", "agent")
    assert [i["id"] for i in listed["interactions"]] == [made["id"]]
    bad = await api.json(
        "POST",
        "/api/v1/interactions",
        "agent",
        status=422,
        json=body | {"identity": {"kind": "phone", "value": "12"}, "external_ref": "other"},
    )
    assert "not a valid number" in bad["error"]["message"]
    both = await api.json(
        "POST",
        "/api/v1/interactions",
        "agent",
        status=422,
        json=body | {"customer_id": made["customer_id"]},
    )
    assert "either" in both["error"]["message"]
    assert len((await api.json("GET", "/api/v1/interactions", "agent"))["interactions"]) == 1


async def test_the_answer_to_a_post_is_the_interaction_as_stored(
    api: Api, team: dict[str, Any]
) -> None:
    """A new interaction that waits is answered from what was written, not read back: it must
    be exactly what reading it gives, with a message and without, with and without a
    reference and attributes."""
    bodies = [
        {
            "identity": {"kind": "email", "value": "pat@example.com"},
            "channel": "email",
            "subject": "Where is order 1042?",
            "topic": "delivery",
            "message": "It was due on Monday. 谢谢",
            "attributes": {"order": "1042", "vip": True},
        },
        {"identity": {"kind": "phone", "value": "(617) 555-0143"}, "channel": "chat"},
        {
            "identity": {"kind": "email", "value": "pat@example.com"},
            "channel": "email",
            "external_ref": "crm-case-78",
            "subject": "Refund",
        },
    ]
    for body in bodies:
        made = await api.json("POST", "/api/v1/interactions", "agent", status=201, json=body)
        read = await api.json("GET", f"/api/v1/interactions/{made['id']}", "agent")
        assert made == read


async def test_stats_show_waiting_work_and_what_was_answered(
    api: Api, team: dict[str, Any]
) -> None:
    call = await _queued(api)
    await _queued(api, Channel.CHAT)
    await api.json(
        "PUT", f"/api/v1/agents/{team['ana']}/presence", "ana", json={"presence": "available"}
    )
    await api.json("POST", f"/api/v1/interactions/{call}/accept", "ana")
    stats = await api.json("GET", "/api/v1/stats", "agent", params={"window_minutes": "60"})
    rows = {(r["tier"], r["channel"]): r for r in stats["by_tier_channel"]}
    voice, chat = rows[("transactional", "voice")], rows[("transactional", "chat")]
    assert (voice["offered"], voice["answered"], voice["service_level"]) == (1, 1, 1.0)
    assert chat["waiting"] == 1 and chat["offered"] == 1  # ana is on the call: it waits
    assert stats["waiting_by_group"] == {"general": 1}
    assert stats["agents"]["with_work"] == 1
    assert stats["agents"]["by_presence"]["available"] == 1
    bad = await api.json(
        "GET", "/api/v1/stats", "agent", status=422, params={"window_minutes": "0"}
    )
    assert bad["error"]["field"] == "window_minutes"


async def test_changes_to_an_agent_reach_the_running_queue(api: Api, team: dict[str, Any]) -> None:
    first = await _queued(api, Channel.CHAT)
    second = await _queued(api, Channel.CHAT)
    path = f"/api/v1/agents/{team['ana']}"
    await api.json("PATCH", path, "supervisor", json={"capacity": {"chat": 1}})
    await api.json("PUT", f"{path}/presence", "ana", json={"presence": "available"})
    states = [
        (await api.json("GET", f"/api/v1/interactions/{i}", "ana"))["status"]
        for i in (first, second)
    ]
    assert states == ["offered", "queued"]  # room for one chat only
    await api.json("PATCH", path, "supervisor", json={"capacity": {"chat": 2}})
    assert (await api.json("GET", f"/api/v1/interactions/{second}", "ana"))["status"] == "offered"
    await api.json("DELETE", path, "supervisor", status=204)
    for interaction in (first, second):  # a removed agent's offers go back to the queue
        found = await api.json("GET", f"/api/v1/interactions/{interaction}", "bo")
        assert found["status"] == "queued" and found["agent_id"] is None
