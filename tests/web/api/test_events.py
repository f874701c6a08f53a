"""The live event stream over a WebSocket: who hears what, and who may listen."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from contactcenter.model import Channel, Presence, Role
from contactcenter.people.agents import AgentFields, GroupFields
from tests.conftest import Api


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next event of `kind` (others are skipped), or fail after two seconds."""
    async with asyncio.timeout(2):
        while True:
            event = await ws.receive_json()
            if event["type"] == kind:
                return event


async def test_supervisors_hear_everything_agents_only_about_themselves(api: Api) -> None:
    services = api.services
    group = (await services.agents.create_group(GroupFields(name="general")))["id"]
    ids = {}
    for name in ("ana", "bo"):
        agent = await services.agents.create_agent(
            AgentFields.model_validate({"name": name, "groups": [{"group_id": group}]})
        )
        user = await services.accounts.create_user(name, "password-" * 2, Role.AGENT, agent["id"])
        api.tokens[name], _ = await services.accounts.create_token(user["id"], "ws")
        ids[name] = agent["id"]
    supervisor = await api.client.ws_connect("/api/v1/events", headers=api.headers("supervisor"))
    ana = await api.client.ws_connect("/api/v1/events", headers=api.headers("ana"))
    bo = await api.client.ws_connect("/api/v1/events", headers=api.headers("bo"))

    customer = (await services.customers.resolve("email", "q@example.com")).customer
    mail = await services.queue.enqueue(customer, Channel.EMAIL)
    await services.queue.set_presence(ids["bo"], Presence.AVAILABLE)

    queued = await _next(supervisor, "interaction.queued")
    assert queued["interaction_id"] == mail
    offer = await _next(supervisor, "routing.Offer")
    assert (offer["interaction_id"], offer["agent_id"]) == (mail, ids["bo"])
    assert (await _next(bo, "routing.Offer"))["interaction_id"] == mail
    # ana hears nothing of bo's work: her next event is her own presence change.
    await services.queue.set_presence(ids["ana"], Presence.AWAY)
    event = await _next(ana, "agent.presence")
    assert event["agent_id"] == ids["ana"]
    for ws in (supervisor, ana, bo):
        await ws.close()


async def test_the_stream_needs_a_login_and_a_cookie_from_this_origin(api: Api) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
        await api.client.ws_connect("/api/v1/events")
    assert anonymous.value.status == 401
    await api.services.accounts.create_user("sam", "password-" * 2, Role.SUPERVISOR)
    login = await api.client.post(
        "/api/v1/auth/login", json={"username": "sam", "password": "password-" * 2}
    )
    assert login.status == 200
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await api.client.ws_connect("/api/v1/events", headers={"Origin": "https://evil.example"})
    assert foreign.value.status == 403
    own = await api.client.ws_connect(
        "/api/v1/events", headers={"Origin": str(api.client.make_url("/")).rstrip("/")}
    )
    await own.close()
