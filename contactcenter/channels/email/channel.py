"""The email channel: every mail kept as it came, then read into the one queue; agents' answers.

`accept` stores the raw bytes (blob store) and a `mail_inbox` row in one step; only then does
the SMTP receiver answer 250. `process` reads a stored mail into its interaction
(`intake.py`, many mails at a time): the sender resolves to the customer by their email
identity, the mail joins its thread or opens a new email interaction in the queue, and the sender
gets an acknowledgement. A mail that cannot be used as it is (no sender, broken MIME) is
quarantined with its reason, and still becomes an interaction when a sender can be found. Mail
from a fax gateway goes to the fax channel instead (`channels/fax/`). A mail processed once is
never processed again; a mail stored but not yet processed is processed at start.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import structlog
from sqlalchemy import select

from contactcenter.channels.email.intake import MailIntake
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict
from contactcenter.events import EventBus
from contactcenter.interactions.records import InteractionRecords
from contactcenter.mail.claims import MailClaimant
from contactcenter.mail.compose import answer, reply_address, written
from contactcenter.mail.outbox import Outbox
from contactcenter.mail.parse import ParsedMail
from contactcenter.mail.reader import MailReader
from contactcenter.model import Channel, Direction, IdentityKind, Initiator
from contactcenter.queue.core import InteractionQueue
from contactcenter.runtime.batches import Batches
from contactcenter.runtime.clock import now
from contactcenter.store.blobs import BlobStore
from contactcenter.store.bulk import insert_rows
from contactcenter.store.db import Database
from contactcenter.store.tables import mail_inbox

log = structlog.get_logger(__name__)


class EmailChannel:
    def __init__(
        self,
        *,
        db: Database,
        blobs: BlobStore,
        customers: CustomerRecords,
        interactions: InteractionRecords,
        queue: InteractionQueue,
        bus: EventBus,
        support: list[str],
        outbox: Outbox,
        ack_period: timedelta = timedelta(hours=1),
        follow_up_period: timedelta = timedelta(days=7),
        claimants: Sequence[MailClaimant] = (),
        reader: MailReader | None = None,
    ) -> None:
        self.db = db
        self.customers = customers
        self.reader = reader or MailReader()
        self.blobs = blobs
        self.interactions = interactions
        self.queue = queue
        self.support = frozenset(support)
        self.answer_from = reply_address(support)
        self.outbox = outbox
        self.intake = MailIntake(
            db=db,
            blobs=blobs,
            customers=customers,
            queue=queue,
            bus=bus,
            outbox=outbox,
            claimants=claimants,
            answer_from=self.answer_from,
            ack_period=ack_period,
            follow_up_period=follow_up_period,
            reader=self.reader,
            support=self.support,
            interactions=interactions,
        )
        self._stored: Batches[tuple[str, int, str], int] = Batches(self._store, name="email-store")
        self._batches: Batches[int, int | None] = Batches(
            self.intake.process_many, name="email-intake"
        )

    def accepts(self, address: str) -> bool:
        return address.strip().lower() in self.support

    async def accept(self, raw: bytes, source: str) -> int:
        """Keep the mail as it came; returns its inbox id (the same one for the same bytes).
        Mails accepted together are written in one transaction."""
        digest = await self.blobs.put(raw)
        self.intake.remember(digest, raw)
        return await self._stored.submit((digest, len(raw), source[:200]))

    async def _store(self, mails: list[tuple[str, int, str]]) -> dict[tuple[str, int, str], int]:
        """Inbox rows for stored bytes (digest, size, source); bytes stored before (a client
        retrying after a timeout) keep their row."""
        digests = list({digest for digest, _, _ in mails})
        at = now()
        async with self.db.begin() as conn:
            found = await conn.execute(
                select(mail_inbox.c.sha256, mail_inbox.c.id).where(mail_inbox.c.sha256.in_(digests))
            )
            ids = {digest: inbox_id for digest, inbox_id in found}
            new = {digest: (size, source) for digest, size, source in mails if digest not in ids}
            made = await insert_rows(
                conn,
                mail_inbox,
                ["sha256", "size", "source", "status", "reason", "received_at"],
                [(digest, size, source, "new", "", at) for digest, (size, source) in new.items()],
                return_ids=True,
            )
        ids |= dict(zip(new, made, strict=True))
        return {mail: ids[mail[0]] for mail in mails}

    async def start(self) -> None:
        """The mail readers started; then every mail stored but not yet processed read."""
        await self.reader.start()
        await self.process_waiting()

    async def process_waiting(self) -> int:
        """Process every mail stored but not yet processed (after a crash or restart)."""
        async with self.db.connect() as conn:
            ids = (
                (
                    await conn.execute(
                        select(mail_inbox.c.id).where(mail_inbox.c.status == "new").order_by("id")
                    )
                )
                .scalars()
                .all()
            )
        for start in range(0, len(ids), self._batches.most):
            await self.intake.process_many(list(ids[start : start + self._batches.most]))
        return len(ids)

    async def process(self, inbox_id: int) -> int | None:
        """Read a stored mail into its interaction, together with the mails stored meanwhile;
        returns the interaction's id, or None when the mail is quarantined without one."""
        return await self._batches.submit(inbox_id)

    async def reply(self, interaction_id: int, agent_id: int, body: str) -> int:
        """An agent's answer: sent from the support address on the thread of the customer's
        latest mail, kept in the outbox until delivered, and on the timeline as the agent's
        message; the first one stops the interaction's response clock."""
        self.queue.check_held(interaction_id, agent_id)
        interaction = await self.interactions.get(interaction_id)
        if interaction["channel"] != Channel.EMAIL.value:
            raise Conflict(f"interaction {interaction_id} is not an email", "channel")
        latest = await self._latest_mail(interaction_id, interaction["customer_id"])
        if latest is None or latest.sender is None:
            raise Conflict(f"interaction {interaction_id} has no mail from its customer to answer")
        message = answer(
            self.answer_from,
            latest.sender,
            interaction["subject"] or latest.subject,
            interaction_id,
            latest,
        )
        message.set_content(body)
        await self.outbox.put(message, "reply", interaction_id)
        message_id = await self.interactions.add_message(
            interaction_id,
            body,
            direction=Direction.OUTBOUND,
            author=Initiator.AGENT,
            agent_id=agent_id,
            external_id=written(message, "Message-ID").strip("<>"),
        )
        await self.queue.responded(interaction_id)
        return message_id

    async def _latest_mail(self, interaction_id: int, customer_id: int) -> ParsedMail | None:
        """The latest mail on the interaction from one of its customer's own addresses, read
        again from the inbox: an answer goes to the customer, never to whoever wrote last."""
        addresses = {
            i.value
            for i in (await self.customers.get(customer_id)).identities
            if i.kind == IdentityKind.EMAIL
        }
        async with self.db.connect() as conn:
            digests = (
                (
                    await conn.execute(
                        select(mail_inbox.c.sha256)
                        .where(
                            mail_inbox.c.interaction_id == interaction_id,
                            mail_inbox.c.status != "new",
                        )
                        .order_by(mail_inbox.c.id.desc())
                        .limit(20)
                    )
                )
                .scalars()
                .all()
            )
        for digest in digests:
            mail = await self.reader.read(await self.blobs.get(digest))
            if mail.sender in addresses:
                return mail
        return None
