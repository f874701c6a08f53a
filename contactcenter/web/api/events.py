"""The live event stream: `/api/v1/events`, JSON over a WebSocket.

Supervisors and admins receive every event; an agent receives the events about them (offers to
them, their presence, their interactions). The events come from the one `Fanout`, which encodes
each event once; a console that stops reading is told `stream.overflow` and closed with 1013
once its outlet is full (`event_fanout.OUTLET_LIMIT`) or its socket holds `SOCKET_BACKLOG` bytes
it has not taken, and the others never wait for it.
A browser using the session cookie must come from this service's own origin, so that another
site cannot open the stream with a visitor's login. On shutdown every stream is closed with
1001 (going away); consoles reconnect by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import weakref
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from contactcenter.model import Role
from contactcenter.web.console_presence import ConsolePresence
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.web.errors import ApiError
from contactcenter.web.event_fanout import OVERFLOW_TEXT, Fanout, Outlet

routes = RouteTable("events")
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")
CONSOLES: web.AppKey[ConsolePresence] = web.AppKey("consoles", ConsolePresence)
FANOUT: web.AppKey[Fanout] = web.AppKey("fanout", Fanout)
# How long a dropped console has to take the overflow notice and the close before it is cut off.
HANG_UP_SECONDS = 1.0
# Bytes written to a console and not yet taken by it (beyond the kernel's buffers) before it is
# dropped as one that stopped reading.
SOCKET_BACKLOG = 256 * 1024
KERNEL_BUFFER = 64 * 1024  # the socket's send buffer (Linux doubles it for its bookkeeping)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


@routes.route(
    "GET",
    "/api/v1/events",
    summary="Live events as JSON frames over a WebSocket",
    role=Role.AGENT,
    responses={101: "Switching to WebSocket", 403: "A cookie login from another origin"},
)
async def events(call: Call) -> web.StreamResponse:
    user = call.user
    if user.via == "session" and not _same_origin(call.request):
        raise ApiError(403, "forbidden", "the event stream is for this service's own pages")
    # No per-message compression: events are small, and deflating each one for each of
    # hundreds of consoles cost more CPU than everything else the stream does.
    ws = web.WebSocketResponse(heartbeat=30, compress=False)
    await ws.prepare(call.request)
    call.request.app[SOCKETS].add(ws)
    fanout = call.request.app[FANOUT]
    hanging_up: set[asyncio.Task[None]] = set()

    def hang_up() -> None:
        task = asyncio.create_task(_hang_up(ws, call.request))
        hanging_up.add(task)
        task.add_done_callback(hanging_up.discard)

    outlet = fanout.open(user.agent_id, user.role.allows(Role.SUPERVISOR), on_drop=hang_up)
    consoles = call.request.app[CONSOLES]
    if user.agent_id is not None:
        consoles.opened(user.agent_id)
    reader = asyncio.create_task(_read_until_closed(ws, outlet))
    transport = call.request.transport
    _bound_kernel_buffer(transport)
    try:
        while (text := await outlet.get()) is not None:
            # The socket's writes never wait for a console that stops reading: what it has
            # not taken piles up in the transport, so that pile is bounded too.
            if transport is not None and transport.get_write_buffer_size() > SOCKET_BACKLOG:
                outlet.drop()
                break
            await ws.send_str(text)
    except (ConnectionError, RuntimeError):
        pass  # the console went away while an event was on its way
    finally:
        fanout.close(outlet)
        if user.agent_id is not None:
            consoles.closed(user.agent_id)
        reader.cancel()
        if hanging_up:
            await asyncio.gather(*hanging_up, return_exceptions=True)
    return ws


def _bound_kernel_buffer(transport: asyncio.BaseTransport | None) -> None:
    """A fixed send buffer for the stream's socket: the kernel would otherwise grow it to
    megabytes for a console that stopped reading, and hold all of that before we noticed."""
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_BUFFER)


async def _hang_up(ws: web.WebSocketResponse, request: web.Request) -> None:
    """Tell a dropped console to reload and close; cut it off when it does not take even that."""
    try:
        async with asyncio.timeout(HANG_UP_SECONDS):
            await ws.send_str(OVERFLOW_TEXT)
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too far behind")
    except (TimeoutError, ConnectionError, RuntimeError):
        if request.transport is not None:
            request.transport.abort()


async def _read_until_closed(ws: web.WebSocketResponse, outlet: Outlet) -> None:
    """The stream is one-way: client frames are read (so pings and closes work) and ignored;
    when the console goes, its outlet closes, which ends the writer."""
    with contextlib.suppress(Exception):
        async for message in ws:
            if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    outlet.close()


async def close_sockets(app: web.Application) -> None:
    for ws in list(app[SOCKETS]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
