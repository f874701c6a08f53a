"""REST: agents answer email interactions."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from contactcenter.model import Role
from contactcenter.web.api.queue import INTERACTION, agent_of
from contactcenter.web.endpoints import Call, RouteTable

routes = RouteTable("email")


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000)]


@routes.route(
    "POST",
    INTERACTION + "/reply",
    summary="Answer an email interaction you hold; sent on its thread from the support address",
    role=Role.AGENT,
    body=ReplyIn,
    responses={201: "Kept in the outbox and on the timeline", 409: "Not yours, or not an email"},
)
async def reply(call: Call) -> web.Response:
    interaction_id = call.path_id("interaction_id")
    await call.services.email.reply(interaction_id, agent_of(call), call.body.body)
    return web.json_response(await call.services.interactions.get(interaction_id), status=201)
