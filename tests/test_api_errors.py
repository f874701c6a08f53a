"""Every class of bad request gets a clear JSON error naming what is wrong, and writes nothing."""

import json

import pytest
import structlog
from conftest import Api
from sqlalchemy import func, select

from contactcenter.store.tables import customers, identities
from contactcenter.web import api_customers


async def _counts(api: Api) -> tuple[int, int]:
    async with api.services.db.connect() as conn:
        a = (await conn.execute(select(func.count()).select_from(customers))).scalar_one()
        b = (await conn.execute(select(func.count()).select_from(identities))).scalar_one()
    return a, b


BAD_CREATES = [
    # (body bytes, content type, status, code, field)
    (b'{"name": "x",', "application/json", 400, "malformed_json", None),
    (b"[1, 2]", "application/json", 422, "invalid", None),
    (b'{"name": 5}', "application/json", 422, "invalid", "name"),
    (b'{"name": "x", "tier": "gold"}', "application/json", 422, "invalid", "tier"),
    (b'{"name": "x", "verified": "yes"}', "application/json", 422, "invalid", "verified"),
    (b'{"name": "x", "colour": "red"}', "application/json", 422, "unknown_field", "colour"),
    (
        b'{"name": "x", "identities": [{"kind": "email", "value": "nope"}]}',
        "application/json", 422, "invalid", "identities.0.value",
    ),
    (
        b'{"name": "x", "identities": [{"kind": "phone", "value": "12"}]}',
        "application/json", 422, "invalid", "identities.0.value",
    ),
    (
        b'{"identities": [{"kind": "pager", "value": "1"}]}',
        "application/json", 422, "invalid", "identities.0.kind",
    ),
    (b'{"account_manager_id": 77}', "application/json", 404, "not_found", "account_manager_id"),
    (b"name=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type", None),
]  # fmt: skip


@pytest.mark.parametrize(("body", "ctype", "status", "code", "field"), BAD_CREATES)
async def test_bad_create_is_refused_and_writes_nothing(
    api: Api, body: bytes, ctype: str, status: int, code: str, field: str | None
) -> None:
    before = await _counts(api)
    response = await api.call(
        "POST", "/api/v1/customers", "agent", data=body, headers={"Content-Type": ctype}
    )
    error = (await response.json())["error"]
    assert (response.status, error["code"], error["field"]) == (status, code, field), error
    assert error["message"] and error["request_id"] == response.headers["X-Request-ID"]
    assert await _counts(api) == before


async def test_conflicting_identity_writes_nothing(api: Api) -> None:
    await api.json("POST", "/api/v1/customers", "agent", status=201,
                   json={"identities": [{"kind": "email", "value": "a@x.example"}]})  # fmt: skip
    before = await _counts(api)
    clash = await api.json(
        "POST", "/api/v1/customers", "agent", status=409,
        json={"name": "second", "identities": [
            {"kind": "phone", "value": "+12125550100"}, {"kind": "email", "value": "A@x.example"}
        ]},
    )  # fmt: skip
    assert clash["error"]["field"] == "identities"
    assert await _counts(api) == before


async def test_oversized_body_is_413(api: Api) -> None:
    limit = api.services.settings.max_body_bytes
    body = json.dumps({"name": "x" * (limit + 10)}).encode()
    response = await api.call(
        "POST", "/api/v1/customers", "agent", data=body,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    error = (await response.json())["error"]
    assert response.status == 413 and error["code"] == "too_large"
    assert await _counts(api) == (0, 0)


async def test_bad_patch_changes_nothing(api: Api) -> None:
    made = await api.json("POST", "/api/v1/customers", "agent", status=201, json={"name": "Ann"})
    path = f"/api/v1/customers/{made['id']}"
    for body, field in [({"name": None}, "name"), ({"tier": "vip"}, "tier"), ({"x": 1}, "x"),
                        ({"tags": ["ok", ""]}, "tags.1")]:  # fmt: skip
        error = await api.json("PATCH", path, "agent", status=422, json=body)
        assert error["error"]["field"] == field, error
    assert await api.json("GET", path, "agent") == made


async def test_not_found_and_bad_query(api: Api) -> None:
    missing = await api.json("GET", "/api/v1/customers/424242", "agent", status=404)
    assert missing["error"] == {
        "code": "not_found", "message": "customer 424242 does not exist", "field": None,
        "request_id": missing["error"]["request_id"],
    }  # fmt: skip
    assert (await api.json("GET", "/api/v1/nowhere", "agent", status=404))["error"]["code"]
    bad = await api.json("GET", "/api/v1/customers", "agent", status=422, params={"limit": "0"})
    assert bad["error"]["field"] == "limit"
    unknown = await api.json("GET", "/api/v1/customers", "agent", status=422, params={"x": "1"})
    assert unknown["error"]["code"] == "unknown_field"
    made = await api.json("POST", "/api/v1/customers", "agent", status=201, json={})
    cursor = await api.json(
        "GET", f"/api/v1/customers/{made['id']}/timeline", "agent", status=422,
        params={"cursor": "zz"},
    )  # fmt: skip
    assert cursor["error"]["field"] == "cursor"
    wrong = await api.json("DELETE", "/api/v1/customers", "admin", status=405)
    assert wrong["error"]["code"] == "method_not_allowed"


async def test_unexpected_exception_is_500_with_request_id_in_the_log(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api.services.customers, "search", broken)
    with structlog.testing.capture_logs() as logs:
        response = await api.call(
            "GET", "/api/v1/customers", "agent", headers={"X-Request-ID": "req-test-0001"}
        )
    text = await response.text()
    assert response.status == 500
    assert "secret internal detail" not in text and "Traceback" not in text
    assert json.loads(text)["error"]["request_id"] == "req-test-0001"
    failure = next(e for e in logs if e["event"] == "http.unhandled_error")
    assert failure["request_id"] == "req-test-0001" and failure["exc_info"]


def test_every_customer_endpoint_needs_a_role() -> None:
    assert all(e.role is not None for e in api_customers.routes.endpoints)
