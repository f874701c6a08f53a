"""What a stored mail became, and the parties that may claim a mail before the email channel.

The email channel stores every mail, then asks each claimant (today the fax channel, for mail
from its fax-to-email gateways) whether the mail is theirs; a claimed mail becomes the
claimant's interaction, and the email channel still records the message, its attachments and
their pages in one transaction. The wiring hands the claimants over, so channels never import
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.mail.parse import ParsedMail


class ReadDocument(Protocol):
    """An attachment a claimant read as a document: its page count, or why it could not."""

    @property
    def pages(self) -> int: ...

    @property
    def problem(self) -> str | None: ...


@dataclass(slots=True)
class Received:
    """What a stored mail became: its interaction (None: quarantined without one), the text
    for the timeline, its problems, and the documents read, by attachment index. A `note`
    ("duplicate") marks a mail that adds nothing to the timeline."""

    interaction_id: int | None
    body: str
    problems: list[str]
    documents: dict[int, ReadDocument] = field(default_factory=dict)
    customer_id: int | None = None
    note: str = ""


class MailClaimant(Protocol):
    """A channel that takes some mail instead of the email channel."""

    def claims(self, mail: ParsedMail) -> bool:
        """Whether this mail is the claimant's (pure: from the mail alone)."""
        ...

    async def receive(self, mail: ParsedMail) -> Received:
        """The claimed mail into the claimant's interaction (or quarantined, with why)."""
        ...

    async def keep_pages(
        self, attachment_id: int, document: ReadDocument, conn: AsyncConnection
    ) -> None:
        """Keep what the claimant made of a stored attachment (a fax's page images), in the
        email channel's transaction."""
        ...
