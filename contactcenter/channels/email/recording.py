"""Stored mails onto their interactions' timelines, in one transaction: each mail's text, its
attachments and their pages, and the inbox row marked processed (quarantined with its problems
if it had any). A crash before the commit leaves the mails to be processed again at start."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import bindparam, update

from contactcenter.channels.email.stored_mail import StoredMail
from contactcenter.interactions.records import InteractionRecords, NewMessage
from contactcenter.model import Direction, Initiator
from contactcenter.runtime.clock import now
from contactcenter.store.blobs import BlobStore
from contactcenter.store.bulk import insert_rows
from contactcenter.store.db import Database
from contactcenter.store.tables import attachments, mail_inbox


async def record_mails(
    *, db: Database, blobs: BlobStore, interactions: InteractionRecords, mails: list[StoredMail]
) -> None:
    """In one transaction: each mail on its interaction's timeline (text, attachments, and
    documents' pages) and its stored mail marked processed, quarantined with its problems
    if it had any. A crash before it leaves the mails to be processed again at start."""
    on_timeline = [m for m in mails if m.result.interaction_id is not None and not m.result.note]
    files = [(m, i, a) for m in on_timeline for i, a in enumerate(m.parsed.attachments)]
    digests = await asyncio.gather(*(blobs.put(a.data) for _, _, a in files))
    at = now()
    async with db.begin() as conn:
        message_ids = await interactions.add_messages(
            [
                NewMessage(
                    interaction_id=m.result.interaction_id,
                    body=m.result.body,
                    direction=Direction.INBOUND,
                    author=Initiator.CUSTOMER,
                    external_id=m.message_id,
                    at=at,
                )
                for m in on_timeline
                if m.result.interaction_id is not None
            ],
            conn=conn,
        )
        message_of = {m.inbox_id: mid for m, mid in zip(on_timeline, message_ids, strict=True)}
        rows = []
        for (mail, index, attachment), digest in zip(files, digests, strict=True):
            document = mail.result.documents.get(index)
            pages = document.pages if document and not document.problem else None
            rows.append(
                (
                    mail.result.interaction_id,
                    message_of[mail.inbox_id],
                    attachment.filename,
                    attachment.content_type,
                    len(attachment.data),
                    digest,
                    at,
                    pages,
                )
            )
        attachment_ids = await insert_rows(
            conn,
            attachments,
            [
                "interaction_id",
                "message_id",
                "filename",
                "content_type",
                "size",
                "sha256",
                "created_at",
                "pages",
            ],
            rows,
            return_ids=True,
        )
        for (mail, index, _), attachment_id in zip(files, attachment_ids, strict=True):
            document = mail.result.documents.get(index)
            if document is not None and mail.claimant is not None:
                await mail.claimant.keep_pages(attachment_id, document, conn)
        await conn.execute(
            update(mail_inbox)
            .where(mail_inbox.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                reason=bindparam("b_reason"),
                interaction_id=bindparam("b_interaction"),
                message_id=bindparam("b_message"),
                content_sha256=bindparam("b_content"),
                processed_at=at,
            ),
            [_finished(m) for m in mails],
        )


def _finished(mail: StoredMail) -> dict[str, Any]:
    received = mail.result
    problems = "; ".join(received.problems)
    return {
        "b_id": mail.inbox_id,
        "b_status": "quarantined" if problems else "done",
        "b_reason": problems or received.note,
        "b_interaction": received.interaction_id,
        "b_message": mail.message_id,
        "b_content": mail.parsed.content_digest,
    }
