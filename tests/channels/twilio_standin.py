"""A local stand-in of Twilio's REST API: the calls resource, enough for the real `twilio`
client to update a live call and create one. It checks the client's basic auth, records every
request, and can be told to fail the next requests with 500 as Twilio sometimes does."""

from __future__ import annotations

import asyncio
import base64
import itertools
from dataclasses import dataclass, field

from aiohttp import web

PREFIX = "/2010-04-01/Accounts/{account}"


@dataclass
class Request:
    method: str
    path: str
    form: dict[str, str]


@dataclass
class TwilioStandIn:
    account_sid: str
    auth_token: str
    requests: list[Request] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with 500
    _sids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(PREFIX + "/Calls.json", self.create_call)
        app.router.add_post(PREFIX + "/Calls/{sid}.json", self.update_call)
        return app

    async def _take(self, request: web.Request) -> web.Response | None:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response(
                {"code": 20003, "message": "Authenticate", "status": 401}, status=401
            )
        posted = await request.post()
        form = {k: str(v) for k, v in posted.items()}
        self.requests.append(Request(request.method, request.path, form))
        self._arrived.set()
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.json_response(
                {"code": 20500, "message": "Internal Server Error", "status": 500}, status=500
            )
        return None

    async def update_call(self, request: web.Request) -> web.Response:
        failed = await self._take(request)
        sid = request.match_info["sid"]
        return failed or web.json_response(self._call(sid, request.match_info["account"]))

    async def create_call(self, request: web.Request) -> web.Response:
        failed = await self._take(request)
        sid = f"CA{next(self._sids):032d}"
        return failed or web.json_response(
            self._call(sid, request.match_info["account"]), status=201
        )

    def _call(self, sid: str, account: str) -> dict[str, str]:
        return {
            "sid": sid,
            "account_sid": account,
            "status": "queued",
            "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json",
        }

    async def wait_for(self, count: int) -> list[Request]:
        """The requests once there are at least `count` of them (within 5 s)."""
        async with asyncio.timeout(5):
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.requests
