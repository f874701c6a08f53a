"""A support desk for the mail tests: the service with its SMTP receiver and a relay that is a
real SMTP server on loopback keeping what it is sent."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
from aiohttp.test_utils import TestClient
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from contactcenter.model import Role
from contactcenter.people.agents import AgentFields, GroupFields, Membership
from contactcenter.store.tables import interaction_events
from contactcenter.wiring import Services


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mail(
    body: str = "My order has not arrived.",
    subject: str = "Order 1001",
    sender: str = "Ann Lee <ann@example.org>",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@example.com"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


@dataclass
class Sink:
    """An SMTP server that keeps what it is sent."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        self.received.append(parsed)  # type: ignore[arg-type]
        self.arrived.set()
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: SMTP(self), "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def wait_for(self, count: int) -> list[EmailMessage]:
        async with asyncio.timeout(5):
            while len(self.received) < count:
                self.arrived.clear()
                if len(self.received) < count:  # one may have come before the clear
                    await self.arrived.wait()
        return self.received


@dataclass
class Desk:
    services: Services
    smtp_port: int
    sink: Sink
    client: TestClient

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message, hostname="127.0.0.1", port=self.smtp_port, recipients=["support@example.com"]
        )

    async def events(self, kind: str) -> list[dict]:  # type: ignore[type-arg]
        async with self.services.db.connect() as conn:
            rows = await conn.execute(
                select(interaction_events.c.data).where(interaction_events.c.type == kind)
            )
            return [row.data for row in rows]

    async def agent(self) -> tuple[int, dict[str, str]]:
        """An agent of the general group, logged in by API token: their id and the headers."""
        services = self.services
        group = await services.agents.create_group(GroupFields(name="general"))
        agent = await services.agents.create_agent(
            AgentFields(name="Sam", groups=[Membership(group_id=group["id"])])
        )
        user = await services.accounts.create_user("sam", "password-" * 2, Role.AGENT, agent["id"])
        token, _ = await services.accounts.create_token(user["id"], "tests")
        return agent["id"], {"Authorization": f"Bearer {token}"}
