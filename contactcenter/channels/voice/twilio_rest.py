"""Twilio's REST API, through the `twilio` package's own client with its async HTTP client.

Two acts on live calls: put a waiting caller through to an agent (update the call with new
TwiML), and place a callback (create a call). A request that fails for a passing reason
(a network error, Twilio answering 429 or 5xx) is tried again with growing pauses; if it still
fails, `TwilioUnavailable` says so and the caller of this module puts the work back in the queue.
The API's address is a setting, so that tests send the real client's requests to a stand-in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import structlog
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

log = structlog.get_logger(__name__)
T = TypeVar("T")


class TwilioUnavailable(RuntimeError):
    """Twilio's API did not do what was asked, after every try."""


class TwilioRest:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_url: str,
        attempts: int = 3,
        backoff: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_url = api_url
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    def client(self) -> Client:
        """Made on first use, inside the event loop (its HTTP session belongs to the loop)."""
        if self._client is None:
            self._http = AsyncTwilioHttpClient(timeout=self.timeout)
            self._client = Client(self.account_sid, self.auth_token, http_client=self._http)
            self._client.api.base_url = self.api_url
        return self._client

    async def redirect(self, call_sid: str, twiml: str) -> None:
        """The live call continues with `twiml` (for a waiting caller: out of the hold)."""
        await self._retry(
            "redirect", lambda: self.client().calls(call_sid).update_async(twiml=twiml)
        )

    async def place(self, to: str, from_: str, twiml: str, status_callback: str) -> str:
        """A new call to `to` that runs `twiml` once answered; returns its CallSid."""
        created = await self._retry(
            "place",
            lambda: self.client().calls.create_async(
                to=to,
                from_=from_,
                twiml=twiml,
                status_callback=status_callback,
                status_callback_event=["completed"],
            ),
        )
        return str(created.sid)

    async def close(self) -> None:
        if self._http is not None and self._http.session is not None:
            await self._http.session.close()
        self._client = self._http = None

    async def _retry(self, what: str, request: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return await request()
            except TwilioRestException as exc:
                passing = exc.status == 429 or exc.status >= 500
                error = f"Twilio answered {exc.status}: {exc.msg}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                passing, error = True, f"Twilio could not be reached: {exc!r}"
            log.warning("twilio.request_failed", what=what, attempt=attempt, error=error)
            if not passing or attempt == self.attempts:
                raise TwilioUnavailable(f"{what}: {error}")
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")
