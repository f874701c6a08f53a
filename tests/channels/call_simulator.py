"""A phone call as Twilio makes one: signed form posts to the service's webhooks, following the
TwiML that comes back (Gather posts the keys or words to its action; Enqueue holds the call and
polls its waitUrl; Redirect is followed; Hangup ends the call with a status callback)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin
from xml.etree import ElementTree

from aiohttp import ClientSession
from twilio.request_validator import RequestValidator

_sids = itertools.count(1)


def new_sid() -> str:
    return f"CA{next(_sids):032x}"


@dataclass
class TwiML:
    """A TwiML answer as the simulator reads it."""

    status: int
    root: ElementTree.Element
    url: str  # the webhook it answered, against which its relative URLs resolve

    @property
    def verbs(self) -> list[str]:
        return [child.tag for child in self.root]

    def said(self) -> str:
        """Everything <Say> would speak, in order (also inside Gather)."""
        return " ".join((el.text or "") for el in self.root.iter("Say"))

    def find(self, tag: str) -> ElementTree.Element | None:
        return next(self.root.iter(tag), None)

    def target(self, tag: str, attribute: str = "action") -> str:
        element = self.find(tag)
        assert element is not None, f"no <{tag}> in {ElementTree.tostring(self.root)!r}"
        value = element.get(attribute) if attribute else (element.text or "")
        assert value, f"<{tag}> has no {attribute}"
        return urljoin(self.url, value)


@dataclass
class Call:
    """One caller. `base` is the service's address as Twilio reaches it (the public URL);
    requests go to `http_base` (where the test server listens), signed for `base`."""

    session: ClientSession
    auth_token: str
    base: str
    http_base: str
    caller: str = "+16175550100"
    called: str = "+18005550199"
    sid: str = field(default_factory=new_sid)
    last: TwiML | None = None
    queue: dict[str, str] = field(default_factory=dict)  # the Enqueue's waitUrl and action

    def params(self, **extra: Any) -> dict[str, str]:
        base = {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": self.called,
            "Direction": "inbound",
            "CallStatus": "in-progress",
        }
        return base | {k: str(v) for k, v in extra.items()}

    async def post(
        self, url: str, params: dict[str, str], *, signature: str | None = None
    ) -> TwiML:
        path = url.removeprefix(self.base)
        if signature is None:
            signature = RequestValidator(self.auth_token).compute_signature(url, params)
        async with self.session.post(
            self.http_base + path, data=params, headers={"X-Twilio-Signature": signature}
        ) as response:
            body = await response.text()
            status = response.status
        root = ElementTree.fromstring(body) if status == 200 else ElementTree.Element("Error")
        self.last = TwiML(status, root, url)
        if status == 200 and root.find("Enqueue") is not None:
            self.queue = {
                "wait": self.last.target("Enqueue", "waitUrl"),
                "action": self.last.target("Enqueue"),
            }
        return self.last

    async def dial(self) -> TwiML:
        return await self.post(
            f"{self.base}/twilio/voice/incoming", self.params(CallStatus="ringing")
        )

    async def press(self, digits: str) -> TwiML:
        assert self.last is not None
        return await self.post(self.last.target("Gather"), self.params(Digits=digits))

    async def speak(self, words: str) -> TwiML:
        assert self.last is not None
        return await self.post(
            self.last.target("Gather"), self.params(SpeechResult=words, Confidence="0.91")
        )

    async def stay_silent(self) -> TwiML:
        """No keys, no words: with actionOnEmptyResult Twilio posts an empty result."""
        assert self.last is not None
        return await self.post(self.last.target("Gather"), self.params())

    async def follow(self) -> TwiML:
        """Where a <Redirect> sends the call next (in the hold: the waitUrl again)."""
        assert self.last is not None
        url = self.last.target("Redirect", "")
        extra = {"QueuePosition": 1, "QueueTime": 0} if self.queue else {}
        return await self.post(url, self.params(**extra))

    async def hold(self, position: int = 1, seconds: int = 0) -> TwiML:
        """One waitUrl poll, with Twilio's own queue figures (which the service ignores)."""
        assert self.queue, "the call is not holding"
        figures = self.params(
            QueuePosition=position, QueueTime=seconds, AvgQueueTime=0, CurrentQueueSize=1
        )
        return await self.post(self.queue["wait"], figures)

    async def hang_up(self, duration: int = 30) -> None:
        """The caller hangs up: the hold's action first (when holding), then the status
        callback, as Twilio sends them."""
        if self.queue:
            await self.post(self.queue["action"], self.params(QueueResult="hangup", QueueTime=5))
        await self.post(
            f"{self.base}/twilio/voice/status",
            self.params(CallStatus="completed", CallDuration=duration),
        )
