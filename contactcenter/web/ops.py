"""Operations: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

from importlib.metadata import version

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contactcenter.web.endpoints import Call, Endpoint, RouteTable
from contactcenter.web.middleware import METRICS
from contactcenter.web.openapi import document

routes = RouteTable("operations")
ENDPOINTS: web.AppKey[list[Endpoint]] = web.AppKey("endpoints")


@routes.route("GET", "/healthz", summary="The process is up", role=None)
async def healthz(call: Call) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.route(
    "GET",
    "/readyz",
    role=None,
    summary=(
        "The database answers; `search` says hybrid, or lexical without the semantic extra; "
        "`routes` whether this instance routes the queue (one of several does)"
    ),
    responses={200: "Ready", 503: "The database does not answer"},
)
async def readyz(call: Call) -> web.Response:
    try:
        await call.services.db.ping()
    except Exception as exc:
        return web.json_response(
            {"status": "unavailable", "database": type(exc).__name__}, status=503
        )
    search = call.services.articles.search.mode.value  # "hybrid", or "lexical" without the extra
    return web.json_response(
        {
            "status": "ok",
            "database": call.services.db.dialect,
            "search": search,
            "instance": call.services.instance,
            "routes": call.services.queue.routes(),
        }
    )


@routes.route(
    "GET",
    "/metrics",
    summary="Prometheus metrics",
    role=None,
    content_type="text/plain",
)
async def metrics(call: Call) -> web.Response:
    body = generate_latest(call.request.app[METRICS].registry)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


@routes.route("GET", "/api/v1/openapi.json", summary="This document", role=None)
async def openapi(call: Call) -> web.Response:
    return web.json_response(document(call.request.app[ENDPOINTS], version("contactcenter")))
