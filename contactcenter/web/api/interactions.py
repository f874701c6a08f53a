"""REST: reading interactions and their attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contactcenter.interactions.records import InteractionFilter, queued_json
from contactcenter.model import Channel, IdentityKind, Initiator, InteractionStatus, Role, Tier
from contactcenter.web.endpoints import Call, RouteTable

routes = RouteTable("interactions")


class IdentityRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IdentityKind
    value: Annotated[str, StringConstraints(min_length=1, max_length=254)]


class InteractionIn(BaseModel):
    """Work another system hands to the queue (a callback request, a web form, a CRM case)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int | None = Field(default=None, ge=1)
    identity: IdentityRef | None = None
    channel: Channel
    subject: Annotated[str, StringConstraints(max_length=500)] = ""
    topic: Annotated[str, StringConstraints(max_length=100)] | None = None
    message: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)] = Field(
        default="", description="What the customer wrote (a web form's text), on the timeline."
    )
    attributes: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    external_ref: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="Your reference; sending it again returns the same interaction."
    )
    initiated_by: Initiator = Field(
        default=Initiator.CUSTOMER,
        description="Who started it: the customer (a web form), an agent (a follow-up they "
        "owe), or the system (a reminder another system raised).",
    )
    products: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    ] = Field(default_factory=list, max_length=50, description="The products it concerns.")

    @field_validator("attributes")
    @classmethod
    def _not_reserved(cls, attributes: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(key for key in attributes if key.startswith("_"))
        if reserved:
            raise ValueError(f"{reserved[0]!r}: names starting with _ are the service's own")
        return attributes

    @model_validator(mode="after")
    def _one_customer(self) -> InteractionIn:
        if (self.customer_id is None) == (self.identity is None):
            raise ValueError("give either customer_id or identity")
        return self


@routes.route(
    "POST",
    "/api/v1/interactions",
    summary="Queue an interaction for a customer (by id or by any identity)",
    role=Role.AGENT,
    body=InteractionIn,
    responses={201: "Queued", 200: "Already queued under this external_ref"},
)
async def create_interaction(call: Call) -> web.Response:
    body: InteractionIn = call.body
    services = call.services
    if body.external_ref:
        existing = await services.interactions.find_by_ref(body.channel, body.external_ref)
        if existing is not None:
            return web.json_response(await services.interactions.get(existing))
    if body.identity is not None:
        customer = (
            await services.customers.resolve(body.identity.kind, body.identity.value)
        ).customer
    else:
        assert body.customer_id is not None
        # Work for a merged customer is the survivor's: other systems may hold the old id.
        customer = await services.customers.survivor(body.customer_id)
    admitted = await services.queue.admit(
        customer,
        body.channel,
        subject=body.subject,
        topic=body.topic,
        attributes=body.attributes,
        external_ref=body.external_ref,
        message=body.message,
        initiated_by=body.initiated_by,
        products=body.products,
    )
    if admitted.fresh is not None and admitted.at is not None:
        # Stored by this request and waiting as stored: answered from what was written.
        answer = queued_json(admitted.interaction_id, admitted.fresh, admitted.at, admitted.message)
    else:
        answer = await services.interactions.get(admitted.interaction_id)
    return web.json_response(answer, status=201)


@routes.route(
    "POST",
    r"/api/v1/interactions/{interaction_id:\d+}/survey",
    summary="Send the customer a satisfaction survey for this interaction now (by mail when they "
    "have an address); the answer gives its link for you to deliver too",
    role=Role.AGENT,
    responses={
        201: "Sent",
        200: "Not sent: `why` says (abandoned or auto-replied work)",
        409: "The interaction has had its survey",
    },
)
async def send_survey(call: Call) -> web.Response:
    delivered = await call.services.survey_mail.send(
        call.path_id("interaction_id"), str(call.request.url.origin()), asked_for=True
    )
    return web.json_response(
        {
            "survey_id": delivered.survey_id,
            "url": delivered.url,
            "mailed": delivered.mailed,
            "why": delivered.why,
        },
        status=201 if delivered.survey_id is not None else 200,
    )


class InteractionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel | None = None
    status: InteractionStatus | None = None
    tier: Tier | None = None
    customer_id: int | None = Field(default=None, ge=1)
    since: AwareDatetime | None = Field(default=None, description="Created at or after (ISO 8601).")
    until: AwareDatetime | None = Field(default=None, description="Created before (ISO 8601).")
    before: int | None = Field(default=None, ge=1, description="Last id of the previous page.")
    limit: int = Field(default=50, ge=1, le=200)


@routes.route(
    "GET",
    "/api/v1/interactions",
    summary="List interactions, newest first, with filters",
    role=Role.AGENT,
    query=InteractionQuery,
)
async def list_interactions(call: Call) -> web.Response:
    q: InteractionQuery = call.query
    since: datetime | None = q.since
    found = await call.services.interactions.list(
        InteractionFilter(q.channel, q.status, q.tier, q.customer_id, since, q.until),
        before_id=q.before,
        limit=q.limit,
    )
    next_before = found[-1]["id"] if len(found) == q.limit else None
    return web.json_response({"interactions": found, "next_before": next_before})


@routes.route(
    "GET",
    r"/api/v1/interactions/{interaction_id:\d+}",
    summary="Read an interaction with its messages, attachments and events",
    role=Role.AGENT,
    responses={200: "OK", 404: "No such interaction"},
)
async def get_interaction(call: Call) -> web.Response:
    return web.json_response(await call.services.interactions.get(call.path_id("interaction_id")))


@routes.route(
    "GET",
    r"/api/v1/attachments/{attachment_id:\d+}",
    summary="Download an attachment's bytes",
    role=Role.AGENT,
    responses={200: "The file", 404: "No such attachment"},
    content_type="application/octet-stream",
)
async def get_attachment(call: Call) -> web.Response:
    row, data = await call.services.interactions.attachment(call.path_id("attachment_id"))
    safe_name = row.filename.replace('"', "").replace("\\", "")
    return web.Response(
        body=data,
        content_type=row.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe_name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
