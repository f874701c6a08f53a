"""The channels' fixtures. Phone: the service with Twilio settings, reached by a call simulator,
and a local stand-in of Twilio's REST API that the service's real `twilio` client talks to.
Mail: a desk with the SMTP receiver and a real SMTP relay on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from contactcenter.app import create_app
from contactcenter.settings import load_settings
from contactcenter.store.tables import mail_inbox, outbox
from contactcenter.wiring import Services

from .call_simulator import Call
from .mail_desk import Desk, Sink, free_port
from .twilio_standin import TwilioStandIn

ACCOUNT = "AC" + "0" * 32
TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://support.example.com"


@dataclass
class Phone:
    services: Services
    session: ClientSession
    http_base: str
    twilio: TwilioStandIn

    def call(self, caller: str = "+16175550100", **kwargs: object) -> Call:
        return Call(self.session, TOKEN, PUBLIC, self.http_base, caller=caller, **kwargs)  # type: ignore[arg-type]

    async def interaction(self, call: Call) -> dict:
        record = await self.services.voice.calls.get(call.sid)
        assert record is not None and record.interaction_id is not None
        return await self.services.interactions.get(record.interaction_id)

    async def count(self, table) -> int:  # type: ignore[no-untyped-def]
        async with self.services.db.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


@dataclass
class Mailroom:
    services: Services
    port: int
    client: TestClient | None = None

    async def start(self) -> None:
        self.client = TestClient(TestServer(create_app(self.services.settings, self.services)))
        await self.client.start_server()

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def send_raw(self, raw: bytes, sender: str = "someone@example.org") -> None:
        """Bytes as a mail server delivers them, whatever they are."""
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=self.port) as client:
            await client.sendmail(sender, ["support@example.com"], raw)

    async def outgoing(self) -> list:  # type: ignore[type-arg]
        """Every mail the service has put in its outbox."""
        async with self.services.db.connect() as conn:
            return list(await conn.execute(select(outbox).order_by(outbox.c.id)))

    async def restart(self) -> None:
        """The service stopped and started again on the same database and files."""
        await self.stop()
        self.services = Services.build(self.services.settings)
        await self.start()

    async def send(self, message: EmailMessage, to: str = "support@example.com") -> None:
        await aiosmtplib.send(message, hostname="127.0.0.1", port=self.port, recipients=[to])

    async def inbox(self) -> list:  # type: ignore[type-arg]
        async with self.services.db.connect() as conn:
            return list(await conn.execute(select(mail_inbox).order_by(mail_inbox.c.id)))

    async def interaction_of(self, message: EmailMessage) -> dict:  # type: ignore[type-arg]
        rows = [r for r in await self.inbox() if r.message_id == message["Message-ID"][1:-1]]
        assert rows and rows[-1].interaction_id is not None
        return await self.services.interactions.get(rows[-1].interaction_id)


@pytest.fixture
async def mailroom(database_url: str, tmp_path: Path) -> AsyncIterator[Mailroom]:
    """The service with its SMTP receiver for support@ and help@example.com."""
    port = free_port()
    settings = load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        smtp_port=port,
        support_addresses="support@example.com, help@example.com",
        smtp_max_bytes=200_000,
    )
    room = Mailroom(Services.build(settings), port)
    await room.start()
    yield room
    await room.stop()


@pytest.fixture
def policy_file() -> Path | None:
    """The routing policy the service runs with; None: the one that ships."""
    return None


@pytest.fixture
async def phone(
    database_url: str, tmp_path: Path, policy_file: Path | None
) -> AsyncIterator[Phone]:
    twilio = TwilioStandIn(ACCOUNT, TOKEN)
    rest = TestServer(twilio.app())
    await rest.start_server()
    settings = load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        twilio_auth_token=TOKEN,
        twilio_account_sid=ACCOUNT,
        public_url=PUBLIC,
        twilio_api_url=str(rest.make_url("")).rstrip("/"),
        routing_policy=policy_file,
    )
    services = Services.build(settings)
    services.voice.connector.rest.backoff = 0.01  # retries without the production pauses
    client = TestClient(TestServer(create_app(settings, services)))
    await client.start_server()
    yield Phone(services, client.session, str(client.make_url("")).rstrip("/"), twilio)
    await client.close()
    await rest.close()


@pytest.fixture
async def desk(database_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    sink = Sink(free_port())
    await sink.start()
    smtp_port = free_port()
    settings = load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        smtp_port=smtp_port,
        support_addresses="support@example.com",
        mail_relay_host="127.0.0.1",
        mail_relay_port=sink.port,
    )
    services = Services.build(settings)
    client = TestClient(TestServer(create_app(settings, services)))
    await client.start_server()
    yield Desk(services, smtp_port, sink, client)
    await client.close()
    await sink.stop()
