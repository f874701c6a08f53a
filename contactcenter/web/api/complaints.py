"""REST: complaint cases — opened by the API (an agent's wrap-up flag opens one too), owned,
moved to resolution and closure, and followed up with a contact the agent starts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contactcenter.errors import Conflict
from contactcenter.model import Channel, Initiator, Role
from contactcenter.reports.complaints import complaint_rates, complaints_now
from contactcenter.runtime.clock import now
from contactcenter.web.endpoints import Call, RouteTable
from workflows.complaints import Outcome, Status

routes = RouteTable("complaints")
CASE = r"/api/v1/complaints/{complaint_id:\d+}"
Product = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(ge=1)
    interaction_ids: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list, max_length=50)
    products: list[Product] = Field(default_factory=list, max_length=50)
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""


class ComplaintQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    customer_id: int | None = Field(default=None, ge=1)
    owner_agent_id: int | None = Field(default=None, ge=1)
    overdue: bool = False
    after: int | None = Field(default=None, ge=0, description="Last id of the previous page.")
    limit: int = Field(default=50, ge=1, le=200)


class RatesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=30, ge=1, le=366, description="The window, ending now.")


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    resolution: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000)]
        | None
    ) = None
    outcome: Outcome | None = None


class OwnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: int = Field(ge=1)


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = Channel.VOICE
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


@routes.route(
    "POST",
    "/api/v1/complaints",
    summary="Open a complaint case for a customer (about some of their interactions)",
    role=Role.AGENT,
    body=ComplaintIn,
    responses={201: "Opened", 404: "No such customer", 422: "Invalid"},
)
async def open_complaint(call: Call) -> web.Response:
    body: ComplaintIn = call.body
    case = await call.services.complaints.open(
        body.customer_id,
        source="api",
        interaction_ids=body.interaction_ids,
        products=body.products,
        summary=body.summary,
        by_user_id=call.user.user_id,
    )
    return web.json_response(case.json(), status=201)


@routes.route(
    "GET",
    "/api/v1/complaints",
    summary="Complaint cases by status, customer, owner, or overdue only",
    role=Role.AGENT,
    query=ComplaintQuery,
)
async def list_complaints(call: Call) -> web.Response:
    q: ComplaintQuery = call.query
    found = await call.services.complaints.search(
        status=q.status,
        customer_id=q.customer_id,
        owner_agent_id=q.owner_agent_id,
        overdue=q.overdue,
        after_id=q.after,
        limit=q.limit,
    )
    after = found[-1].id if len(found) == q.limit else None
    return web.json_response({"complaints": [c.json() for c in found], "next_after": after})


@routes.route(
    "GET",
    "/api/v1/reports/complaints",
    summary="Cases open, overdue and unassigned now; complaints per 1,000 interactions over "
    "the last `days` by tier, channel and product",
    role=Role.SUPERVISOR,
    query=RatesQuery,
)
async def complaint_report(call: Call) -> web.Response:
    q: RatesQuery = call.query
    until = now()
    db = call.services.db
    rates = await complaint_rates(db, until - timedelta(days=q.days), until)
    return web.json_response({"now": await complaints_now(db, until), **rates})


@routes.route("GET", CASE, summary="One complaint case", role=Role.AGENT)
async def get_complaint(call: Call) -> web.Response:
    case = await call.services.complaints.get(call.path_id("complaint_id"))
    return web.json_response(case.json())


@routes.route(
    "POST",
    CASE + "/status",
    summary="Move a case: investigating, resolved (with resolution and outcome), closed; "
    "resolved → investigating reopens it",
    role=Role.AGENT,
    body=MoveIn,
    responses={200: "Moved", 409: "Not from its status", 422: "Resolving needs more"},
)
async def move_complaint(call: Call) -> web.Response:
    body: MoveIn = call.body
    case = await call.services.complaints.move(
        call.path_id("complaint_id"),
        body.status,
        resolution=body.resolution,
        outcome=body.outcome,
        by_user_id=call.user.user_id,
    )
    return web.json_response(case.json())


@routes.route(
    "POST",
    CASE + "/owner",
    summary="Give a case its owner",
    role=Role.SUPERVISOR,
    body=OwnerIn,
    responses={200: "Assigned", 404: "No such case or agent"},
)
async def assign_complaint(call: Call) -> web.Response:
    body: OwnerIn = call.body
    case = await call.services.complaints.assign(
        call.path_id("complaint_id"), body.agent_id, call.user.user_id
    )
    return web.json_response(case.json())


@routes.route(
    "POST",
    CASE + "/follow-up",
    summary="Start the follow-up contact with the customer: an interaction an agent initiated, "
    "queued like any other and linked to the case",
    role=Role.AGENT,
    body=FollowUpIn,
    responses={201: "Queued", 409: "The case is closed"},
)
async def follow_up(call: Call) -> web.Response:
    body: FollowUpIn = call.body
    services = call.services
    case = await services.complaints.get(call.path_id("complaint_id"))
    if case.status is Status.CLOSED:
        raise Conflict(f"complaint {case.reference} is closed", "status")
    customer = await services.customers.survivor(case.customer_id)
    interaction_id = await services.queue.enqueue(
        customer,
        body.channel,
        subject=body.subject or f"Follow-up on complaint {case.reference}",
        topic="complaint_follow_up",
        attributes={"complaint": case.reference},
        initiated_by=Initiator.AGENT,
        products=case.products,
    )
    case = await services.complaints.followed_up(case.id, interaction_id)
    return web.json_response(
        {"complaint": case.json(), "interaction": await services.interactions.get(interaction_id)},
        status=201,
    )
