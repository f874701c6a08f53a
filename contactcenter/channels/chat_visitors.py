"""Who a chat's visitor is: the customer behind a hello.

A token signed by the host site (`chat_identity`) verifies a customer by their id there
(`external_crm`); an email typed in the pre-chat form finds the customer it belongs to,
unverified (it routes the chat, and the visitor is shown nothing of the record); otherwise the
browser's visitor id, kept by the widget, recognises a returning visitor. The visitor id is
added to the customer it resolved to, so that the next visit is recognised too.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from contactcenter.channels.chat_frames import Hello
from contactcenter.channels.chat_identity import verify
from contactcenter.customers import CustomerRecords
from contactcenter.errors import Conflict
from contactcenter.model import Customer

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Visitor:
    customer: Customer
    visitor_id: str
    verified: bool
    name: str | None


class ChatVisitors:
    def __init__(self, customers: CustomerRecords, identity_secret: str,
                 clock: Callable[[], float]) -> None:  # fmt: skip
        self.customers = customers
        self.identity_secret = identity_secret
        self.clock = clock

    async def identify(self, hello: Hello) -> Visitor:
        """The visitor behind a hello (IdentityError for a token that proves nothing)."""
        visitor_id = hello.visitor_id or f"v-{secrets.token_urlsafe(18)}"
        if hello.identity_token is not None:
            vouched = verify(hello.identity_token, self.identity_secret, self.clock())
            customer = (await self.customers.resolve("external_crm", vouched.subject)).customer
            name, verified = vouched.name or hello.name, True
        elif hello.email is not None:
            customer = (await self.customers.resolve("email", hello.email)).customer
            name, verified = hello.name, False
        else:
            customer = (await self.customers.resolve("chat_visitor", visitor_id)).customer
            name, verified = hello.name, False
        if not any(i.kind == "chat_visitor" and i.value == visitor_id for i in customer.identities):
            try:
                customer = await self.customers.add_identity(customer.id, "chat_visitor",
                                                             visitor_id)  # fmt: skip
            except Conflict:  # the browser was another customer's: that one keeps it
                log.info("chat.visitor_id_taken", customer_id=customer.id)
        return Visitor(customer, visitor_id, verified, name)
