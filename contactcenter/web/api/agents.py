"""REST: agents and groups. Agents read them; supervisors and admins change them."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactcenter.model import Role
from contactcenter.people.agents import AgentFields, GroupFields
from contactcenter.web.endpoints import Call, RouteTable

routes = RouteTable("agents")
AGENT = r"/api/v1/agents/{agent_id:\d+}"
GROUP = r"/api/v1/groups/{group_id:\d+}"


class AgentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: int | None = Field(default=None, ge=1)


def _agent_fields(agent: dict[str, Any]) -> dict[str, Any]:
    current = {k: agent[k] for k in AgentFields.model_fields if k != "groups"}
    current["groups"] = [{"group_id": g["group_id"], "level": g["level"]} for g in agent["groups"]]
    return current


@routes.route("GET", "/api/v1/agents", summary="List agents", role=Role.AGENT, query=AgentQuery)
async def list_agents(call: Call) -> web.Response:
    return web.json_response(
        {"agents": await call.services.agents.list_agents(call.query.group_id)}
    )


@routes.route(
    "POST",
    "/api/v1/agents",
    summary="Create an agent",
    role=Role.SUPERVISOR,
    body=AgentFields,
    responses={201: "Created", 409: "Email taken"},
)
async def create_agent(call: Call) -> web.Response:
    agent = await call.services.agents.create_agent(call.body)
    await call.services.queue.refresh_agent(agent["id"])
    return web.json_response(agent, status=201)


@routes.route("GET", AGENT, summary="Read an agent", role=Role.AGENT)
async def get_agent(call: Call) -> web.Response:
    return web.json_response(await call.services.agents.get_agent(call.path_id("agent_id")))


@routes.route(
    "PATCH",
    AGENT,
    summary="Change an agent",
    role=Role.SUPERVISOR,
    body=AgentFields,
    partial=True,
)
async def update_agent(call: Call) -> web.Response:
    agent_id = call.path_id("agent_id")
    directory = call.services.agents
    changes = await call.changes(AgentFields, _agent_fields(await directory.get_agent(agent_id)))
    agent = await directory.update_agent(agent_id, changes)
    # Presence changes go through the queue's own path, which stores and routes them together.
    await call.services.queue.refresh_agent(agent_id)
    return web.json_response(agent)


@routes.route(
    "DELETE", AGENT, summary="Remove an agent", role=Role.SUPERVISOR, responses={204: "Removed"}
)
async def delete_agent(call: Call) -> web.Response:
    agent_id = call.path_id("agent_id")
    await call.services.agents.delete_agent(agent_id)
    await call.services.queue.refresh_agent(agent_id)
    return web.Response(status=204)


@routes.route("GET", "/api/v1/groups", summary="List groups with their members", role=Role.AGENT)
async def list_groups(call: Call) -> web.Response:
    return web.json_response({"groups": await call.services.agents.list_groups()})


@routes.route(
    "POST",
    "/api/v1/groups",
    summary="Create a group",
    role=Role.SUPERVISOR,
    body=GroupFields,
    responses={201: "Created", 409: "Name taken"},
)
async def create_group(call: Call) -> web.Response:
    return web.json_response(await call.services.agents.create_group(call.body), status=201)


@routes.route("GET", GROUP, summary="Read a group", role=Role.AGENT)
async def get_group(call: Call) -> web.Response:
    return web.json_response(await call.services.agents.get_group(call.path_id("group_id")))


@routes.route(
    "PATCH",
    GROUP,
    summary="Rename or describe a group",
    role=Role.SUPERVISOR,
    body=GroupFields,
    partial=True,
)
async def update_group(call: Call) -> web.Response:
    group_id = call.path_id("group_id")
    directory = call.services.agents
    group = await directory.get_group(group_id)
    changes = await call.changes(GroupFields, {k: group[k] for k in GroupFields.model_fields})
    return web.json_response(await directory.update_group(group_id, changes))


@routes.route(
    "DELETE", GROUP, summary="Remove a group", role=Role.SUPERVISOR, responses={204: "Removed"}
)
async def delete_group(call: Call) -> web.Response:
    await call.services.agents.delete_group(call.path_id("group_id"))
    return web.Response(status=204)
