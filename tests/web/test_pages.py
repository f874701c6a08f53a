"""The service's own pages: who may open which, what they are sent, and the static files."""

from __future__ import annotations

import json
import re
from html import unescape

from contactcenter.model import Role
from tests.conftest import Api


async def _session(api: Api, role: Role) -> None:
    """Log the test client in (a cookie session) as a new user of `role`."""
    name = f"page-{role.value}"
    await api.services.accounts.create_user(name, "password-" * 2, role)
    login = await api.client.post(
        "/api/v1/auth/login", json={"username": name, "password": "password-" * 2}
    )
    assert login.status == 200


async def test_pages_need_a_session_and_send_the_browser_to_log_in(api: Api) -> None:
    for path in ("/console", "/supervisor", "/settings"):
        response = await api.client.get(path, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (302, f"/login?next={path}")
    # An API token is for other systems, not for the pages.
    token = await api.call("GET", "/console", "admin", allow_redirects=False)
    assert token.status == 302
    login = await api.client.get("/login")
    assert login.status == 200 and 'id="password"' in await login.text()


async def test_each_role_opens_its_pages_with_its_user_and_csrf_token(api: Api) -> None:
    await _session(api, Role.AGENT)
    home = await api.client.get("/", allow_redirects=False)
    assert home.headers["Location"] == "/console"
    console = await api.client.get("/console")
    html = await console.text()
    assert console.status == 200 and console.content_type == "text/html"
    assert "script-src 'self'" in console.headers["Content-Security-Policy"]
    assert console.headers["X-Frame-Options"] == "DENY"
    meta = re.search(r'<meta name="cc-user" content="([^"]+)">', html)
    assert meta is not None
    user = json.loads(unescape(meta.group(1)))
    assert user["username"] == "page-agent" and len(user["csrf_token"]) > 20
    refused = await api.client.get("/supervisor")
    assert refused.status == 403 and "supervisor role" in await refused.text()
    await _session(api, Role.SUPERVISOR)
    assert (await api.client.get("/supervisor")).status == 200
    assert (await api.client.get("/settings")).status == 403
    await _session(api, Role.ADMIN)
    assert (await api.client.get("/settings")).status == 200


async def test_static_files_come_from_the_package_with_an_etag(api: Api) -> None:
    script = await api.client.get("/static/console.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    assert "EventStream" in await script.text()
    etag = script.headers["ETag"]
    again = await api.client.get("/static/console.js", headers={"If-None-Match": etag})
    assert again.status == 304
    css = await api.client.get("/static/app.css")
    assert css.content_type == "text/css"
    for missing in ("/static/nothing.js", "/static/console.html", "/static/..%2Fpages.py"):
        assert (await api.client.get(missing)).status == 404, missing
