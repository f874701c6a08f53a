"""The email channel, inbound: every mail kept as it came, then read into the one queue.

`accept` stores the raw bytes (blob store) and a `mail_inbox` row in one step; only then does
the SMTP receiver answer 250. `process` reads a stored mail: the sender resolves to the customer
by their email identity; a mail answering one of ours or another on an open interaction (by
In-Reply-To / References, or the `[#CC-<id>]` token in its subject) joins that interaction; any
other mail opens a new email interaction in the queue. A mail answering a closed thread opens a
new interaction linked to the closed one; within `follow_up_period` of the close it goes first
to the agent who handled that thread (the policy's `offers.previous_agent_seconds`), later it
routes as any new mail. A mail that cannot be used as it is (no sender, broken MIME) is quarantined
with its reason, and still becomes an interaction when a sender can be found. Mail from a fax
gateway goes to the fax channel instead (`channels/fax.py`). A mail processed
once is never processed again; a mail stored but not yet processed is processed at start.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from contactcenter.channels.email_compose import acknowledgement, answer
from contactcenter.channels.email_parse import ParsedMail, parse_mail
from contactcenter.channels.fax import FaxChannel, Received
from contactcenter.channels.outbox import Outbox
from contactcenter.clock import now
from contactcenter.customers import CustomerRecords
from contactcenter.errors import Conflict, Invalid
from contactcenter.interactions import InteractionRecords
from contactcenter.model import (
    Channel,
    Customer,
    Direction,
    IdentityKind,
    Initiator,
    InteractionStatus,
)
from contactcenter.queue import InteractionQueue
from contactcenter.store.blobs import BlobStore
from contactcenter.store.db import Database
from contactcenter.store.tables import interactions, mail_inbox, messages, outbox

log = structlog.get_logger(__name__)
TOKEN = re.compile(r"\[#CC-(\d{1,18})\]")


class EmailChannel:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        customers: CustomerRecords,
        interactions: InteractionRecords,
        queue: InteractionQueue,
        support: list[str],
        outbox: Outbox,
        ack_period: timedelta = timedelta(hours=1),
        follow_up_period: timedelta = timedelta(days=7),
        fax: FaxChannel | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.customers = customers
        self.interactions = interactions
        self.queue = queue
        self.support = frozenset(support)
        self.answer_from = support[0] if support else "support@example.com"
        self.outbox = outbox
        self.ack_period = ack_period
        self.follow_up_period = follow_up_period
        self.fax = fax
        self.channels = (Channel.EMAIL.value,)

    def accepts(self, address: str) -> bool:
        return address.strip().lower() in self.support

    async def accept(self, raw: bytes, source: str) -> int:
        """Keep the mail as it came; returns its inbox id (the same one for the same bytes)."""
        digest = await self.blobs.put(raw)
        try:
            async with self.db.begin() as conn:
                return (
                    await conn.execute(
                        insert(mail_inbox)
                        .values(
                            sha256=digest,
                            size=len(raw),
                            source=source[:200],
                            status="new",
                            reason="",
                            received_at=now(),
                        )
                        .returning(mail_inbox.c.id)
                    )
                ).scalar_one()
        except IntegrityError:  # the very same bytes again (a client retrying after a timeout)
            async with self.db.connect() as conn:
                return (
                    await conn.execute(select(mail_inbox.c.id).where(mail_inbox.c.sha256 == digest))
                ).scalar_one()

    async def process_waiting(self) -> int:
        """Process every mail stored but not yet processed (after a crash or restart)."""
        async with self.db.connect() as conn:
            ids = (
                await conn.execute(
                    select(mail_inbox.c.id).where(mail_inbox.c.status == "new").order_by("id")
                )
            ).scalars().all()  # fmt: skip
        for inbox_id in ids:
            await self.process(inbox_id)
        return len(ids)

    async def process(self, inbox_id: int) -> int | None:
        """Read a stored mail into its interaction; returns the interaction's id, or None when
        the mail is quarantined without one."""
        async with self.db.connect() as conn:
            row = (await conn.execute(select(mail_inbox).where(mail_inbox.c.id == inbox_id))).one()
        if row.status != "new":
            return row.interaction_id
        parsed = parse_mail(await self.blobs.get(row.sha256))
        log_ = log.bind(inbox_id=inbox_id, message_id=parsed.message_id)
        async with self.db.connect() as conn:
            earlier = (
                await conn.execute(
                    select(mail_inbox.c.interaction_id).where(
                        mail_inbox.c.message_id == parsed.message_id[:998],
                        mail_inbox.c.status != "new",
                        mail_inbox.c.id != inbox_id,
                    )
                )
            ).first()
        if earlier is not None:  # the same mail by another way in (SMTP and IMAP both)
            await self._record(inbox_id, parsed, Received(earlier.interaction_id, "", []),
                               note="duplicate")  # fmt: skip
            return earlier.interaction_id
        gateway = self.fax.gateways.of(parsed) if self.fax is not None else None
        if gateway is not None and self.fax is not None:
            received = await self.fax.receive(parsed, gateway)
        else:
            received = await self._receive(parsed)
        await self._record(inbox_id, parsed, received)
        if received.problems:
            log_.warning("email.quarantined", interaction_id=received.interaction_id,
                         reason="; ".join(received.problems))  # fmt: skip
        log_.info("email.received", interaction_id=received.interaction_id,
                  customer_id=received.customer_id, fax=gateway is not None)  # fmt: skip
        return received.interaction_id

    async def _receive(self, parsed: ParsedMail) -> Received:
        """A mail into its thread's interaction, or a new one in the queue (acknowledged)."""
        if parsed.sender is None:
            return Received(None, parsed.new_text, parsed.problems)
        try:
            customer = (await self.customers.resolve(IdentityKind.EMAIL, parsed.sender)).customer
        except Invalid as exc:
            return Received(None, parsed.new_text, [*parsed.problems, f"sender: {exc.message}"])
        thread = await self._thread(parsed)
        if thread is not None and not InteractionStatus(thread.status).is_final:
            return Received(thread.id, parsed.new_text, parsed.problems, customer_id=customer.id)
        follows = {} if thread is None else self._follow_up(thread)
        interaction_id = await self.queue.enqueue(
            customer, Channel.EMAIL, subject=TOKEN.sub("", parsed.subject).strip()[:500],
            attributes={"message_id": parsed.message_id, **follows},
            external_ref=parsed.message_id[:200],
        )  # fmt: skip
        if thread is not None:
            await self._link(interaction_id, thread.id)
        await self._acknowledge(parsed, customer, interaction_id)
        return Received(interaction_id, parsed.new_text, parsed.problems, customer_id=customer.id)

    async def _acknowledge(
        self, parsed: ParsedMail, customer: Customer, interaction_id: int
    ) -> None:
        """Tell the sender we have their mail, unless that could feed a mail loop: mail that
        says not to be answered (RFC 3834), or a sender acknowledged within `ack_period`."""
        reason = parsed.do_not_answer
        if reason is None and parsed.sender is not None:
            async with self.db.connect() as conn:
                recent = (
                    await conn.execute(
                        select(outbox.c.id).where(
                            outbox.c.recipient == parsed.sender, outbox.c.kind == "ack",
                            outbox.c.created_at >= now() - self.ack_period,
                        ).limit(1)
                    )
                ).first()  # fmt: skip
            if recent is not None:
                reason = "acknowledged within the last period"
        if reason is not None:
            log.info("email.not_acknowledged", interaction_id=interaction_id, reason=reason)
            return
        sla = self.queue.policy.sla(customer.tier.value, Channel.EMAIL.value)
        message = acknowledgement(
            self.answer_from, parsed, interaction_id, sla.seconds if sla else None
        )
        await self.outbox.put(message, "ack", interaction_id)

    async def reply(self, interaction_id: int, agent_id: int, body: str) -> int:
        """An agent's answer: sent from the support address on the thread of the customer's
        latest mail, kept in the outbox until delivered, and on the timeline as the agent's
        message; the first one stops the interaction's response clock."""
        self.queue.check_held(interaction_id, agent_id)
        interaction = await self.interactions.get(interaction_id)
        if interaction["channel"] != Channel.EMAIL.value:
            raise Conflict(f"interaction {interaction_id} is not an email", "channel")
        latest = await self._latest_mail(interaction_id)
        if latest is None or latest.sender is None:
            raise Conflict(f"interaction {interaction_id} has no mail with a sender to answer")
        message = answer(self.answer_from, latest.sender, interaction["subject"] or latest.subject,
                         interaction_id, latest)  # fmt: skip
        message.set_content(body)
        await self.outbox.put(message, "reply", interaction_id)
        message_id = await self.interactions.add_message(
            interaction_id, body, direction=Direction.OUTBOUND, author=Initiator.AGENT,
            agent_id=agent_id, external_id=str(message["Message-ID"]).strip("<>"),
        )  # fmt: skip
        await self.queue.responded(interaction_id)
        return message_id

    async def _latest_mail(self, interaction_id: int) -> ParsedMail | None:
        """The customer's latest mail on the interaction, read again from the inbox."""
        async with self.db.connect() as conn:
            digest = (
                await conn.execute(
                    select(mail_inbox.c.sha256)
                    .join(messages, messages.c.external_id == mail_inbox.c.message_id)
                    .where(messages.c.interaction_id == interaction_id,
                           messages.c.direction == Direction.INBOUND.value)
                    .order_by(messages.c.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()  # fmt: skip
        return None if digest is None else parse_mail(await self.blobs.get(digest))

    async def _thread(self, parsed: ParsedMail) -> Row[Any] | None:
        """The interaction this mail answers (id, status, agent_id, ended_at), if any."""
        ids = [i[:998] for i in parsed.headers_for_threading()]
        columns = (interactions.c.id, interactions.c.status, interactions.c.agent_id,
                   interactions.c.ended_at)  # fmt: skip
        async with self.db.connect() as conn:
            if ids:
                found = (
                    await conn.execute(
                        select(*columns)
                        .join(messages, messages.c.interaction_id == interactions.c.id)
                        .where(messages.c.external_id.in_(ids))
                        .order_by(interactions.c.id.desc())
                        .limit(1)
                    )
                ).first()
                if found is not None:
                    return found
            token = TOKEN.search(parsed.subject)
            if token:
                return (
                    await conn.execute(
                        select(*columns).where(
                            interactions.c.id == int(token.group(1)),
                            interactions.c.channel.in_(self.channels),
                        )
                    )
                ).first()
        return None

    def _follow_up(self, thread: Row[Any]) -> dict[str, Any]:
        """What a new interaction keeps of the closed thread it follows: the link, and the
        agent who handled it while the thread is recent (within `follow_up_period`)."""
        attributes: dict[str, Any] = {"follows": thread.id}
        recent = thread.ended_at is None or thread.ended_at >= now() - self.follow_up_period
        if recent and thread.agent_id is not None:
            attributes["previous_agent"] = thread.agent_id
        return attributes

    async def _link(self, interaction_id: int, earlier: int) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                update(interactions)
                .where(interactions.c.id == interaction_id)
                .values(linked_interaction_id=earlier)
            )

    async def _record(
        self, inbox_id: int, parsed: ParsedMail, received: Received, note: str = ""
    ) -> None:
        """In one transaction: the mail on its interaction's timeline (text, attachments, and
        documents' pages) and the stored mail marked processed, quarantined with its problems
        if it had any. A crash before it leaves the mail to be processed again at start."""
        interaction_id = received.interaction_id
        problems = "; ".join(received.problems)
        async with self.db.begin() as conn:
            if interaction_id is not None and not note:
                message_id = await self.interactions.add_message(
                    interaction_id, received.body, direction=Direction.INBOUND,
                    author=Initiator.CUSTOMER, external_id=parsed.message_id[:998], conn=conn,
                )  # fmt: skip
                for index, attachment in enumerate(parsed.attachments):
                    document = received.documents.get(index)
                    attachment_id = await self.interactions.add_attachment(
                        interaction_id, attachment.filename, attachment.content_type,
                        attachment.data, message_id=message_id, conn=conn,
                        pages=document.pages if document and not document.problem else None,
                    )  # fmt: skip
                    if document is not None and self.fax is not None:
                        await self.fax.previews.add(attachment_id, document.previews, conn)
            await conn.execute(
                update(mail_inbox)
                .where(mail_inbox.c.id == inbox_id)
                .values(
                    status="quarantined" if problems else "done", reason=problems or note,
                    interaction_id=interaction_id, message_id=parsed.message_id[:998],
                    processed_at=now(),
                )
            )  # fmt: skip
