"""The consoles' REST: the agent's desk, the supervisor's board, moving waiting work, and the
day's chart and CSV."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from contactcenter.model import Channel
from tests.conftest import Api


async def _queued(api: Api, channel: Channel = Channel.CHAT, who: str = "+12125550142") -> int:
    customer = (await api.services.customers.resolve("phone", who)).customer
    await api.services.customers.update(customer.id, {"name": "Ann Lee"})
    return await api.services.queue.enqueue(customer, channel, subject="Where is my order?")


async def _available(api: Api, team: dict[str, Any], name: str) -> None:
    await api.json(
        "PUT", f"/api/v1/agents/{team[name]}/presence", name, json={"presence": "available"}
    )


async def test_the_desk_shows_an_offer_with_its_countdown_then_the_work(
    api: Api, team: dict[str, Any]
) -> None:
    chat = await _queued(api)
    await _available(api, team, "ana")
    desk = await api.json("GET", "/api/v1/console", "ana")
    (offer,) = desk["offers"]
    assert (offer["id"], offer["channel"], offer["customer_name"], offer["tier"]) == (
        chat,
        "chat",
        "Ann Lee",
        "transactional",
    )
    left = offer["expires_at"] - time.time()
    assert 0 < left <= desk["offer_seconds"]["chat"]
    assert desk["agent"]["presence"] == "available" and desk["agent"]["load"]["chat"] == 1
    await api.json("POST", f"/api/v1/interactions/{chat}/accept", "ana")
    desk = await api.json("GET", "/api/v1/console", "ana")
    assert desk["offers"] == [] and [w["id"] for w in desk["work"]] == [chat]
    assert desk["work"][0]["status"] == "active"
    # Someone else's desk holds none of it; a login without an agent has an empty desk.
    assert (await api.json("GET", "/api/v1/console", "bo"))["work"] == []
    assert (await api.json("GET", "/api/v1/console", "supervisor"))["agent"] is None


async def test_the_board_has_waiting_work_agents_and_both_windows(
    api: Api, team: dict[str, Any]
) -> None:
    waiting = await _queued(api, Channel.EMAIL)
    board = await api.json("GET", "/api/v1/board", "supervisor")
    (work,) = board["waiting"]
    assert (work["id"], work["status"], work["waits_for"]) == (waiting, "queued", ["general"])
    assert work["sla_state"] == "ok" and work["sla_seconds"] == 86400
    (tile,) = board["today"]["by_tier_channel"]
    assert (tile["tier"], tile["channel"], tile["waiting"], tile["offered"]) == (
        "transactional",
        "email",
        1,
        1,
    )
    # Inside its threshold the mail is not counted either way yet.
    assert tile["service_level"] is None and tile["undecided"] == 1
    assert {a["name"] for a in board["agents"]} == {"ana", "bo", "sue"}
    await _available(api, team, "ana")
    board = await api.json("GET", "/api/v1/board", "supervisor")
    ana = next(a for a in board["agents"] if a["name"] == "ana")
    assert ana["presence"] == "available" and [w["id"] for w in ana["work"]] == [waiting]
    assert board["waiting"][0]["status"] == "offered"
    await api.json("GET", "/api/v1/board", "agent", status=403)


async def test_a_supervisor_moves_waiting_work_to_another_group(
    api: Api, team: dict[str, Any]
) -> None:
    await _available(api, team, "sue")  # senior: the chat does not reach her by policy
    chat = await _queued(api)
    assert (await api.json("GET", f"/api/v1/interactions/{chat}"))["status"] == "queued"
    refused = await api.json(
        "POST",
        f"/api/v1/interactions/{chat}/move",
        "agent",
        status=403,
        json={"to_group": "senior"},
    )
    assert "supervisor" in refused["error"]["message"]
    unknown = await api.json(
        "POST",
        f"/api/v1/interactions/{chat}/move",
        "supervisor",
        status=409,
        json={"to_group": "nobody"},
    )
    assert "no group nobody" in unknown["error"]["message"]
    moved = await api.json(
        "POST", f"/api/v1/interactions/{chat}/move", "supervisor", json={"to_group": "senior"}
    )
    assert moved["status"] == "offered" and moved["agent_id"] == team["sue"]
    kinds = [e["type"] for e in moved["events"]]
    assert kinds[-3:] == ["status.transferred", "status.queued", "status.offered"]
    # Offered (or held) work is not waiting, so it does not move.
    again = await api.json(
        "POST",
        f"/api/v1/interactions/{chat}/move",
        "supervisor",
        status=409,
        json={"to_agent": team["ana"]},
    )
    assert "only waiting work moves" in again["error"]["message"]


async def test_a_waiting_item_moved_to_an_agent_goes_to_that_agent(
    api: Api, team: dict[str, Any]
) -> None:
    chat = await _queued(api)
    await api.json(
        "POST", f"/api/v1/interactions/{chat}/move", "supervisor", json={"to_agent": team["bo"]}
    )
    await _available(api, team, "ana")  # longest idle, but the work waits for bo first
    assert (await api.json("GET", f"/api/v1/interactions/{chat}"))["status"] == "queued"
    await _available(api, team, "bo")
    found = await api.json("GET", f"/api/v1/interactions/{chat}")
    assert (found["status"], found["agent_id"]) == ("offered", team["bo"])


async def test_the_days_csv_and_chart(api: Api, team: dict[str, Any]) -> None:
    chat = await _queued(api)
    await _available(api, team, "ana")
    await api.json("POST", f"/api/v1/interactions/{chat}/accept", "ana")
    await api.json(
        "POST",
        f"/api/v1/interactions/{chat}/complete",
        "ana",
        json={"disposition": "resolved", "complaint": True},
    )
    response = await api.call("GET", "/api/v1/reports/today.csv", "supervisor")
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    (row,) = list(csv.DictReader(io.StringIO(await response.text())))
    assert (row["interaction_id"], row["channel"], row["tier"]) == (
        str(chat),
        "chat",
        "transactional",
    )
    assert row["within_target"] == "yes" and row["disposition"] == "resolved"
    assert row["complaint"] == "yes" and float(row["wait_seconds"]) < 120
    chart = await api.call("GET", "/api/v1/reports/today/service-level.svg", "supervisor")
    svg = await chart.text()
    assert chart.content_type == "image/svg+xml" and svg.startswith("<svg")
    assert "Transactional: 100% of 1 today" in svg
    await api.json("GET", "/api/v1/reports/today.csv", "agent", status=403)


async def test_who_started_it_and_its_products_are_kept_and_reported(api: Api) -> None:
    """Work an agent raised (a follow-up they owe) is told apart from what customers started."""
    made = await api.json(
        "POST",
        "/api/v1/interactions",
        "agent",
        status=201,
        json={
            "identity": {"kind": "email", "value": "mei@example.com"},
            "channel": "email",
            "subject": "Follow-up on the dock",
            "initiated_by": "agent",
            "products": ["dock", "laptop"],
        },
    )
    assert (made["initiated_by"], made["products"]) == ("agent", ["dock", "laptop"])
    assert await api.json("GET", f"/api/v1/interactions/{made['id']}") == made
    await _queued(api, Channel.EMAIL)  # a customer's own
    response = await api.call("GET", "/api/v1/reports/today.csv", "supervisor")
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert sorted((r["initiated_by"], r["products"]) for r in rows) == [
        ("agent", "dock;laptop"),
        ("customer", ""),
    ]


async def test_the_csv_calls_work_inside_its_target_undecided(api: Api) -> None:
    waiting = await _queued(api, Channel.EMAIL)
    response = await api.call("GET", "/api/v1/reports/today.csv", "supervisor")
    (row,) = list(csv.DictReader(io.StringIO(await response.text())))
    assert row["interaction_id"] == str(waiting) and row["within_target"] == "undecided"


async def test_waiting_work_names_where_it_may_go_once_each(api: Api, team: dict[str, Any]) -> None:
    chat = await _queued(api)
    await api.json(
        "POST", f"/api/v1/interactions/{chat}/move", "supervisor", json={"to_agent": team["bo"]}
    )
    board = await api.json("GET", "/api/v1/board", "supervisor")
    (work,) = board["waiting"]
    assert work["waits_for"] == ["bo"]
    await api.json(
        "POST", f"/api/v1/interactions/{chat}/move", "supervisor", json={"to_group": "senior"}
    )
    (work,) = (await api.json("GET", "/api/v1/board", "supervisor"))["waiting"]
    assert work["waits_for"] == ["senior"]
