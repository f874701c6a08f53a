"""The live event stream: `/api/v1/events`, JSON over a WebSocket.

Supervisors and admins receive every event; an agent receives the events about them (offers to
them, their presence, their interactions). A browser using the session cookie must come from this
service's own origin, so that another site cannot open the stream with a visitor's login.
On shutdown every stream is closed with 1001 (going away); consoles reconnect by themselves.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from contactcenter.events import OVERFLOW
from contactcenter.model import Role
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.web.errors import ApiError

routes = RouteTable("events")
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


@routes.route(
    "GET", "/api/v1/events", summary="Live events as JSON frames over a WebSocket",
    role=Role.AGENT,
    responses={101: "Switching to WebSocket", 403: "A cookie login from another origin"},
)  # fmt: skip
async def events(call: Call) -> web.StreamResponse:
    user = call.user
    if user.via == "session" and not _same_origin(call.request):
        raise ApiError(403, "forbidden", "the event stream is for this service's own pages")
    everything = user.role.allows(Role.SUPERVISOR)
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(call.request)
    call.request.app[SOCKETS].add(ws)
    async with call.services.bus.subscribe() as subscription:
        reader = asyncio.create_task(_read_until_closed(ws))
        try:
            while not ws.closed:
                waiting = asyncio.create_task(subscription.get())
                done, _ = await asyncio.wait({waiting, reader}, return_when=asyncio.FIRST_COMPLETED)
                if waiting not in done:
                    waiting.cancel()
                    break
                event = waiting.result()
                if event is OVERFLOW:
                    await ws.send_json(event)
                    await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too far behind")
                    break
                if everything or _about(event, user.agent_id):
                    await ws.send_json(event)
        finally:
            reader.cancel()
    return ws


def _about(event: dict[str, Any], agent_id: int | None) -> bool:
    return agent_id is not None and event.get("agent_id") == agent_id


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    """The stream is one-way: client frames are read (so pings and closes work) and ignored."""
    async for message in ws:
        if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


async def close_sockets(app: web.Application) -> None:
    for ws in list(app[SOCKETS]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
