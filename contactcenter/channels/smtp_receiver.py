"""The built-in SMTP receiver (aiosmtpd) for the support addresses.

Mail for any other address gets 550 at RCPT; mail over the size limit gets 552. A message is
answered 250 only once the email channel has stored it (its bytes and its inbox row); if that
fails the client hears 451 and keeps the message to try again. It is read into the queue right
after it is stored; should that fail, it waits in the inbox and is read again at start.
"""

from __future__ import annotations

import asyncio

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from contactcenter.channels.email import EmailChannel

log = structlog.get_logger(__name__)


class _Handler:
    def __init__(self, channel: EmailChannel) -> None:
        self.channel = channel

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:  # fmt: skip
        if not self.channel.accepts(address):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
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
    def __init__(self, channel: EmailChannel, host: str, port: int, max_bytes: int) -> None:
        self.channel = channel
        self.host, self.port, self.max_bytes = host, port, max_bytes
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handler = _Handler(self.channel)
        self._server = await loop.create_server(
            lambda: SMTP(handler, data_size_limit=self.max_bytes, enable_SMTPUTF8=True,
                         hostname="contactcenter", ident="contactcenter ESMTP"),
            self.host, self.port,
        )  # fmt: skip
        log.info("smtp.listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
