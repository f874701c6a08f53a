"""Every class of bad request gets a clear JSON error naming what is wrong, and writes nothing."""

import json

import pytest
import structlog
from sqlalchemy import func, select

from contactcenter.store.tables import customers, identities
from contactcenter.web.api import customers as api_customers
from tests.conftest import Api


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
        "application/json",
        422,
        "invalid",
        "identities.0.value",
    ),
    (
        b'{"name": "x", "identities": [{"kind": "phone", "value": "12"}]}',
        "application/json",
        422,
        "invalid",
        "identities.0.value",
    ),
    (
        b'{"identities": [{"kind": "pager", "value": "1"}]}',
        "application/json",
        422,
        "invalid",
        "identities.0.kind",
    ),
    (b'{"account_manager_id": 77}', "application/json", 404, "not_found", "account_manager_id"),
    (b"name=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type", None),
]


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
    await api.json(
        "POST",
        "/api/v1/customers",
        "agent",
        status=201,
        json={"identities": [{"kind": "email", "value": "a@x.example"}]},
    )
    before = await _counts(api)
    clash = await api.json(
        "POST",
        "/api/v1/customers",
        "agent",
        status=409,
        json={
            "name": "second",
            "identities": [
                {"kind": "phone", "value": "+12125550100"},
                {"kind": "email", "value": "A@x.example"},
            ],
        },
    )
    assert clash["error"]["field"] == "identities"
    assert await _counts(api) == before


async def test_oversized_body_is_413(api: Api) -> None:
    limit = api.services.settings.max_body_bytes
    body = json.dumps({"name": "x" * (limit + 10)}).encode()
    response = await api.call(
        "POST",
        "/api/v1/customers",
        "agent",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    error = (await response.json())["error"]
    assert response.status == 413 and error["code"] == "too_large"
    assert await _counts(api) == (0, 0)


async def test_bad_patch_changes_nothing(api: Api) -> None:
    made = await api.json("POST", "/api/v1/customers", "agent", status=201, json={"name": "Ann"})
    path = f"/api/v1/customers/{made['id']}"
    for body, field in [
        ({"name": None}, "name"),
        ({"tier": "vip"}, "tier"),
        ({"x": 1}, "x"),
        ({"tags": ["ok", ""]}, "tags.1"),
    ]:
        error = await api.json("PATCH", path, "agent", status=422, json=body)
        assert error["error"]["field"] == field, error
    assert await api.json("GET", path, "agent") == made


async def test_not_found_and_bad_query(api: Api) -> None:
    missing = await api.json("GET", "/api/v1/customers/424242", "agent", status=404)
    assert missing["error"] == {
        "code": "not_found",
        "message": "customer 424242 does not exist",
        "field": None,
        "request_id": missing["error"]["request_id"],
    }
    assert (await api.json("GET", "/api/v1/nowhere", "agent", status=404))["error"]["code"]
    bad = await api.json("GET", "/api/v1/customers", "agent", status=422, params={"limit": "0"})
    assert bad["error"]["field"] == "limit"
    unknown = await api.json("GET", "/api/v1/customers", "agent", status=422, params={"x": "1"})
    assert unknown["error"]["code"] == "unknown_field"
    made = await api.json("POST", "/api/v1/customers", "agent", status=201, json={})
    cursor = await api.json(
        "GET",
        f"/api/v1/customers/{made['id']}/timeline",
        "agent",
        status=422,
        params={"cursor": "zz"},
    )
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


HUGE = 2**63  # one past the largest 64-bit integer


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", f"/api/v1/customers/{HUGE}", None, "customer_id"),
        ("GET", f"/api/v1/attachments/{HUGE * 10}", None, "attachment_id"),
        ("GET", f"/api/v1/attachments/1/pages/{HUGE}", None, "page"),
        ("GET", f"/api/v1/kb/articles/{HUGE}", None, "article_id"),
        ("GET", f"/api/v1/agents?group_id={HUGE * 37}", None, "group_id"),
        ("POST", "/api/v1/interactions", {"customer_id": HUGE, "channel": "email"}, "customer_id"),
        ("POST", "/api/v1/customers", {"account_manager_id": HUGE}, "account_manager_id"),
        ("POST", "/api/v1/customers", {"name": "A\u0000B"}, "name"),
        ("POST", "/api/v1/customers", {"name": "x", "tags": ["ok", "n\u0000ul"]}, "tags.1"),
    ],
)
async def test_numbers_and_text_no_database_can_store_are_4xx_naming_the_field(
    api: Api, method: str, path: str, body: object, field: str
) -> None:
    before = await _counts(api)
    response = await api.call(method, path, json=body) if body else await api.call(method, path)
    error = (await response.json())["error"]
    assert response.status == 422 and error["field"] == field, error
    assert await _counts(api) == before


async def test_a_kb_article_patched_with_a_null_slug_is_refused(api: Api) -> None:
    created = await api.json(
        "POST",
        "/api/v1/kb/articles",
        json={"title": "Reset your password", "body": "Use the link on the login page."},
        status=201,
    )
    response = await api.call("PATCH", f"/api/v1/kb/articles/{created['id']}", json={"slug": None})
    error = (await response.json())["error"]
    assert response.status == 422 and error["field"] == "slug", error


async def test_a_multipart_upload_without_a_boundary_is_400(api: Api) -> None:
    response = await api.call(
        "POST",
        "/api/v1/interactions/1/fax",
        "admin",
        data=b"--x--",
        headers={"Content-Type": "multipart/form-data"},
    )
    error = (await response.json())["error"]
    assert response.status == 400 and "boundary" in error["message"], error


async def test_work_for_a_merged_customer_goes_to_the_survivor(api: Api) -> None:
    keep = await api.json("POST", "/api/v1/customers", json={"name": "Kim"}, status=201)
    gone = await api.json("POST", "/api/v1/customers", json={"name": "Kim L."}, status=201)
    await api.json(
        "POST", f"/api/v1/customers/{keep['id']}/merge", "supervisor", json={"merge_id": gone["id"]}
    )
    made = await api.json(
        "POST",
        "/api/v1/interactions",
        "agent",
        json={"customer_id": gone["id"], "channel": "email"},
        status=201,
    )
    assert made["customer_id"] == keep["id"]


async def test_a_language_longer_than_its_column_is_refused(api: Api) -> None:
    made = await api.json("POST", "/api/v1/customers", "agent", json={"name": "Lin"}, status=201)
    long_tag = "tfu-ZUaonhqt-aHk0ye-9Un-V5NG80X0-Im0-kf0mqeKe-S2q"
    response = await api.call(
        "PATCH", f"/api/v1/customers/{made['id']}", "agent", json={"language": long_tag}
    )
    error = (await response.json())["error"]
    assert response.status == 422 and error["field"] == "language", error
