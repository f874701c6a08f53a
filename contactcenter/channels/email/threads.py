"""Which conversation a mail belongs to: the interaction it answers (by its References and
In-Reply-To, or else by the `[#CC-n]` token in its subject), and the mails processed before under
the same Message-ID. Reads only; the intake decides what to do with the answers.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Row, select

from contactcenter.mail.parse import ParsedMail
from contactcenter.model import Channel
from contactcenter.store.db import Database
from contactcenter.store.tables import interactions, mail_inbox, messages

TOKEN = re.compile(r"\[#CC-(\d{1,18})\]")
_THREAD = (
    interactions.c.id,
    interactions.c.status,
    interactions.c.agent_id,
    interactions.c.ended_at,
    interactions.c.customer_id,
)


class MailThreads:
    def __init__(self, *, db: Database) -> None:
        self.db = db

    async def earlier(self, message_ids: list[str]) -> dict[str, dict[str, tuple[int | None]]]:
        """Mails processed before under these Message-IDs: by content digest, the interaction
        of the first with that content."""
        async with self.db.connect() as conn:
            found = await conn.execute(
                select(
                    mail_inbox.c.message_id,
                    mail_inbox.c.interaction_id,
                    mail_inbox.c.content_sha256,
                )
                .where(mail_inbox.c.message_id.in_(message_ids), mail_inbox.c.status != "new")
                .order_by(mail_inbox.c.id)
            )
            earlier: dict[str, dict[str, int | None]] = {}
            for message_id, interaction_id, content in found:
                earlier.setdefault(message_id, {}).setdefault(content, interaction_id)
            return earlier

    async def answered(self, mails: dict[int, ParsedMail]) -> dict[int, Row[Any]]:
        """The interaction each mail (by its inbox id) answers, by its headers, or else by its
        subject's token."""
        refs = {i: [r[:998] for r in mail.headers_for_threading()] for i, mail in mails.items()}
        every = list({ref for found in refs.values() for ref in found})
        found: dict[int, Row[Any]] = {}
        async with self.db.connect() as conn:
            by_ref: dict[str, Row[Any]] = {}
            if every:
                rows = await conn.execute(
                    select(messages.c.external_id, *_THREAD)
                    .join(messages, messages.c.interaction_id == interactions.c.id)
                    .where(messages.c.external_id.in_(every))
                )
                for row in rows:
                    if row.external_id not in by_ref or row.id > by_ref[row.external_id].id:
                        by_ref[row.external_id] = row
            for inbox_id in mails:
                hits = [by_ref[r] for r in refs[inbox_id] if r in by_ref]
                if hits:
                    found[inbox_id] = max(hits, key=lambda row: row.id)
            tokens = {
                inbox_id: int(t.group(1))
                for inbox_id, mail in mails.items()
                if inbox_id not in found and (t := TOKEN.search(mail.subject))
            }
            if tokens:
                rows = await conn.execute(
                    select(*_THREAD).where(
                        interactions.c.id.in_(set(tokens.values())),
                        interactions.c.channel == Channel.EMAIL.value,
                    )
                )
                by_id = {row.id: row for row in rows}
                found |= {i: by_id[t] for i, t in tokens.items() if t in by_id}
        return found
