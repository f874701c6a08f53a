"""The service's own pages: log in, the agent console, the supervisor dashboard, settings.

Each page is a static HTML shell from `static/` with the login's CSRF token and user put in;
its script loads the data through the REST API and follows `/api/v1/events`. Everything a page
needs ships in the package (no CDN, no build step). Pages need a session: without one they send
the browser to `/login`; with too small a role they answer 403 with a link back.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from html import escape
from importlib.resources import files

from aiohttp import web

from contactcenter.model import Role
from contactcenter.web.api.board import desk
from contactcenter.web.endpoints import PRINCIPAL_KEY, SERVICES

STATIC = files("contactcenter.web") / "static"
# The pages load only what this service serves; the event stream is on the same origin.
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
PAGES = {
    "/console": ("console.html", Role.AGENT),
    "/supervisor": ("supervisor.html", Role.SUPERVISOR),
    "/settings": ("settings.html", Role.ADMIN),
}


@cache
def _static(name: str) -> tuple[bytes, str]:
    """A packaged file and its ETag, read once per process."""
    data = (STATIC / name).read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


def page_headers() -> dict[str, str]:
    """The security headers every page of the service is served with."""
    return {
        "Content-Security-Policy": _CSP,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


async def page(request: web.Request) -> web.StreamResponse:
    name, role = PAGES[request.path]
    principal = request.get(PRINCIPAL_KEY)
    if principal is None or principal.via != "session":
        raise web.HTTPFound(f"/login?next={request.path}")
    if not principal.role.allows(role):
        body = (
            "<!doctype html><meta charset=utf-8><title>Not for this login</title>"
            f"<p>This page is for the {role} role; you are logged in as "
            f"{escape(principal.role.value)}. <a href=/console>Go to the console</a>"
        )
        return web.Response(status=403, text=body, content_type="text/html", headers=page_headers())
    shell = _static(name)[0].decode()
    user = principal.json() | {"csrf_token": principal.csrf_token}
    html = shell.replace("{{user}}", escape(json.dumps(user), quote=True))
    if "{{desk}}" in html:  # the console's first data, so that it draws without a round trip
        found = await desk(request.app[SERVICES], principal)
        # JSON in a non-script block: "<" escaped so that no text can close the element.
        html = html.replace("{{desk}}", json.dumps(found).replace("<", "\\u003c"))
    return web.Response(text=html, content_type="text/html", headers=page_headers())


async def login_page(request: web.Request) -> web.StreamResponse:
    return web.Response(
        text=_static("login.html")[0].decode(), content_type="text/html", headers=page_headers()
    )


async def home(request: web.Request) -> web.StreamResponse:
    principal = request.get(PRINCIPAL_KEY)
    if principal is None or principal.via != "session":
        raise web.HTTPFound("/login")
    raise web.HTTPFound(
        "/supervisor"
        if principal.role.allows(Role.SUPERVISOR) and principal.agent_id is None
        else "/console"
    )


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    suffix = name[name.rfind(".") :]
    if suffix not in _TYPES:
        raise web.HTTPNotFound()
    try:
        data, etag = _static(name)
    except FileNotFoundError:
        raise web.HTTPNotFound() from None
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, content_type=_TYPES[suffix], headers=headers)


def register(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/login", login_page)
    for path in PAGES:
        app.router.add_get(path, page)
    app.router.add_get(r"/static/{name:[a-z][a-z0-9_-]*\.[a-z]+}", static_file)
