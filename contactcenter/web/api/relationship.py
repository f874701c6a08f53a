"""REST: the customer relationship — orders that move the lifecycle stage, the lapsed sweep, and
the tier review that supervisors decide."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactcenter.customers.orders import OrderIn
from contactcenter.model import Role
from contactcenter.web.api.customers import CUSTOMER, customer_json
from contactcenter.web.endpoints import Call, RouteTable

routes = RouteTable("relationship")
REVIEW = r"/api/v1/tier-reviews/{review_id:\d+}"


class OrdersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    before: int | None = Field(default=None, ge=1, description="Last id of the previous page.")
    limit: int = Field(default=50, ge=1, le=200)


class ReviewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "accepted", "dismissed"] = "open"
    after: int | None = Field(default=None, ge=0, description="Last id of the previous page.")
    limit: int = Field(default=50, ge=1, le=200)


@routes.route(
    "POST",
    CUSTOMER + "/orders",
    summary="Report a purchase (the order system); it may move the customer's lifecycle stage",
    role=Role.AGENT,
    body=OrderIn,
    responses={
        201: "Recorded",
        200: "Reported before (the same external_ref): the order as stored",
        409: "The external_ref belongs to another customer's order",
        422: "Invalid, or not in the policy's currency",
    },
)
async def record_order(call: Call) -> web.Response:
    customer_id = call.path_id("customer_id")
    recorded = await call.services.orders.record(customer_id, call.body)
    change = recorded.change
    lifecycle = (
        None
        if change is None
        else {"from": recorded.from_stage, "to": change.to.value, "reason": change.reason}
    )
    customer = await call.services.customers.get(customer_id)
    return web.json_response(
        {
            "order": recorded.order.json(),
            "lifecycle_change": lifecycle,
            "customer": customer_json(customer),
        },
        status=201 if recorded.created else 200,
    )


@routes.route(
    "GET",
    CUSTOMER + "/orders",
    summary="A customer's orders, newest first",
    role=Role.AGENT,
    query=OrdersQuery,
)
async def list_orders(call: Call) -> web.Response:
    q: OrdersQuery = call.query
    found = await call.services.orders.list(call.path_id("customer_id"), q.before, q.limit)
    before = found[-1].id if len(found) == q.limit else None
    return web.json_response({"orders": [o.json() for o in found], "next_before": before})


@routes.route(
    "POST",
    "/api/v1/lifecycle/sweep",
    summary="Lapse silent customers now (it also runs daily)",
    role=Role.SUPERVISOR,
)
async def sweep_lapsed(call: Call) -> web.Response:
    return web.json_response({"lapsed": await call.services.lapsing.sweep()})


@routes.route(
    "GET",
    "/api/v1/tier-reviews",
    summary="Customers whose order value suggests another tier",
    role=Role.SUPERVISOR,
    query=ReviewQuery,
)
async def list_reviews(call: Call) -> web.Response:
    q: ReviewQuery = call.query
    found = await call.services.tier_review.suggestions(q.status, q.after, q.limit)
    after = found[-1].id if len(found) == q.limit else None
    return web.json_response({"reviews": [s.json() for s in found], "next_after": after})


@routes.route(
    "POST",
    "/api/v1/tier-reviews/run",
    summary="Review every customer's tier now (it also runs daily); replaces the open ones",
    role=Role.SUPERVISOR,
)
async def run_review(call: Call) -> web.Response:
    run = await call.services.tier_review.run()
    return web.json_response(
        {"suggested": run.suggested, "months": run.months, "at": run.at.isoformat()}
    )


@routes.route(
    "POST",
    REVIEW + "/accept",
    summary="Give the customer the suggested tier",
    role=Role.SUPERVISOR,
    responses={200: "Accepted", 404: "No such review", 409: "Decided already"},
)
async def accept_review(call: Call) -> web.Response:
    decided = await call.services.tier_review.accept(call.path_id("review_id"), call.user.user_id)
    return web.json_response(decided.json())


@routes.route(
    "POST",
    REVIEW + "/dismiss",
    summary="Keep the customer's tier; the suggestion is not made again for 180 days",
    role=Role.SUPERVISOR,
    responses={200: "Dismissed", 404: "No such review", 409: "Decided already"},
)
async def dismiss_review(call: Call) -> web.Response:
    decided = await call.services.tier_review.dismiss(call.path_id("review_id"), call.user.user_id)
    return web.json_response(decided.json())
