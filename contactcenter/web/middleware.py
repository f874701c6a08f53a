"""Request middleware: request ids, logging and metrics; who is calling; errors as JSON."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy.exc import DataError

from contactcenter.errors import ServiceError
from contactcenter.web.endpoints import PRINCIPAL_KEY, REQUEST_ID_KEY, SERVICES
from contactcenter.web.errors import (
    HTTP_CODES,
    ApiError,
    error_response,
    service_error_response,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = structlog.get_logger("contactcenter.web")

SESSION_COOKIE = "cc_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PUBLIC_FILES = ("/static/", "/widget.js")
# Logging in does not use the session it may replace, so it needs no CSRF token.
_NO_CSRF_PATHS = frozenset({"/api/v1/auth/login"})
# A survey page is the customer's, reached by its unguessable link, never by the session.
_NO_CSRF_PREFIXES = ("/survey/",)
_GOOD_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
METRICS: web.AppKey[HttpMetrics] = web.AppKey("metrics")
IN_FLIGHT: web.AppKey[InFlight] = web.AppKey("in_flight")


class InFlight:
    """Counts requests being handled, so that shutdown can wait for them to finish.

    aiohttp's own graceful shutdown stops reading from connections at once, which would cut off
    a request whose body is still arriving; the service waits here first, with the listening
    socket already closed.
    """

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()


class HttpMetrics:
    """Prometheus metrics of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "contactcenter_http_requests",
            "HTTP requests answered, by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "contactcenter_http_request_duration_seconds",
            "Time to answer HTTP requests, by route.",
            ["method", "route"],
            registry=self.registry,
        )


def _route_name(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: binds the request id, turns every error into JSON, logs and counts."""
    given = request.headers.get("X-Request-ID", "")
    request_id = given if _GOOD_REQUEST_ID.match(given) else uuid.uuid4().hex
    request[REQUEST_ID_KEY] = request_id
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    # An event stream lives as long as its console; shutdown closes streams, not waits for them.
    streaming = request.headers.get("Upgrade", "").lower() == "websocket"
    in_flight = request.app[IN_FLIGHT]
    if not streaming:
        in_flight.enter()
    try:
        response = await handler(request)
    except ApiError as exc:
        response = error_response(
            exc.status, exc.code, exc.message, exc.field, request_id, exc.headers
        )
    except ServiceError as exc:
        response = service_error_response(request, exc, request_id)
    except DataError as exc:  # a value the API let through is longer than its column
        if "too long" not in str(exc.orig):
            raise
        log.warning("http.value_too_long", path=request.path, error=str(exc.orig)[:200])
        why = "a value is longer than its field allows"
        response = error_response(422, "value_too_long", why, None, request_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "http_error")
        message = exc.text if exc.status != 404 else f"no such resource: {request.path}"
        if exc.status == 413:
            limit = request.app[SERVICES].settings.max_body_bytes
            message = f"request body is larger than {limit} bytes"
        response = error_response(exc.status, code, message or exc.reason, None, request_id)
    except Exception:
        log.exception(
            "http.unhandled_error",
            method=request.method,
            path=request.path,
            request_id=request_id,
        )
        response = error_response(
            500,
            "internal",
            f"internal error; the log has the details under request id {request_id}",
            None,
            request_id,
        )
    finally:
        if not streaming:
            in_flight.leave()
    elapsed = time.perf_counter() - started
    response.headers["X-Request-ID"] = request_id
    route = _route_name(request)
    metrics = request.app[METRICS]
    metrics.requests.labels(request.method, route, str(response.status)).inc()
    metrics.latency.labels(request.method, route).observe(elapsed)
    log.info(
        "http.request",
        method=request.method,
        path=request.path,
        status=response.status,
        duration_ms=round(elapsed * 1000, 2),
    )
    return response


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Finds the caller from a bearer token or the session cookie; checks CSRF for sessions.

    A request with neither goes on without a principal; endpoints that need one answer 401.
    """
    if request.path.startswith(_PUBLIC_FILES):  # the same bytes for everyone: no lookup
        return await handler(request)
    accounts = request.app[SERVICES].accounts
    principal = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <API token>'")
        principal = await accounts.from_token(secret.strip())
        if principal is None:
            raise ApiError(401, "unauthorized", "API token is unknown or revoked")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = await accounts.from_session(cookie)
        unsafe = (
            request.method not in _SAFE_METHODS
            and request.path not in _NO_CSRF_PATHS
            and not request.path.startswith(_NO_CSRF_PREFIXES)
        )
        if principal and unsafe and request.headers.get(CSRF_HEADER) != principal.csrf_token:
            raise ApiError(
                403,
                "csrf",
                f"state-changing requests with a session need the {CSRF_HEADER} header "
                "given at login",
            )
    if principal is not None:
        request[PRINCIPAL_KEY] = principal
        structlog.contextvars.bind_contextvars(user=principal.username)
    return await handler(request)
