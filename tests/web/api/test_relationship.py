"""Orders, the lifecycle stages they move, the lapsed sweep and the tier review, through the API
on both backends, as the order system and a supervisor use them."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from contactcenter import events as ev
from contactcenter.store.tables import customers, orders
from tests.conftest import Api


async def _customer(api: Api, **fields) -> dict:
    return await api.json("POST", "/api/v1/customers", "agent", status=201, json=fields)


async def _order(api: Api, customer_id: int, status: int = 201, **fields) -> dict:
    body = {"amount": "100.00"} | fields
    return await api.json(
        "POST", f"/api/v1/customers/{customer_id}/orders", "agent", status=status, json=body
    )


async def _timeline_events(api: Api, customer_id: int) -> list[dict]:
    page = await api.json("GET", f"/api/v1/customers/{customer_id}/timeline", "agent")
    return [e["event"] for e in page["entries"] if e["kind"] == "event"]


def _ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def test_orders_move_a_customer_through_every_stage(api: Api) -> None:
    async with api.services.bus.subscribe() as heard:
        mei = await _customer(api, name="Mei", lifecycle_stage="prospect")
        stages = []
        for n in range(1, 6):
            answer = await _order(api, mei["id"], external_ref=f"SO-{n}", products=["laptop"])
            stages.append(answer["customer"]["lifecycle_stage"])
        assert stages == ["first_purchase", "repeat", "repeat", "repeat", "loyal"]
        assert answer["lifecycle_change"] == {
            "from": "repeat",
            "to": "loyal",
            "reason": "5 orders within 12 months",
        }
        assert answer["order"]["amount"] == "100.00" and answer["order"]["products"] == ["laptop"]

        # A year of silence: the sweep lapses her; the next order wins her back.
        async with api.services.db.begin() as conn:
            old = datetime.now(UTC) - timedelta(days=400)
            await conn.execute(update(orders).values(ordered_at=old))
            await conn.execute(update(customers).values(last_order_at=old))
        swept = await api.json("POST", "/api/v1/lifecycle/sweep", "supervisor")
        assert swept == {"lapsed": 1}
        assert (await api.json("POST", "/api/v1/lifecycle/sweep", "supervisor")) == {"lapsed": 0}
        back = await _order(api, mei["id"], external_ref="SO-6")
        assert back["lifecycle_change"]["to"] == "won_back"
        again = await _order(api, mei["id"], external_ref="SO-7")
        assert again["customer"]["lifecycle_stage"] == "repeat"

        events = await _timeline_events(api, mei["id"])
        moves = [(e["data"]["from"], e["data"]["to"]) for e in reversed(events)]
        assert moves == [
            ("prospect", "first_purchase"),
            ("first_purchase", "repeat"),
            ("repeat", "loyal"),
            ("loyal", "lapsed"),
            ("lapsed", "won_back"),
            ("won_back", "repeat"),
        ]
        assert events[2]["data"]["reason"] == "no order for 365 days"
        published = []
        while not heard.queue.empty():
            event = heard.queue.get_nowait()
            if isinstance(event, ev.LifecycleChanged):
                published.append(event.to_stage)
        assert published == ["first_purchase", "repeat", "loyal", "lapsed", "won_back", "repeat"]


async def test_an_order_reported_twice_is_stored_once(api: Api) -> None:
    ana = await _customer(api, name="Ana")
    first = await _order(api, ana["id"], external_ref="SO-1", amount="19.90")
    again = await _order(api, ana["id"], status=200, external_ref="SO-1", amount="19.90")
    assert again["order"] == first["order"] and again["lifecycle_change"] is None
    listed = await api.json("GET", f"/api/v1/customers/{ana['id']}/orders", "agent")
    assert [o["external_ref"] for o in listed["orders"]] == ["SO-1"]
    other = await _customer(api, name="Bo")
    taken = await api.call(
        "POST",
        f"/api/v1/customers/{other['id']}/orders",
        "agent",
        json={"amount": 1, "external_ref": "SO-1"},
    )
    assert taken.status == 409 and "belongs to customer" in (await taken.json())["error"]["message"]


async def test_bad_orders_are_refused_and_change_nothing(api: Api) -> None:
    ana = await _customer(api, name="Ana", lifecycle_stage="prospect")
    cases = [
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "10", "currency": "EUR"}, "currency"),
        ({"amount": "10", "ordered_at": "2026-01-01T00:00:00"}, "ordered_at"),  # no zone
        ({"amount": "10", "ordered_at": _ago(-3)}, "ordered_at"),  # the future
        ({"amount": "10", "products": ["x" * 101]}, "products.0"),
        ({"amount": "10", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await api.call(
            "POST", f"/api/v1/customers/{ana['id']}/orders", "agent", json=body
        )
        error = (await response.json())["error"]
        assert response.status == 422 and error["field"] == field, (body, error)
    missing = await api.call("POST", "/api/v1/customers/999999/orders", "agent", json={"amount": 1})
    assert missing.status == 404
    unchanged = await api.json("GET", f"/api/v1/customers/{ana['id']}", "agent")
    assert unchanged["lifecycle_stage"] == "prospect" and unchanged["last_order_at"] is None


async def test_an_order_reported_late_does_not_win_anyone_back(api: Api) -> None:
    bo = await _customer(api, name="Bo", lifecycle_stage="lapsed")
    answer = await _order(api, bo["id"], ordered_at=_ago(500))
    assert answer["lifecycle_change"] is None and answer["customer"]["lifecycle_stage"] == "lapsed"
    assert answer["customer"]["last_order_at"] is not None


async def test_the_tier_review_suggests_and_a_supervisor_decides(api: Api) -> None:
    big = await _customer(api, name="Big Buyer")
    mid = await _customer(api, name="Mid Buyer", tier="key_account")
    quiet = await _customer(api, name="No Orders", tier="key_account")
    await _order(api, big["id"], amount="150000.00")
    await _order(api, mid["id"], amount="20000.00")
    await _order(api, mid["id"], amount="90000.00", ordered_at=_ago(400))  # before the window
    assert quiet  # never ordered: the review leaves them alone

    forbidden = await api.call("POST", "/api/v1/tier-reviews/run", "agent")
    assert forbidden.status == 403
    run = await api.json("POST", "/api/v1/tier-reviews/run", "supervisor")
    assert run["suggested"] == 2
    listed = (await api.json("GET", "/api/v1/tier-reviews", "supervisor"))["reviews"]
    by_name = {r["customer_name"]: r for r in listed}
    assert set(by_name) == {"Big Buyer", "Mid Buyer"}
    assert (by_name["Big Buyer"]["current_tier"], by_name["Big Buyer"]["suggested_tier"]) == (
        "transactional",
        "key_account",
    )
    assert by_name["Mid Buyer"]["suggested_tier"] == "relationship"
    assert by_name["Mid Buyer"]["value"] == "20000.00"

    accepted = await api.json(
        "POST", f"/api/v1/tier-reviews/{by_name['Big Buyer']['id']}/accept", "supervisor"
    )
    assert accepted["status"] == "accepted" and accepted["decided_by_user_id"] is not None
    assert (await api.json("GET", f"/api/v1/customers/{big['id']}", "agent"))["tier"] == (
        "key_account"
    )
    tier_events = [e for e in await _timeline_events(api, big["id"]) if e["type"] == "tier_changed"]
    assert (
        tier_events[0]["data"]["reason"] == "tier review: orders worth 150000.00 USD in 12 months"
    )
    twice = await api.call(
        "POST", f"/api/v1/tier-reviews/{by_name['Big Buyer']['id']}/dismiss", "supervisor"
    )
    assert twice.status == 409

    await api.json(
        "POST", f"/api/v1/tier-reviews/{by_name['Mid Buyer']['id']}/dismiss", "supervisor"
    )
    assert (await api.json("GET", f"/api/v1/customers/{mid['id']}", "agent"))["tier"] == (
        "key_account"
    )  # never changed without a decision
    rerun = await api.json("POST", "/api/v1/tier-reviews/run", "supervisor")
    assert rerun["suggested"] == 0  # accepted, and dismissed: not suggested again
    dismissed = await api.json("GET", "/api/v1/tier-reviews?status=dismissed", "supervisor")
    assert [r["customer_name"] for r in dismissed["reviews"]] == ["Mid Buyer"]
    missing = await api.call("POST", "/api/v1/tier-reviews/999999/accept", "supervisor")
    assert missing.status == 404


async def test_a_tier_or_stage_changed_by_hand_is_on_the_timeline(api: Api) -> None:
    kim = await _customer(api, name="Kim")
    await api.json(
        "PATCH",
        f"/api/v1/customers/{kim['id']}",
        "agent",
        json={"tier": "relationship", "lifecycle_stage": "prospect", "name": "Kim Lee"},
    )
    events = await _timeline_events(api, kim["id"])
    changes = sorted((e["type"], e["data"]["from"], e["data"]["to"]) for e in events)
    assert changes == [
        ("lifecycle_changed", None, "prospect"),
        ("tier_changed", "transactional", "relationship"),
    ]
    assert all(e["data"]["by_user_id"] is not None for e in events)
