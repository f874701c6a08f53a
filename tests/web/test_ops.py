"""Operations endpoints, the OpenAPI document, and the interactions API."""

from aiohttp import web
from sqlalchemy.ext.asyncio import create_async_engine

from contactcenter.model import Channel, Direction, Initiator, InteractionStatus
from contactcenter.web.pages import PAGES
from tests.conftest import Api


async def test_health_readiness_and_metrics(api: Api) -> None:
    assert (await api.json("GET", "/healthz", None)) == {"status": "ok"}
    ready = await api.json("GET", "/readyz", None)
    assert ready["status"] == "ok" and ready["database"] in ("sqlite", "postgresql")
    await api.call("GET", "/api/v1/customers", "agent")
    metrics = await (await api.call("GET", "/metrics", None)).text()
    assert (
        'contactcenter_http_requests_total{method="GET",route="/api/v1/customers",status="200"}'
        in metrics
    )
    assert "contactcenter_http_request_duration_seconds_bucket" in metrics


async def test_readyz_says_when_the_database_is_gone(api: Api) -> None:
    db = api.services.db
    await db.dispose()
    gone = db.url.set(database="/dev/null/cc.db") if db.is_sqlite else db.url.set(port=1)
    db.engine = create_async_engine(gone)
    response = await api.call("GET", "/readyz", None)
    assert response.status == 503
    assert (await response.json())["status"] == "unavailable"


async def test_openapi_describes_every_route_of_the_router(api: Api) -> None:
    doc = await api.json("GET", "/api/v1/openapi.json", None)
    assert doc["openapi"].startswith("3.")
    described = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    app: web.Application = api.client.server.app
    routed = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method == "HEAD":
            continue
        routed.add((route.method, path))
    # The pages (and the survey page's form) are HTML for browsers, not part of the API the
    # document describes.
    pages = {("GET", path) for path in ("/", "/login", "/static/{name}", "/survey/{token}", *PAGES)}
    pages.add(("POST", "/survey/{token}"))
    assert pages <= routed
    assert routed - pages == described
    customer = doc["paths"]["/api/v1/customers/{customer_id}"]["patch"]
    assert customer["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "CustomerCreate" in doc["components"]["schemas"]


async def test_interactions_are_listed_with_filters_and_read_in_full(api: Api) -> None:
    services = api.services
    ana = (await services.customers.resolve("phone", "+12125550142")).customer
    await services.customers.update(ana.id, {"tier": "key_account"})
    bo = (await services.customers.resolve("email", "bo@example.com")).customer
    call = await services.interactions.open(ana.id, Channel.VOICE)
    mail = await services.interactions.open(bo.id, Channel.EMAIL, subject="Invoice")
    await services.interactions.add_message(
        mail, "Please resend the invoice", direction=Direction.INBOUND, author=Initiator.CUSTOMER
    )
    await services.interactions.add_attachment(mail, "invoice.pdf", "application/pdf", b"%PDF-1.4")
    await services.interactions.transition(call, InteractionStatus.ABANDONED)

    everything = await api.json("GET", "/api/v1/interactions", "agent")
    assert [i["id"] for i in everything["interactions"]] == [mail, call]
    for params, expected in [
        ({"channel": "voice"}, [call]),
        ({"status": "abandoned"}, [call]),
        ({"tier": "key_account"}, [call]),
        ({"customer_id": str(bo.id)}, [mail]),
        ({"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z"}, []),
    ]:
        found = await api.json("GET", "/api/v1/interactions", "agent", params=params)
        assert [i["id"] for i in found["interactions"]] == expected, params
    naive = await api.json(
        "GET", "/api/v1/interactions", "agent", status=422, params={"since": "2020-01-01T00:00:00"}
    )
    assert naive["error"]["field"] == "since"

    full = await api.json("GET", f"/api/v1/interactions/{mail}", "agent")
    assert full["messages"][0]["body"] == "Please resend the invoice"
    attachment = full["attachments"][0]
    assert attachment["size"] == 8
    response = await api.call("GET", f"/api/v1/attachments/{attachment['id']}", "agent")
    assert response.status == 200 and await response.read() == b"%PDF-1.4"
    assert response.headers["Content-Type"] == "application/pdf"
