"""Stored mails read into the queue, many at a time.

The SMTP receiver, the IMAP poller and the start-up pass all hand stored mails here; mails that
arrive together are processed together (`Batches`), so that each step costs one statement for
the whole batch: the senders resolved to their customers, the threads looked up, the new
interactions queued (the queue's own group commit), the acknowledgements put in the outbox, and
every mail's message, attachments and inbox row written in one transaction. A mail that answers
another of the same batch waits for the next pass, so that threads hold as if one at a time.

Threading: a mail answering one of ours or another on an open interaction (In-Reply-To /
References, or the `[#CC-<id>]` token in its subject) joins that interaction. A mail answering a
closed thread opens a new interaction linked to the closed one; within `follow_up_period` of the
close it goes first to the agent who handled that thread (the policy's
`offers.previous_agent_seconds`), later it routes as any new mail.

Only the thread's own customer joins it: a mail whose sender is not an identity of that
interaction's customer (anyone can type `[#CC-6]`, and ids are sequential) opens an interaction
of its own, linked to the thread and flagged `claims_thread` for the agent, and never takes the
place of the customer's address. A colleague on Cc who answers is such a sender too: their mail
reaches the queue beside the thread, and an agent can merge the two customers if they are one.

Duplicates: a mail whose Message-ID was seen before is the same mail (by SMTP and IMAP, or a
retry) only when what the sender wrote is the same (`ParsedMail.content_digest`); a mail that
reuses a Message-ID with other content is processed as a mail of its own.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Row, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from contactcenter.channels.email.recording import record_mails
from contactcenter.channels.email.stored_mail import StoredMail
from contactcenter.channels.email.threads import TOKEN, MailThreads
from contactcenter.customers.records import CustomerRecords
from contactcenter.customers.resolve import resolve_many
from contactcenter.errors import Invalid
from contactcenter.events import EventBus, InteractionMessage
from contactcenter.interactions.records import InteractionRecords
from contactcenter.mail.claims import MailClaimant, Received
from contactcenter.mail.compose import acknowledgement
from contactcenter.mail.outbox import Outbox
from contactcenter.mail.reader import MailReader
from contactcenter.model import Channel, IdentityKind
from contactcenter.model import InteractionStatus as S
from contactcenter.queue.core import InteractionQueue
from contactcenter.runtime.clock import now
from contactcenter.store.blobs import BlobStore
from contactcenter.store.db import Database
from contactcenter.store.tables import mail_inbox, outbox
from workflows.acknowledgement import why_not_acknowledged

log = structlog.get_logger(__name__)
_FRESH = 500  # mails' bytes kept between storing and reading them


class MailIntake:
    def __init__(
        self,
        *,
        db: Database,
        blobs: BlobStore,
        customers: CustomerRecords,
        queue: InteractionQueue,
        bus: EventBus,
        outbox: Outbox,
        claimants: Sequence[MailClaimant],
        answer_from: str,
        ack_period: timedelta,
        follow_up_period: timedelta,
        reader: MailReader,
        support: frozenset[str],
        interactions: InteractionRecords,
    ) -> None:
        self.db, self.blobs, self.customers, self.queue = db, blobs, customers, queue
        self.reader = reader
        self.threads = MailThreads(db=db)
        self.bus = bus
        self.support = support  # our own addresses: never acknowledged
        self.interactions = interactions
        self.outbox, self.claimants, self.answer_from = outbox, list(claimants), answer_from
        self.ack_period, self.follow_up_period = ack_period, follow_up_period
        # Bytes just stored, by digest, so that a mail read at once is not read back from disk.
        self._fresh: OrderedDict[str, bytes] = OrderedDict()

    def remember(self, digest: str, raw: bytes) -> None:
        self._fresh[digest] = raw
        while len(self._fresh) > _FRESH:
            self._fresh.popitem(last=False)

    async def _bytes(self, digest: str) -> bytes:
        raw = self._fresh.pop(digest, None)
        return raw if raw is not None else await self.blobs.get(digest)

    async def process_many(self, inbox_ids: list[int]) -> dict[int, int | None]:
        """Each stored mail's interaction (None: quarantined without one); a mail processed
        before keeps the interaction it had. Never raises for a mail: when a batch fails, each
        of its mails is processed alone, and one that fails alone is quarantined with the
        reason, so that one bad mail neither stops the others nor the next start. Only a
        database that cannot be reached raises, leaving the mails to be processed later."""
        try:
            return await self._process(inbox_ids)
        except _UNREACHABLE:
            raise
        except Exception as exc:
            if len(inbox_ids) > 1:
                results: dict[int, int | None] = {}
                for inbox_id in inbox_ids:
                    results |= await self.process_many([inbox_id])
                return results
            log.exception("email.process_failed", inbox_id=inbox_ids[0])
            await self._quarantine(inbox_ids[0], f"could not be processed: {_reason(exc)}")
            return {inbox_ids[0]: None}

    async def _quarantine(self, inbox_id: int, reason: str) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                update(mail_inbox)
                .where(mail_inbox.c.id == inbox_id, mail_inbox.c.status == "new")
                .values(status="quarantined", reason=reason, processed_at=now())
            )
        log.warning("email.quarantined", inbox_id=inbox_id, reason=reason)

    async def _process(self, inbox_ids: list[int]) -> dict[int, int | None]:
        async with self.db.connect() as conn:
            found = await conn.execute(select(mail_inbox).where(mail_inbox.c.id.in_(inbox_ids)))
            rows = found.all()
        results = {row.id: row.interaction_id for row in rows if row.status != "new"}
        fresh = [row for row in rows if row.status == "new"]
        raws = await asyncio.gather(*(self._bytes(row.sha256) for row in fresh))
        parsed = await self.reader.read_many(list(raws))
        waiting = [StoredMail(row.id, mail) for row, mail in zip(fresh, parsed, strict=True)]
        while waiting:
            now_, waiting = _split(waiting)
            await self._pass(now_)
            results |= {mail.inbox_id: mail.result.interaction_id for mail in now_}
        return results

    async def _pass(self, mails: list[StoredMail]) -> None:
        earlier = await self.threads.earlier([m.message_id for m in mails])
        emails: list[StoredMail] = []
        for mail in mails:
            claimant = next((c for c in self.claimants if c.claims(mail.parsed)), None)
            seen = earlier.get(mail.message_id, {})
            # "" is a mail read before its content was kept (migration 0012): the same mail.
            same = next((d for d in (mail.parsed.content_digest, "") if d in seen), None)
            if same is not None:  # the same mail by another way in (SMTP and IMAP), or again
                mail.received = Received(seen[same], "", [], note="duplicate")
            elif claimant is not None:
                mail.claimant = claimant
                mail.received = await claimant.receive(mail.parsed)
            else:
                mail.reused_id = bool(seen)
                emails.append(mail)
        await self._receive(emails)
        await record_mails(
            db=self.db, blobs=self.blobs, interactions=self.interactions, mails=mails
        )
        for mail in mails:
            received = mail.result
            bound = log.bind(
                inbox_id=mail.inbox_id,
                message_id=mail.parsed.message_id,
                interaction_id=received.interaction_id,
            )
            if received.problems:
                bound.warning("email.quarantined", reason="; ".join(received.problems))
            bound.info("email.received", customer_id=received.customer_id, note=received.note)
            if received.interaction_id is not None and not received.note:
                # On the timeline now: what reads an interaction's messages may read this one.
                self.bus.publish(
                    InteractionMessage(
                        interaction_id=received.interaction_id,
                        customer_id=received.customer_id,
                    )
                )

    async def _receive(self, mails: list[StoredMail]) -> None:
        """Senders to customers; each mail into its thread's interaction or a new one."""
        sent = [m for m in mails if m.parsed.sender is not None]
        for mail in mails:
            if mail.parsed.sender is None:
                mail.received = Received(None, mail.parsed.new_text, mail.parsed.problems)
        found = await resolve_many(
            self.customers, IdentityKind.EMAIL, [m.parsed.sender or "" for m in sent]
        )
        known: list[StoredMail] = []
        for mail, resolution in zip(sent, found, strict=True):
            if isinstance(resolution, Invalid):
                problems = [*mail.parsed.problems, f"sender: {resolution.message}"]
                mail.received = Received(None, mail.parsed.new_text, problems)
            else:
                mail.customer = resolution.customer
                known.append(mail)
        await self._name_customers(known)
        threads = await self.threads.answered({m.inbox_id: m.parsed for m in known})
        opening: list[tuple[StoredMail, Row[Any] | None]] = []
        for mail in known:
            thread = threads.get(mail.inbox_id)
            assert mail.customer is not None
            if thread is not None and thread.customer_id != mail.customer.id:
                log.warning(
                    "email.thread_claimed",
                    inbox_id=mail.inbox_id,
                    thread=thread.id,
                    sender=mail.parsed.sender,
                )
                opening.append((mail, thread))
            elif thread is not None and not S(thread.status).is_final:
                mail.received = self._received(mail, thread.id)
            else:
                opening.append((mail, thread))
        ids = await asyncio.gather(*(self._open(mail, thread) for mail, thread in opening))
        for (mail, _), interaction_id in zip(opening, ids, strict=True):
            mail.received = self._received(mail, interaction_id)
        await self._acknowledge([mail for mail, _ in opening])

    async def _name_customers(self, mails: list[StoredMail]) -> None:
        """The From header's display name saved on unverified customers that have none."""
        names: dict[int, str] = {}
        for mail in mails:
            name = " ".join(mail.parsed.sender_name.split())[:200]
            customer = mail.customer
            if customer is None or not name or "@" in name or customer.name or customer.verified:
                continue
            names.setdefault(customer.id, name)
            mail.customer = replace(customer, name=names[customer.id])
        await self.customers.name_unnamed(names)

    def _received(self, mail: StoredMail, interaction_id: int) -> Received:
        customer_id = mail.customer.id if mail.customer else None
        return Received(
            interaction_id, mail.parsed.new_text, mail.parsed.problems, customer_id=customer_id
        )

    async def _open(self, mail: StoredMail, thread: Row[Any] | None) -> int:
        assert mail.customer is not None
        follows: dict[str, Any] = {}
        if thread is not None and thread.customer_id != mail.customer.id:
            follows["claims_thread"] = thread.id  # a stranger's mail naming another's thread
        elif thread is not None:
            follows["follows"] = thread.id
            recent = thread.ended_at is None or thread.ended_at >= now() - self.follow_up_period
            if recent and thread.agent_id is not None:
                follows["previous_agent"] = thread.agent_id
        interaction_id = await self.queue.enqueue(
            mail.customer,
            Channel.EMAIL,
            subject=TOKEN.sub("", mail.parsed.subject).strip()[:500],
            attributes={"message_id": mail.parsed.message_id, **follows},
            external_ref=mail.external_ref,
        )
        if thread is not None:
            await self.interactions.link(interaction_id, thread.id)
        return interaction_id

    async def _acknowledge(self, mails: list[StoredMail]) -> None:
        """Tell each sender we have their mail, unless that could feed a mail loop: mail that
        says not to be answered (RFC 3834), or a sender acknowledged within `ack_period` (or
        already in this batch)."""
        senders = list({m.parsed.sender for m in mails if m.parsed.do_not_answer is None})
        acknowledged: set[str | None] = set()
        if senders:
            async with self.db.connect() as conn:
                recent = await conn.execute(
                    select(outbox.c.recipient).where(
                        outbox.c.recipient.in_(senders),
                        outbox.c.kind == "ack",
                        outbox.c.created_at >= now() - self.ack_period,
                    )
                )
                acknowledged = set(recent.scalars())
        acks = []
        for mail in mails:
            assert mail.customer is not None
            interaction_id = mail.result.interaction_id
            assert interaction_id is not None
            reason = why_not_acknowledged(
                do_not_answer=mail.parsed.do_not_answer,
                sender=mail.parsed.sender,
                support=self.support,
                acknowledged=acknowledged,
            )
            if reason is not None:
                log.info("email.not_acknowledged", interaction_id=interaction_id, reason=reason)
                continue
            acknowledged.add(mail.parsed.sender)
            sla = self.queue.policy.sla(mail.customer.tier.value, Channel.EMAIL.value)
            message = acknowledgement(
                self.answer_from, mail.parsed, interaction_id, sla.seconds if sla else None
            )
            acks.append((message, "ack", interaction_id))
        await self.outbox.put_many(acks)


# Failures that say nothing of the mail: the database is away. The mail stays `new`.
_UNREACHABLE = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def _reason(exc: Exception) -> str:
    """The error in a line: the database's own words rather than the statement it ran."""
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _split(mails: list[StoredMail]) -> tuple[list[StoredMail], list[StoredMail]]:
    """The mails to process now, and those that answer (or repeat) one of them, for after."""
    now_: list[StoredMail] = []
    later: list[StoredMail] = []
    seen: set[str] = set()
    for mail in mails:
        refs = {mail.message_id, *(r[:998] for r in mail.parsed.headers_for_threading())}
        if refs & seen:
            later.append(mail)
        else:
            now_.append(mail)
            seen.add(mail.message_id)
    return now_, later
