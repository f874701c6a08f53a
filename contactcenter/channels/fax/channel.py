"""The fax channel: faxes that arrive as mail from a fax-to-email gateway, and faxes sent back
through the gateway's email-to-fax address.

The email channel hands over every stored mail that a configured gateway sent (`claims`, as
`mail/claims.py`'s `MailClaimant`).
A fax needs the sender's number (found by the gateway's pattern, resolved by the customer's fax
identity) and a PDF or TIFF document; it becomes a `fax` interaction in the one queue with its
page count and a PNG preview of each page. A document that cannot be read still makes the
interaction (the agent can open the file) and quarantines the mail with the reason; gateway mail
without a document (a delivery report) or without a number is quarantined without one.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.channels.fax.documents import (
    Document,
    DocumentKind,
    kind_of,
    read_document_async,
)
from contactcenter.channels.fax.gateways import Gateways
from contactcenter.channels.fax.page_previews import PagePreviews
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict, Invalid
from contactcenter.interactions.records import InteractionRecords
from contactcenter.mail.claims import ReadDocument, Received
from contactcenter.mail.compose import build, subject_token, written
from contactcenter.mail.outbox import Outbox
from contactcenter.mail.parse import ParsedMail
from contactcenter.model import Channel, Direction, IdentityKind, Initiator
from contactcenter.queue.core import InteractionQueue
from contactcenter.store.db import Database

log = structlog.get_logger(__name__)
_MIME = {DocumentKind.PDF: ("application", "pdf"), DocumentKind.TIFF: ("image", "tiff")}


class FaxChannel:
    def __init__(
        self,
        *,
        db: Database,
        customers: CustomerRecords,
        interactions: InteractionRecords,
        queue: InteractionQueue,
        gateways: Gateways,
        outbox: Outbox,
        previews: PagePreviews,
        send_from: str,
    ) -> None:
        self.db = db
        self.customers = customers
        self.interactions = interactions
        self.queue = queue
        self.gateways = gateways
        self.outbox = outbox
        self.previews = previews
        self.send_from = send_from

    def claims(self, mail: ParsedMail) -> bool:
        """Whether a configured gateway sent this mail (then it is a fax, not an email)."""
        return self.gateways.of(mail) is not None

    async def keep_pages(
        self, attachment_id: int, document: ReadDocument, conn: AsyncConnection
    ) -> None:
        """A stored fax document's page images, in the email channel's transaction."""
        if isinstance(document, Document):
            await self.previews.add(attachment_id, document.previews, conn)

    async def receive(self, mail: ParsedMail) -> Received:
        """A gateway's mail into a fax interaction; nothing is stored here but the interaction
        (the email channel records the message, documents and previews in one transaction)."""
        gateway = self.gateways.of(mail)
        if gateway is None:
            return Received(None, mail.new_text, [*mail.problems, "not from a fax gateway"])
        problems = list(mail.problems)
        found = [
            (i, kind_of(a.data, a.content_type, a.filename)) for i, a in enumerate(mail.attachments)
        ]
        documents = [(i, kind) for i, kind in found if kind is not None]
        if not documents:
            why = f"mail from fax gateway {gateway.name} without a PDF or TIFF document"
            return Received(None, mail.new_text, [*problems, why])
        raw = gateway.number_in(mail)
        if raw is None:
            why = f"no sender's fax number in the subject or body ({gateway.name}'s pattern)"
            return Received(None, mail.new_text, [*problems, why])
        try:
            resolution = await self.customers.resolve(IdentityKind.FAX, raw)
        except Invalid as exc:
            return Received(None, mail.new_text, [*problems, f"fax number {raw!r}: {exc.message}"])
        read = {
            i: await read_document_async(mail.attachments[i].data, kind) for i, kind in documents
        }
        problems += [
            f"{mail.attachments[i].filename}: {d.problem}" for i, d in read.items() if d.problem
        ]
        pages = sum(d.pages for d in read.values())
        number = resolution.identity.value
        interaction_id = await self.queue.enqueue(
            resolution.customer,
            Channel.FAX,
            subject=f"Fax from {number}",
            attributes={
                "gateway": gateway.name,
                "fax_number": number,
                "pages": pages,
                "message_id": mail.message_id,
            },
            external_ref=mail.message_id[:200],
        )
        log.info(
            "fax.received",
            interaction_id=interaction_id,
            customer_id=resolution.customer.id,
            pages=pages,
        )
        body = f"Fax from {number}, {pages} page{'s' if pages != 1 else ''}."
        return Received(interaction_id, body, problems, read, resolution.customer.id)

    async def send(
        self, interaction_id: int, agent_id: int, filename: str, data: bytes, note: str = ""
    ) -> int:
        """An agent's answer to a fax: the document mailed to the gateway's email-to-fax
        address for the customer's number, kept in the outbox until the relay takes it, and
        on the timeline as the agent's message with the document."""
        self.queue.check_held(interaction_id, agent_id)
        interaction = await self.interactions.get(interaction_id)
        if interaction["channel"] != Channel.FAX.value:
            raise Conflict(f"interaction {interaction_id} is not a fax", "channel")
        attributes = interaction["attributes"]
        gateway = self.gateways.named(attributes.get("gateway", ""))
        if gateway is None:
            raise Conflict(f"fax gateway {attributes.get('gateway')!r} is no longer configured")
        kind = kind_of(data, filename=filename)
        if kind is None:
            raise Invalid("the document must be a PDF or a TIFF", "document")
        document = await read_document_async(data, kind)
        if document.problem:
            raise Invalid(f"{filename}: {document.problem}", "document")
        message = self._fax_mail(
            gateway.address_for(attributes["fax_number"]),
            interaction_id,
            filename,
            data,
            kind,
            note,
        )
        await self.outbox.put(message, "fax", interaction_id)
        async with self.db.begin() as conn:
            message_id = await self.interactions.add_message(
                interaction_id,
                note or f"Fax sent: {filename}, {document.pages} pages.",
                direction=Direction.OUTBOUND,
                author=Initiator.AGENT,
                agent_id=agent_id,
                external_id=written(message, "Message-ID").strip("<>"),
                conn=conn,
            )
            attachment_id = await self.interactions.add_attachment(
                interaction_id,
                filename,
                "/".join(_MIME[kind]),
                data,
                message_id=message_id,
                pages=document.pages,
                conn=conn,
            )
            await self.previews.add(attachment_id, document.previews, conn)
        await self.queue.responded(interaction_id)
        log.info("fax.sent", interaction_id=interaction_id, pages=document.pages)
        return message_id

    def _fax_mail(
        self,
        to: str,
        interaction_id: int,
        filename: str,
        data: bytes,
        kind: DocumentKind,
        note: str,
    ) -> EmailMessage:
        message = build(
            {
                "From": self.send_from,
                "To": to,
                "Subject": f"Fax {subject_token(interaction_id)}",
                "Date": formatdate(localtime=False),
                "Message-ID": make_msgid(domain=self.send_from.rsplit("@", 1)[-1]),
            }
        )
        message.set_content(note or "")  # most gateways print the text on the cover page
        maintype, subtype = _MIME[kind]
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        return message
