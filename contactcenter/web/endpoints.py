"""Declaring an endpoint once: path, role, body and query models, and what it answers.

`RouteTable` records each endpoint; the app registers the handlers from it and `openapi.py`
describes the very same list, so the document cannot drift from the router. The wrapper around
each handler checks the role, then parses the query and the body; a handler only runs on a request
that is authorised and well-formed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from contactcenter.model import Role
from contactcenter.people.accounts import Principal
from contactcenter.web.errors import ApiError
from contactcenter.wiring import Services

SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
PRINCIPAL_KEY: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
REQUEST_ID_KEY: web.RequestKey[str] = web.RequestKey("request_id", str)


@dataclass(slots=True)
class Call:
    """What a handler gets: the request, who made it, and its validated query and body."""

    request: web.Request
    principal: Principal | None
    services: Services
    body: Any = None
    query: Any = None

    def path_id(self, name: str) -> int:
        """An integer path parameter; ids of customers and interactions are bound to the log.
        A number no database column can hold is a 422 naming the parameter."""
        try:
            value = int(self.request.match_info[name])
        except ValueError:
            raise ApiError(422, "invalid", f"{name} must be a whole number", name) from None
        check_storable(value, name)
        if name in ("customer_id", "interaction_id"):
            structlog.contextvars.bind_contextvars(**{name: value})
        return value

    async def changes(self, model: type[BaseModel], current: dict[str, Any]) -> dict[str, Any]:
        """A PATCH body validated as the whole object it makes from `current`; only the
        changed keys (415, 413 or 422 naming the field otherwise)."""
        return parse_patch(model, current, await read_json_bytes(self.request))

    @property
    def user(self) -> Principal:
        assert self.principal is not None, "endpoint declared without a role"
        return self.principal


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    role: Role | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # A partial update: documented as `body`, validated by the handler with `parse_patch`
    # against the object it changes.
    partial: bool = False

    @property
    def openapi_path(self) -> str:
        return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", self.path)


class RouteTable:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        role: Role | None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        responses: dict[int, str] | None = None,
        content_type: str = "application/json",
        partial: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method,
                    path,
                    handler,
                    summary,
                    self.tag,
                    role,
                    body,
                    query,
                    responses or {200: "OK"},
                    content_type,
                    partial,
                )
            )
            return handler

        return register

    def register(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, _wrap(endpoint))


def _wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal = request.get(PRINCIPAL_KEY)
        if endpoint.role is not None:
            if principal is None:
                raise ApiError(401, "unauthorized", "log in or send a bearer API token")
            if not principal.role.allows(endpoint.role):
                raise ApiError(
                    403,
                    "forbidden",
                    f"this needs the {endpoint.role} role; you are {principal.role}",
                )
        call = Call(request, principal, request.app[SERVICES])
        if endpoint.query is not None:
            call.query = parse_query(endpoint.query, request)
        if endpoint.body is not None and not endpoint.partial:
            call.body = await parse_body(endpoint.body, request)
        return await endpoint.handler(call)

    handle.__name__ = endpoint.handler.__name__
    return handle


INT64 = 2**63 - 1


def check_storable(value: Any, where: str | None) -> None:
    """What the databases cannot store, refused with the field named: integers beyond 64 bits
    (both backends) and NUL characters (PostgreSQL refuses them in text; SQLite would keep
    them, and one rule for both keeps data portable)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -INT64 - 1 <= value <= INT64:
            raise ApiError(422, "out_of_range", f"{where}: {value} is out of range", where)
    elif isinstance(value, str):
        if "\0" in value:
            raise ApiError(422, "invalid", f"{where}: contains a NUL character", where)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(str(key), where)
            check_storable(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            check_storable(item, f"{where}.{index}" if where else str(index))


def validation_error(exc: ValidationError) -> ApiError:
    """The first problem pydantic found, as a 422 naming the field."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or None
    if error["type"] == "json_invalid":
        return ApiError(400, "malformed_json", f"body is not valid JSON: {error['msg']}")
    if error["type"] == "extra_forbidden":
        return ApiError(422, "unknown_field", f"unknown field {where!r}", where)
    if error["type"] == "missing":
        return ApiError(422, "missing_field", f"{where} is required", where)
    message = error["msg"].removeprefix("Value error, ")
    return ApiError(422, "invalid", f"{where}: {message}" if where else message, where)


async def read_json_bytes(request: web.Request) -> bytes:
    """The raw body of a JSON request; 415 when it is not declared JSON, 413 when too large."""
    if request.content_type != "application/json":
        raise ApiError(
            415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)"
        )
    return await request.read()


async def parse_body(model: type[BaseModel], request: web.Request) -> BaseModel:
    raw = await read_json_bytes(request)
    try:
        parsed = model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise validation_error(exc) from None
    check_storable(parsed.model_dump(), None)
    return parsed


def parse_patch(model: type[BaseModel], current: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """Validate a partial update as the whole object it makes; returns only the changed keys."""
    try:
        patch = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None
    if not isinstance(patch, dict):
        raise ApiError(422, "invalid", "body must be a JSON object")
    unknown = sorted(set(patch) - set(model.model_fields))
    if unknown:
        raise ApiError(422, "unknown_field", f"unknown field {unknown[0]!r}", unknown[0])
    check_storable(patch, None)
    try:
        merged = model.model_validate_json(json.dumps(current | patch), strict=True)
    except ValidationError as exc:
        raise validation_error(exc) from None
    return {key: value for key, value in merged.model_dump(mode="json").items() if key in patch}


def parse_query(model: type[BaseModel], request: web.Request) -> BaseModel:
    values: dict[str, str] = {}
    for key in request.query:
        items = request.query.getall(key)
        if len(items) > 1:
            raise ApiError(422, "invalid", f"query parameter {key!r} is given twice", key)
        values[key] = items[0]
    check_storable(values, None)
    try:
        parsed = model.model_validate(values)
    except ValidationError as exc:
        raise validation_error(exc) from None
    check_storable(parsed.model_dump(), None)
    return parsed
