"""A stored mail as the intake carries it from the inbox table to its interaction."""

from __future__ import annotations

from dataclasses import dataclass

from contactcenter.mail.claims import MailClaimant, Received
from contactcenter.mail.parse import ParsedMail
from contactcenter.model import Customer


@dataclass(slots=True)
class StoredMail:
    """A mail kept in the inbox table, on its way through the intake: what it became, who
    claimed it, its customer."""

    inbox_id: int
    parsed: ParsedMail
    received: Received | None = None
    claimant: MailClaimant | None = None  # who took it instead of the email channel
    customer: Customer | None = None
    reused_id: bool = False  # its Message-ID came before on another mail

    @property
    def external_ref(self) -> str:
        """Its interaction's idempotency key: the Message-ID, or with the content for a reuse."""
        if self.reused_id:
            return f"{self.parsed.message_id[:150]}#{self.parsed.content_digest[:16]}"
        return self.parsed.message_id[:200]

    @property
    def message_id(self) -> str:
        return self.parsed.message_id[:998]

    @property
    def result(self) -> Received:
        assert self.received is not None, "a mail is recorded only once received"
        return self.received
