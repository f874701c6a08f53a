"""Logging in, sessions with CSRF protection, API tokens, and roles checked on every endpoint."""

import pytest

from contactcenter.app import ROUTE_TABLES
from contactcenter.model import Role
from tests.conftest import Api


async def test_login_session_and_csrf(api: Api) -> None:
    await api.json(
        "POST",
        "/api/v1/users",
        "admin",
        status=201,
        json={"username": "sam", "password": "correct horse battery", "role": "supervisor"},
    )
    client = api.client
    wrong = await client.post(
        "/api/v1/auth/login", json={"username": "sam", "password": "wrong password!"}
    )
    assert wrong.status == 401 and "cc_session" not in wrong.cookies
    ok = await client.post(
        "/api/v1/auth/login", json={"username": "sam", "password": "correct horse battery"}
    )
    body = await ok.json()
    assert ok.status == 200 and body["user"]["role"] == "supervisor"
    cookie = ok.cookies["cc_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    me = await client.get("/api/v1/auth/me")
    assert (await me.json())["user"]["username"] == "sam"

    # A state-changing request riding on the cookie alone is refused and writes nothing.
    forged = await client.post("/api/v1/groups", json={"name": "forged"})
    assert forged.status == 403 and (await forged.json())["error"]["code"] == "csrf"
    made = await client.post(
        "/api/v1/groups", json={"name": "real"}, headers={"X-CSRF-Token": body["csrf_token"]}
    )
    assert made.status == 201
    groups = await api.json("GET", "/api/v1/groups", "agent")
    assert [g["name"] for g in groups["groups"]] == ["real"]

    out = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert out.status == 204
    assert (await client.get("/api/v1/auth/me")).status == 401


async def test_tokens_are_shown_once_and_can_be_revoked(api: Api) -> None:
    users = await api.json("GET", "/api/v1/users", "admin")
    agent_user = next(u for u in users["users"] if u["role"] == "agent")
    made = await api.json(
        "POST",
        "/api/v1/tokens",
        "admin",
        status=201,
        json={"user_id": agent_user["id"], "name": "crm sync"},
    )
    secret = made["token"]
    listed = await api.json("GET", "/api/v1/tokens", "admin")
    assert secret not in str(listed) and made["prefix"] in str(listed)
    auth = {"Authorization": f"Bearer {secret}"}
    me = await api.client.get("/api/v1/auth/me", headers=auth)
    assert (await me.json())["user"]["role"] == "agent"
    await api.json("DELETE", f"/api/v1/tokens/{made['id']}", "admin", status=204)
    gone = await api.client.get("/api/v1/auth/me", headers=auth)
    assert gone.status == 401 and "revoked" in (await gone.json())["error"]["message"]


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer not-a-token"])
async def test_bad_credentials_are_401(api: Api, header: str) -> None:
    response = await api.client.get("/api/v1/customers", headers={"Authorization": header})
    assert response.status == 401


def _sample_path(path: str) -> str:
    import re

    return re.sub(r"\{\w+:[^}]+\}", "1", path)


async def test_every_endpoint_refuses_the_roles_below_its_own(api: Api) -> None:
    checked = 0
    for table in ROUTE_TABLES:
        for endpoint in table.endpoints:
            if endpoint.role is None:
                continue
            path = _sample_path(endpoint.path)
            anonymous = await api.call(endpoint.method, path, role=None, json={})
            assert anonymous.status == 401, (endpoint.method, path)
            for role in Role:
                if role.allows(endpoint.role):
                    continue
                refused = await api.call(endpoint.method, path, role=role.value, json={})
                assert refused.status == 403, (endpoint.method, path, role)
                checked += 1
    assert checked >= 15


async def test_password_rules_and_taken_usernames(api: Api) -> None:
    short = await api.json(
        "POST",
        "/api/v1/users",
        "admin",
        status=422,
        json={"username": "kim", "password": "short", "role": "agent"},
    )
    assert short["error"]["field"] == "password"
    taken = await api.json(
        "POST",
        "/api/v1/users",
        "admin",
        status=409,
        json={"username": "agent-user", "password": "long enough pw", "role": "agent"},
    )
    assert taken["error"]["field"] == "username"


async def test_wrong_passwords_are_throttled_per_username(api: Api) -> None:
    """Five wrong passwords are free; then 429 with Retry-After, the right one included."""
    for _ in range(5):
        response = await api.call(
            "POST",
            "/api/v1/auth/login",
            None,
            json={"username": "agent-user", "password": "wrong-wrong!"},
        )
        assert response.status == 401
    for password in ("wrong-wrong!", "password-" * 2):
        response = await api.call(
            "POST",
            "/api/v1/auth/login",
            None,
            json={"username": "Agent-User", "password": password},
        )
        assert response.status == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert "try again" in (await response.json())["error"]["message"]
    other = await api.call(
        "POST",
        "/api/v1/auth/login",
        None,
        json={"username": "admin-user", "password": "password-" * 2},
    )
    assert other.status == 200  # another username from the same address still logs in


async def test_an_api_token_cannot_revoke_itself(api: Api) -> None:
    tokens = (await api.json("GET", "/api/v1/tokens"))["tokens"]
    [own] = [
        t
        for t in tokens
        if t["user_id"] == (await api.json("GET", "/api/v1/auth/me"))["user"]["id"]
    ]
    response = await api.call("DELETE", f"/api/v1/tokens/{own['id']}")
    assert response.status == 409
    assert (await api.call("GET", "/api/v1/tokens")).status == 200
