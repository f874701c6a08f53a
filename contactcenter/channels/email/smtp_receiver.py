"""The built-in SMTP receiver (aiosmtpd) for the support addresses.

Mail for any other address gets 550 at RCPT; mail over the size limit gets 552. One client
address may hold `max_connections` sessions at once (421 at MAIL beyond that) and send
`per_minute` messages a minute (451 beyond that: the client keeps the mail and tries again
later, so nothing is lost). Only the sessions over the limit are refused:
each session knows, from when it opened, whether it was one too many. A message is
answered 250 only once the email channel has stored it (its bytes and its inbox row); if that
fails the client hears 451 and keeps the message to try again. It is read into the queue right
after it is stored; should that fail, it waits in the inbox and is read again at start.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from contactcenter.channels.email.channel import EmailChannel
from contactcenter.runtime.pace import Pace

log = structlog.get_logger(__name__)


class _Clients:
    """Sessions and recent messages per client address."""

    def __init__(self, *, max_connections: int, per_minute: int) -> None:
        self.max_connections = max_connections
        self.sessions: dict[str, int] = defaultdict(int)
        self.pace = Pace(limit=per_minute, window=60.0)

    def opened(self, peer: str) -> bool:
        """Count a new session; True when it is one more than the address may hold."""
        self.sessions[peer] += 1
        return self.sessions[peer] > self.max_connections

    def closed(self, peer: str) -> None:
        self.sessions[peer] -= 1
        if self.sessions[peer] <= 0:
            del self.sessions[peer]

    def too_fast(self, peer: str) -> bool:
        """Counts this message; True when it is one too many for the last minute."""
        return not self.pace.admit(peer, time.monotonic())


def _peer(session: Session) -> str:
    return session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)


class _Session(SMTP):
    """aiosmtpd's SMTP session, counted per client address while it lasts."""

    def __init__(self, *args: object, clients: _Clients, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.clients = clients
        self.counted: str | None = None
        self.extra = False  # opened when its address already held all it may

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.counted = _peer(self.session)
        self.extra = self.clients.opened(self.counted)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counted is not None:
            self.clients.closed(self.counted)
            self.counted = None
        super().connection_lost(exc)


class _Handler:
    def __init__(self, *, channel: EmailChannel, clients: _Clients) -> None:
        self.channel = channel
        self.clients = clients

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if isinstance(server, _Session) and server.extra:
            return "421 4.7.0 too many connections from your address; try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.channel.accepts(address):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # The envelope sender on top, as every delivering server writes it (RFC 5321 4.4): the
        # one address left to answer when From cannot be read, and "<>" on a bounce.
        sender = (envelope.mail_from or "").strip("<>")
        return_path = f"Return-Path: <{sender}>\r\n".encode(errors="replace")
        raw = return_path + (envelope.original_content or b"")
        peer = _peer(session)
        if self.clients.too_fast(peer):
            return "451 4.7.1 too many messages from your address; try again later"
        try:
            inbox_id = await self.channel.accept(raw, f"smtp:{peer}")
        except Exception:
            log.exception("smtp.store_failed", peer=peer)
            return "451 4.3.0 the message could not be stored; please try again later"
        try:
            await self.channel.process(inbox_id)
        except Exception:  # stored: it is read again at the next start
            log.exception("smtp.process_failed", inbox_id=inbox_id)
        return "250 2.0.0 OK: queued"


class SmtpReceiver:
    def __init__(
        self,
        *,
        channel: EmailChannel,
        host: str,
        port: int,
        max_bytes: int,
        max_connections: int = 10,
        per_minute: int = 120,
        reuse_port: bool = False,
    ) -> None:
        self.channel = channel
        self.host, self.port, self.max_bytes = host, port, max_bytes
        self.reuse_port = reuse_port  # several instances on this machine share the port
        self.clients = _Clients(max_connections=max_connections, per_minute=per_minute)
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handler = _Handler(channel=self.channel, clients=self.clients)
        self._server = await loop.create_server(
            lambda: _Session(
                handler,
                data_size_limit=self.max_bytes,
                enable_SMTPUTF8=True,
                hostname="contactcenter",
                ident="contactcenter ESMTP",
                clients=self.clients,
            ),
            self.host,
            self.port,
            reuse_port=self.reuse_port or None,
        )
        log.info("smtp.listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
