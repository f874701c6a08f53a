"""`/chat/ws`: the chat widget's WebSocket. One connection is one visitor's tab.

The page must come from the service itself or a site in `CONTACTCENTER_CHAT_ORIGINS`; another
site's page gets an `error` frame (`origin`) and a close with 1008, which the widget shows as "chat
is not available here" (a browser cannot read an HTTP status refused at the upgrade), and the
refused origin is logged. One client address may hold `CONNECTIONS_PER_ADDRESS` sockets at once
and open `OPENED_PER_WINDOW` in `WINDOW_SECONDS` (429 beyond, before the upgrade: a refusal costs
next to nothing); a hello costs one read and creates nobody. The first frame is a `hello` (within
`HELLO_SECONDS`); the service answers `welcome` with the visitor id for the widget to keep and,
when the hello resumes a chat, replays the lines after `after_seq`. From then on the visitor's
frames are handled one at a time, and the chat's lines reach the widget as `line` frames, each with
its sequence number.

Bad input never ends other chats and rarely this one: a frame that cannot be used is answered with
an `error` frame naming what is wrong. A frame over `MAX_FRAME_BYTES` closes the socket (1009), as
does a forged identity (4403) and a visitor who goes on flooding after a warning (4429): frames
beyond `FRAMES_PER_WINDOW` per connection, or `CONTACTCENTER_CHAT_FRAMES_PER_ADDRESS` per address,
in `WINDOW_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import structlog
from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, StringConstraints

from contactcenter.channels.chat.channel import ChatChannel
from contactcenter.channels.chat.frames import (
    MAX_FRAME_BYTES,
    MAX_TEXT,
    Answer,
    AskAgent,
    Close,
    End,
    FrameError,
    Hello,
    Message,
    SurveyReply,
    Transcript,
    Typing,
    VisitorFrame,
    read_frame,
)
from contactcenter.channels.chat.identity import IdentityError
from contactcenter.channels.chat.sockets import Inbox
from contactcenter.channels.chat.visitors import Visitor
from contactcenter.errors import Conflict, NotFound
from contactcenter.events import ChatEnded, ChatLine, ChatTyping
from contactcenter.model import Role
from contactcenter.runtime.pace import Pace
from contactcenter.web.api.events import SOCKETS
from contactcenter.web.api.queue import INTERACTION, agent_of
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.web.errors import ApiError
from workflows.surveys import AnswerError

log = structlog.get_logger(__name__)
routes = RouteTable("chat")
LINE = INTERACTION + "/chat"
HELLO_SECONDS = 10.0
WINDOW_SECONDS = 10.0
FRAMES_PER_WINDOW = 20
OPENED_PER_WINDOW = 60  # new connections (each says one hello)
CONNECTIONS_PER_ADDRESS = 50


WIDGET = Path(__file__).with_name("static") / "widget.js"


@routes.route(
    "GET",
    "/widget.js",
    role=None,
    content_type="application/javascript",
    summary="The chat widget, for a <script> tag on the pages of an allowed site",
)
async def widget(call: Call) -> web.StreamResponse:
    return web.FileResponse(
        WIDGET,
        headers={"Content-Type": "application/javascript", "Cache-Control": "public, max-age=300"},
    )


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)
    ]


@routes.route(
    "POST",
    LINE,
    summary="Write to the visitor of a chat you are in (shown as text, never markup)",
    role=Role.AGENT,
    body=LineIn,
    responses={201: "Stored and sent; its sequence number", 409: "Not a chat you are in"},
)
async def agent_line(call: Call) -> web.Response:
    seq = await call.services.chat.agent_says(
        call.path_id("interaction_id"), agent_of(call), call.body.text
    )
    return web.json_response({"seq": seq}, status=201)


@routes.route(
    "POST",
    LINE + "/typing",
    summary="Tell the visitor of a chat you are in that you are typing",
    role=Role.AGENT,
    responses={204: "Told", 409: "Not a chat you are in"},
)
async def agent_typing(call: Call) -> web.Response:
    await call.services.chat.agent_typing(call.path_id("interaction_id"), agent_of(call))
    return web.Response(status=204)


class Pacing:
    """The chat sockets' pace, per connection and per client address (one per service)."""

    def __init__(self, per_address: int) -> None:
        self.connections = Pace(limit=FRAMES_PER_WINDOW, window=WINDOW_SECONDS)
        self.addresses = Pace(limit=per_address, window=WINDOW_SECONDS)
        self.opening = Pace(limit=OPENED_PER_WINDOW, window=WINDOW_SECONDS)
        self.open: dict[str, int] = {}

    def admit(self, connection: int, address: str) -> bool:
        now = time.monotonic()
        return self.connections.admit(connection, now) and self.addresses.admit(address, now)

    def forget(self, connection: int) -> None:
        self.connections.forget(connection)

    def opened(self, address: str) -> bool:
        """Count a new socket of `address`; False (and not counted) when it holds all it may
        at once, or has opened all it may in the window."""
        if self.open.get(address, 0) >= CONNECTIONS_PER_ADDRESS:
            return False
        if not self.opening.admit(address, time.monotonic()):
            return False
        self.open[address] = self.open.get(address, 0) + 1
        return True

    def closed(self, address: str) -> None:
        self.open[address] -= 1
        if not self.open[address]:
            del self.open[address]


PACING: web.AppKey[Pacing] = web.AppKey("chat_pacing")


def origin_allowed(request: web.Request, allowed: list[str]) -> bool:
    """The service's own pages, and the sites the admin listed (scheme://host[:port])."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: a browser always sends Origin on a WebSocket
    if urlsplit(origin).netloc == request.host:
        return True
    return origin.rstrip("/").lower() in allowed


@routes.route(
    "GET",
    "/chat/ws",
    role=None,
    summary="The chat widget's WebSocket: JSON frames (see contactcenter/channels/chat/frames.py)",
    responses={101: "Switching to WebSocket", 403: "A page from a site that is not allowed"},
)
async def chat_socket(call: Call) -> web.StreamResponse:
    request, services = call.request, call.services
    address, pacing = request.remote or "?", request.app[PACING]
    if not pacing.opened(address):  # before any work
        raise ApiError(
            429,
            "too_many_requests",
            "too many chat connections from your address",
            headers={"Retry-After": str(int(WINDOW_SECONDS))},
        )
    try:
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        if not origin_allowed(request, services.settings.chat_origin_list):
            log.warning(
                "chat.origin_refused",
                origin=request.headers.get("Origin", "")[:200],
                address=address,
            )
            await ws.send_json(
                {
                    "type": "error",
                    "code": "origin",
                    "field": None,
                    "message": "chat is not open to pages of this site",
                }
            )
            await ws.close(code=int(Close.POLICY), message=b"site not allowed")
            return ws
        request.app[SOCKETS].add(ws)  # closed with 1001 when the service stops
        session = _Session(ws=ws, chat=services.chat, pacing=pacing, address=address)
        try:
            await session.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # one chat's failure must not reach the others
            log.exception("chat.socket_failed", interaction_id=session.chat_id)
            await ws.close(code=1011, message=b"internal error")
        return ws
    finally:
        pacing.closed(address)


class _Session:
    """One connection: its visitor, its chat, and the lines already sent."""

    def __init__(
        self, *, ws: web.WebSocketResponse, chat: ChatChannel, pacing: Pacing, address: str
    ) -> None:
        self.ws, self.chat, self.pacing, self.address = ws, chat, pacing, address
        self.visitor: Visitor | None = None
        self.inbox = Inbox()
        self.chat_id: int | None = None
        self.sent_seq = 0  # the last line the widget has
        self.warned = False

    async def run(self) -> None:
        hello = await self._hello()
        if hello is None:
            return
        forwarder: asyncio.Task[None] | None = None
        try:
            if not await self._greet(hello):
                return
            forwarder = asyncio.create_task(self._forward())
            await self._read()
        finally:
            if forwarder is not None:
                forwarder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await forwarder
            self._follow(None)  # gone, perhaps to come back: the chat waits a while
            self.pacing.forget(id(self))

    async def _hello(self) -> Hello | None:
        try:
            async with asyncio.timeout(HELLO_SECONDS):
                message = await self.ws.receive()
        except TimeoutError:
            await self._close(Close.NO_HELLO, "say hello first")
            return None
        if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            try:
                frame = read_frame(message.data)
            except FrameError as exc:
                await self.ws.send_json(exc.frame())
                await self._close(Close.NO_HELLO, "say hello first")
                return None
            if isinstance(frame, Hello):
                return frame
        await self._close(Close.NO_HELLO, "say hello first")
        return None

    async def _greet(self, hello: Hello) -> bool:
        """Who it is, the welcome, and the lines missed; False when the socket was closed."""
        try:
            self.visitor = await self.chat.visitors.identify(hello)
        except IdentityError as exc:
            await self.ws.send_json(
                {
                    "type": "error",
                    "code": "identity",
                    "message": str(exc),
                    "field": "identity_token",
                }
            )
            await self._close(Close.FORBIDDEN, "identity refused")
            return False
        if hello.chat_id is not None:
            if not await self.chat.resumable(self.visitor, hello.chat_id):
                await self._close(Close.UNKNOWN_CHAT, "no such chat for this visitor")
                return False
            self._follow(hello.chat_id)
            self.sent_seq = hello.after_seq
        await self.ws.send_json(
            {
                "type": "welcome",
                "visitor_id": self.visitor.visitor_id,
                "chat_id": self.chat_id,
                "verified": self.visitor.verified,
                "name": self.visitor.name,
            }
        )
        if self.chat_id is not None:
            for line in await self.chat.lines_after(self.chat_id, self.sent_seq):
                await self._send_line(line)
        return True

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is WSMsgType.ERROR:
                return
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            if not self.pacing.admit(id(self), self.address):
                if self.warned:
                    await self._close(Close.TOO_FAST, "too many messages")
                    return
                self.warned = True
                await self.ws.send_json(
                    FrameError("too_fast", "slow down: too many messages in a short time").frame()
                )
                continue
            try:
                frame = read_frame(message.data)
                if await self._handle(frame):
                    return
            except FrameError as exc:
                await self.ws.send_json(exc.frame())
            except (Conflict, NotFound) as exc:
                await self.ws.send_json(
                    {"type": "error", "code": "refused", "message": str(exc), "field": None}
                )

    async def _handle(self, frame: VisitorFrame) -> bool:
        """Do what the frame asks; True when the conversation is over for this socket."""
        assert self.visitor is not None
        match frame:
            case Message(text=text):
                # The chat is known here before its first line is published, so the forwarder
                # sends that line too. A browser nobody knew becomes a customer now.
                self.visitor = await self.chat.visitors.with_customer(self.visitor)
                chat_id = await self.chat.chat_for(self.visitor, self.chat_id, text)
                self._follow(chat_id)
                await self.chat.say(self.visitor, chat_id, text)
            case Answer(article_id=article_id, helped=helped) if self.chat_id is not None:
                await self.chat.answered(self.visitor, self.chat_id, article_id, helped)
            case AskAgent() if self.chat_id is not None:
                await self.chat.ask_agent(self.visitor, self.chat_id)
            case End():
                chat_id = self.chat_id
                self._follow(None, wait=False)  # nothing more to forward, nobody to wait for
                if chat_id is not None:
                    status = await self.chat.leave(chat_id)
                    await self.ws.send_json({"type": "ended", "status": status.value})
                await self._close(Close.NORMAL, "chat ended")
                return True
            case Typing() if self.chat_id is not None:
                await self.chat.typing(self.chat_id, "visitor")
            case Typing():
                pass  # typing before the first line: nobody to tell yet
            case Transcript(email=email) if self.chat_id is not None:
                await self.chat.mail_transcript(self.chat_id, email)
                await self.ws.send_json({"type": "transcript_sent", "email": email})
            case SurveyReply(chat_id=chat_id, answers=answers):
                if self.chat.survey is None:
                    raise FrameError("invalid", "no survey is asked here", "type")
                try:
                    await self.chat.survey.answer(self.visitor, chat_id, dict(answers))
                except AnswerError as exc:
                    raise FrameError("invalid", str(exc), f"answers.{exc.field}") from None
                await self.ws.send_json({"type": "survey_thanks", "chat_id": chat_id})
            case Hello():
                raise FrameError("invalid", "hello comes once, first", "type")
            case _:
                raise FrameError("invalid", "write a message first", "type")
        return False

    async def _forward(self) -> None:
        """The chat's lines and its end, as the channel hands them over, each once, until the
        socket closes; a socket too far behind is closed for the widget to reconnect and
        replay."""
        while True:
            event = await self.inbox.get()
            if self.inbox.overflowed:
                await self._close(Close.TRY_AGAIN, "too far behind: reconnect")
                return
            if event.interaction_id != self.chat_id:
                continue
            try:
                match event:
                    case ChatLine():
                        await self._send_line(event.line)
                    case ChatTyping(by="agent") if not self.ws.closed:
                        await self.ws.send_json({"type": "typing", "by": "agent"})
                    case ChatEnded() if not self.ws.closed:
                        ended: dict[str, Any] = {"type": "ended", "status": event.status}
                        if event.survey is not None:
                            ended["survey"] = {"chat_id": event.interaction_id, **event.survey}
                        await self.ws.send_json(ended)
            except ConnectionResetError:  # the visitor went away mid-send: the read loop ends
                return

    def _follow(self, chat_id: int | None, wait: bool = True) -> None:
        """This connection now carries `chat_id` (None: no chat): the channel counts the
        visitor's connections per chat (`wait`: for a visitor who may come back)."""
        if chat_id == self.chat_id:
            return
        if self.chat_id is not None:
            self.chat.detach(self.chat_id, self.inbox, wait)
        self.chat_id = chat_id
        if chat_id is not None:
            self.chat.attach(chat_id, self.inbox)

    async def _send_line(self, line: dict[str, Any]) -> None:
        if line["seq"] <= self.sent_seq or self.ws.closed:
            return
        self.sent_seq = line["seq"]
        await self.ws.send_json({"type": "line", "chat_id": self.chat_id, **line})

    async def _close(self, code: Close, why: str) -> None:
        await self.ws.close(code=int(code), message=why.encode())
