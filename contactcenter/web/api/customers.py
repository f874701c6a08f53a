"""REST: customers, their identities, notes, merge and timeline."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contactcenter.customers.merge import merge_customers
from contactcenter.customers.records import CustomerFields
from contactcenter.model import Customer, IdentityKind, Role, Segment, Tier
from contactcenter.web.endpoints import Call, RouteTable

routes = RouteTable("customers")
CUSTOMER = r"/api/v1/customers/{customer_id:\d+}"


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IdentityKind
    value: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    verified: bool = False


class CustomerCreate(CustomerFields):
    identities: list[IdentityIn] = Field(default_factory=list, max_length=50)


class CustomerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    tier: Tier | None = None
    segment: Segment | None = None
    after: int | None = Field(default=None, ge=0, description="Last id of the previous page.")
    limit: int = Field(default=50, ge=1, le=200)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merge_id: int = Field(ge=1, description="The customer that is merged into this one.")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
    interaction_id: int | None = Field(default=None, ge=1)


class TimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None


def customer_json(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "organisation": customer.organisation,
        "tier": customer.tier.value,
        "segment": customer.segment.value if customer.segment else None,
        "lifecycle_stage": customer.lifecycle_stage.value if customer.lifecycle_stage else None,
        "account_manager_id": customer.account_manager_id,
        "language": customer.language,
        "tags": customer.tags,
        "verified": customer.verified,
        "identities": [
            {"id": i.id, "kind": i.kind.value, "value": i.value, "verified": i.verified}
            for i in customer.identities
        ],
        "last_order_at": customer.last_order_at.isoformat() if customer.last_order_at else None,
        "created_at": customer.created_at.isoformat(),
        "updated_at": customer.updated_at.isoformat(),
    }


def editable(customer: Customer) -> dict[str, Any]:
    """The customer's current editable fields, as a PATCH body would write them."""
    data = customer_json(customer)
    return {name: data[name] for name in CustomerFields.model_fields}


@routes.route(
    "GET",
    "/api/v1/customers",
    summary="Search customers by name, organisation or any identity",
    role=Role.AGENT,
    query=CustomerQuery,
)
async def search_customers(call: Call) -> web.Response:
    q: CustomerQuery = call.query
    found = await call.services.customers.search(q.q, q.tier, q.segment, q.after, q.limit)
    next_after = found[-1].id if len(found) == q.limit else None
    return web.json_response(
        {"customers": [customer_json(c) for c in found], "next_after": next_after}
    )


@routes.route(
    "POST",
    "/api/v1/customers",
    summary="Create a customer with identities",
    role=Role.AGENT,
    body=CustomerCreate,
    responses={201: "Created", 409: "An identity belongs to another customer"},
)
async def create_customer(call: Call) -> web.Response:
    body: CustomerCreate = call.body
    records = call.services.customers
    idents = [
        records.normalize(i.kind, i.value, f"identities.{n}.value")
        for n, i in enumerate(body.identities)
    ]
    fields = CustomerFields.model_validate(body.model_dump(exclude={"identities"}))
    customer = await records.create(fields, idents)
    return web.json_response(customer_json(customer), status=201)


@routes.route(
    "GET",
    CUSTOMER,
    summary="Read a customer (a merged id redirects to the survivor)",
    role=Role.AGENT,
    responses={200: "OK", 308: "Merged into another customer", 404: "No such"},
)
async def get_customer(call: Call) -> web.Response:
    customer = await call.services.customers.get(call.path_id("customer_id"))
    return web.json_response(customer_json(customer))


@routes.route(
    "PATCH",
    CUSTOMER,
    summary="Change some fields of a customer",
    role=Role.AGENT,
    body=CustomerFields,
    partial=True,
)
async def update_customer(call: Call) -> web.Response:
    customer_id = call.path_id("customer_id")
    records = call.services.customers
    changes = await call.changes(CustomerFields, editable(await records.get(customer_id)))
    updated = await records.update(customer_id, changes, call.user.user_id)
    return web.json_response(customer_json(updated))


@routes.route(
    "POST",
    CUSTOMER + "/identities",
    summary="Add an identity to a customer",
    role=Role.AGENT,
    body=IdentityIn,
    responses={201: "Created", 409: "The identity belongs to another customer"},
)
async def add_identity(call: Call) -> web.Response:
    body: IdentityIn = call.body
    customer = await call.services.customers.add_identity(
        call.path_id("customer_id"), body.kind, body.value, body.verified
    )
    return web.json_response(customer_json(customer), status=201)


@routes.route(
    "POST",
    CUSTOMER + "/merge",
    summary="Merge another customer into this one",
    role=Role.SUPERVISOR,
    body=MergeIn,
    responses={200: "Merged", 409: "Different CRM ids, or already merged"},
)
async def merge_customer(call: Call) -> web.Response:
    body: MergeIn = call.body
    result = await merge_customers(
        call.services.customers, call.path_id("customer_id"), body.merge_id
    )
    return web.json_response(
        {
            "customer": customer_json(result.survivor),
            "merged_id": result.merged_id,
            "moved": result.moved,
        }
    )


@routes.route(
    "POST",
    CUSTOMER + "/notes",
    summary="Add a note to a customer's record",
    role=Role.AGENT,
    body=NoteIn,
    responses={201: "Created"},
)
async def add_note(call: Call) -> web.Response:
    body: NoteIn = call.body
    note_id = await call.services.customers.add_note(
        call.path_id("customer_id"), body.body, call.user.user_id, body.interaction_id
    )
    return web.json_response({"id": note_id}, status=201)


@routes.route(
    "GET",
    CUSTOMER + "/timeline",
    summary="Every interaction, note and record event, newest first",
    role=Role.AGENT,
    query=TimelineQuery,
)
async def timeline(call: Call) -> web.Response:
    q: TimelineQuery = call.query
    page = await call.services.timeline.page(call.path_id("customer_id"), q.limit, q.cursor)
    return web.json_response({"entries": page.entries, "next_cursor": page.next_cursor})
