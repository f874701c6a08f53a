"""Who a chat's visitor is: the customer behind a hello.

A token signed by the host site (`chat_identity`) verifies a customer by their id there
(`external_crm`); an email typed in the pre-chat form finds the customer it belongs to,
unverified (it routes the chat, and the visitor is shown nothing of the record); otherwise the
browser's visitor id, kept by the widget, recognises a returning visitor. The visitor id is
added to the customer it resolved to, so that the next visit is recognised too.

A hello creates nobody: a browser nobody knows stays a visitor without a customer until it
first says something (`with_customer`), so that connections that never speak (a flood of
hellos, a tab left open) leave no records behind. A name the visitor gives (pre-chat form) is
saved on an unverified customer that has none.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from contactcenter.channels.chat.frames import Hello
from contactcenter.channels.chat.identity import verify
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict
from contactcenter.model import Customer

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Visitor:
    customer: Customer | None  # None: an anonymous browser that has not said anything yet
    visitor_id: str
    verified: bool
    name: str | None


class ChatVisitors:
    def __init__(
        self, *, customers: CustomerRecords, identity_secret: str, clock: Callable[[], float]
    ) -> None:
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
        else:  # a returning browser is known; a new one becomes a customer when it speaks
            found = await self.customers.owner("chat_visitor", visitor_id)
            if found is None:
                return Visitor(None, visitor_id, False, hello.name)
            customer, name, verified = found, hello.name, False
        return Visitor(await self._settled(customer, visitor_id, name), visitor_id, verified, name)

    async def with_customer(self, visitor: Visitor) -> Visitor:
        """The visitor with a customer record, made now for a browser nobody knew."""
        if visitor.customer is not None:
            return visitor
        customer = (await self.customers.resolve("chat_visitor", visitor.visitor_id)).customer
        customer = await self._settled(customer, visitor.visitor_id, visitor.name)
        return Visitor(customer, visitor.visitor_id, visitor.verified, visitor.name)

    async def _settled(self, customer: Customer, visitor_id: str, name: str | None) -> Customer:
        """The customer with this browser's id among its identities, and the visitor's name
        when it is unverified and has none."""
        if name and not customer.name and not customer.verified:
            customer = await self.customers.update(customer.id, {"name": name[:200]})
        if not any(i.kind == "chat_visitor" and i.value == visitor_id for i in customer.identities):
            try:
                customer = await self.customers.add_identity(
                    customer.id, "chat_visitor", visitor_id
                )
            except Conflict:  # the browser was another customer's: that one keeps it
                log.info("chat.visitor_id_taken", customer_id=customer.id)
        return customer
