"""REST: logging in and out, users, and API tokens for other systems."""

from __future__ import annotations

import math
import time
from typing import Annotated

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contactcenter.model import Role
from contactcenter.people.login_throttle import LoginThrottle
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.web.errors import ApiError
from contactcenter.web.middleware import SESSION_COOKIE

routes = RouteTable("auth")
log = structlog.get_logger(__name__)
THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_throttle", LoginThrottle)
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,150}$")]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=150)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Annotated[str, StringConstraints(min_length=10, max_length=1000)]
    role: Role
    agent_id: int | None = Field(default=None, ge=1)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: int = Field(ge=1, description="The token acts as this user, with their role.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


@routes.route(
    "POST",
    "/api/v1/auth/login",
    summary="Log in; sets the session cookie, returns the CSRF token",
    role=None,
    body=LoginIn,
    responses={
        200: "Logged in",
        401: "Wrong username or password",
        429: "Too many wrong passwords: try again after Retry-After seconds",
    },
)
async def login(call: Call) -> web.Response:
    body: LoginIn = call.body
    throttle = call.request.app[THROTTLE]
    address = call.request.remote or "?"
    wait = throttle.wait(address, body.username, time.monotonic())
    if wait > 0:
        log.warning(
            "auth.login_throttled",
            address=address,
            username=body.username[:100],
            wait=round(wait, 1),
        )
        seconds = math.ceil(wait)
        raise ApiError(
            429,
            "too_many_requests",
            f"too many wrong passwords; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    found = await call.services.accounts.login(body.username, body.password)
    if found is None:
        throttle.failed(address, body.username, time.monotonic())
        log.info("auth.login_failed", address=address, username=body.username[:100])
        raise ApiError(401, "unauthorized", "wrong username or password")
    throttle.succeeded(address, body.username)
    secret, principal = found
    response = web.json_response({"user": principal.json(), "csrf_token": principal.csrf_token})
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="Lax",
        secure=call.services.settings.cookie_secure,
        max_age=int(call.services.settings.session_hours * 3600),
        path="/",
    )
    return response


@routes.route(
    "POST",
    "/api/v1/auth/logout",
    summary="End the session",
    role=Role.AGENT,
    responses={204: "Logged out"},
)
async def logout(call: Call) -> web.Response:
    if secret := call.request.cookies.get(SESSION_COOKIE):
        await call.services.accounts.logout(secret)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.route("GET", "/api/v1/auth/me", summary="Who am I", role=Role.AGENT)
async def me(call: Call) -> web.Response:
    return web.json_response({"user": call.user.json(), "via": call.user.via})


@routes.route("GET", "/api/v1/users", summary="List users", role=Role.ADMIN)
async def list_users(call: Call) -> web.Response:
    return web.json_response({"users": await call.services.accounts.list_users()})


@routes.route(
    "POST",
    "/api/v1/users",
    summary="Create a user",
    role=Role.ADMIN,
    body=UserIn,
    responses={201: "Created", 409: "Username taken"},
)
async def create_user(call: Call) -> web.Response:
    body: UserIn = call.body
    user = await call.services.accounts.create_user(
        body.username, body.password, body.role, body.agent_id
    )
    return web.json_response(user, status=201)


@routes.route(
    "GET", "/api/v1/tokens", summary="List API tokens (never their secrets)", role=Role.ADMIN
)
async def list_tokens(call: Call) -> web.Response:
    return web.json_response({"tokens": await call.services.accounts.list_tokens()})


@routes.route(
    "POST",
    "/api/v1/tokens",
    summary="Create an API token; its secret is shown only here",
    role=Role.ADMIN,
    body=TokenIn,
    responses={201: "Created"},
)
async def create_token(call: Call) -> web.Response:
    body: TokenIn = call.body
    secret, token = await call.services.accounts.create_token(body.user_id, body.name)
    return web.json_response(token | {"token": secret}, status=201)


@routes.route(
    "DELETE",
    r"/api/v1/tokens/{token_id:\d+}",
    summary="Revoke an API token",
    role=Role.ADMIN,
    responses={
        204: "Revoked",
        404: "No such active token",
        409: "The token this request is made with (revoke it with another)",
    },
)
async def revoke_token(call: Call) -> web.Response:
    token_id = call.path_id("token_id")
    if call.user.token_id == token_id:  # an integration does not lock itself out by mistake
        raise ApiError(
            409,
            "conflict",
            "this request is made with that token; revoke it with another token or from a login",
            "token_id",
        )
    await call.services.accounts.revoke_token(token_id)
    return web.Response(status=204)
