"""Polling existing mailboxes over IMAP (aioimaplib), for support addresses whose mail stays
with another server.

Each round logs in, lists the messages not yet marked \\Seen, and for each one: fetches it
without marking it (BODY.PEEK), stores it through the email channel (bytes and inbox row), and
only then marks it \\Seen and reads it into the queue. A restart in the middle of a round
fetches again the messages it had not marked; the inbox knows them by their bytes and their
Message-ID, so none is lost and none counted twice.
"""

from __future__ import annotations

import contextlib
import re

import structlog
from aioimaplib import IMAP4, IMAP4_SSL

from contactcenter.channels.email.channel import EmailChannel
from contactcenter.runtime.rounds import Rounds
from contactcenter.settings import Mailbox

log = structlog.get_logger(__name__)
_FLAGS = re.compile(rb"UID (\d+) FLAGS \(([^)]*)\)")


class ImapPoller:
    def __init__(self, *, channel: EmailChannel, mailbox: Mailbox, every: float = 60.0) -> None:
        self.channel = channel
        self.mailbox = mailbox
        self.rounds = Rounds(name=f"imap {mailbox}", round_=self.poll, every=every)

    async def start(self) -> None:
        self.rounds.start()

    async def stop(self) -> None:
        await self.rounds.stop()

    async def poll(self) -> int:
        """One round; returns how many messages it took in."""
        box = self.mailbox
        client = (IMAP4_SSL if box.tls else IMAP4)(host=box.host, port=box.port, timeout=30)
        await client.wait_hello_from_server()
        taken = 0
        try:
            await _ok(client.login(box.user, box.password), "LOGIN")
            await _ok(client.select(box.folder), "SELECT")
            listed = await _ok(client.uid("fetch", "1:*", "(FLAGS)"), "FETCH FLAGS")
            unseen = [
                uid.decode()
                for line in listed
                if isinstance(line, (bytes, bytearray))
                for uid, flags in _FLAGS.findall(bytes(line))
                if b"\\Seen" not in flags
            ]
            for uid in unseen:
                fetched = await _ok(client.uid("fetch", uid, "(BODY.PEEK[])"), "FETCH")
                raw = next((bytes(p) for p in fetched if isinstance(p, bytearray)), None)
                if raw is None:
                    continue
                inbox_id = await self.channel.accept(raw, str(box))
                await _ok(client.uid("store", uid, "+FLAGS (\\Seen)"), "STORE")
                taken += 1
                try:
                    await self.channel.process(inbox_id)
                except Exception:  # stored: it is read again at the next start
                    log.exception("imap.process_failed", inbox_id=inbox_id)
        finally:
            with contextlib.suppress(Exception):
                await client.logout()
        if taken:
            log.info("imap.taken", mailbox=str(box), messages=taken)
        return taken


async def _ok(command, what: str) -> list:  # type: ignore[no-untyped-def, type-arg]
    response = await command
    if response.result != "OK":
        raise RuntimeError(f"IMAP {what} answered {response.result}: {response.lines[-1:]!r}")
    return list(response.lines)
