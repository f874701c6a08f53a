"""REST: an agent's control of the call they are on (the rest of a call is Twilio's webhooks)."""

from __future__ import annotations

from aiohttp import web

from contactcenter.model import Role
from contactcenter.web.api.queue import INTERACTION, agent_of
from contactcenter.web.endpoints import Call, RouteTable

routes = RouteTable("phone")


@routes.route(
    "POST",
    INTERACTION + "/hangup",
    summary="End the call of a voice interaction you hold (talking or in wrap-up); Twilio "
    "hangs up the caller and your leg, and reports the end as for any call",
    role=Role.AGENT,
    responses={202: "Asked of Twilio", 409: "Not yours, or no call in progress"},
)
async def hang_up(call: Call) -> web.Response:
    interaction_id = call.path_id("interaction_id")
    await call.services.voice.hang_up(interaction_id, agent_of(call))
    return web.json_response({"interaction_id": interaction_id, "hanging_up": True}, status=202)
