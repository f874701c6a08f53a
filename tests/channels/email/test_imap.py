"""Polling a mailbox over IMAP against aioimaplib's in-memory IMAP server: unseen mail taken in
and marked seen only once stored; a round cut short is taken up again without duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aioimaplib.imap_testing_server import Mail, MockImapServer
from sqlalchemy import select

from contactcenter.channels.email.imap_poller import ImapPoller
from contactcenter.settings import Mailbox, load_settings
from contactcenter.store.tables import mail_inbox
from contactcenter.wiring import Services

from ..mail_desk import free_port, mail

USER = "support@example.com"


@pytest.fixture
async def imap(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Services, MockImapServer, ImapPoller]]:
    port = free_port()
    server = MockImapServer()
    listening = await server.run_server(host="127.0.0.1", port=port)
    settings = load_settings({}, database_url=database_url, data_dir=tmp_path / "data")
    services = Services.build(settings)
    await services.queue.start(run_timers=False)
    await services.leadership.start()
    poller = ImapPoller(
        channel=services.email,
        mailbox=Mailbox.from_url(f"imap://{USER}:secret@127.0.0.1:{port}/INBOX"),
    )
    yield services, server, poller
    await services.leadership.stop()
    await services.queue.stop()
    await services.close()
    listening.close()


def deliver(server: MockImapServer, message: EmailMessage) -> Mail:
    stored = Mail(message)
    server.receive(stored, imap_user=USER)
    return stored


async def inbox(services: Services) -> list:  # type: ignore[type-arg]
    async with services.db.connect() as conn:
        return list(await conn.execute(select(mail_inbox).order_by(mail_inbox.c.id)))


async def test_unseen_mail_is_taken_in_and_then_marked_seen(imap) -> None:  # type: ignore[no-untyped-def]
    services, server, poller = imap
    deliver(server, mail(subject="First"))
    deliver(server, mail(subject="Second", sender="bo@example.org"))
    assert await poller.poll() == 2
    rows = await inbox(services)
    assert [r.status for r in rows] == ["done", "done"]
    assert rows[0].source == f"imap:{USER}@127.0.0.1/INBOX"
    subjects = {(await services.interactions.get(r.interaction_id))["subject"] for r in rows}
    assert subjects == {"First", "Second"}
    assert await poller.poll() == 0  # both are \\Seen on the server now


async def test_a_round_cut_short_is_taken_up_without_duplicates(imap) -> None:  # type: ignore[no-untyped-def]
    services, server, poller = imap
    first = deliver(server, mail(subject="First"))
    deliver(server, mail(subject="Second"))
    # The last run stored the first message and stopped before marking it seen.
    await services.email.accept(first.as_bytes(), str(poller.mailbox))
    assert await poller.poll() == 2
    rows = await inbox(services)
    assert len(rows) == 2 and all(r.status == "done" for r in rows)
    assert len({r.interaction_id for r in rows}) == 2
