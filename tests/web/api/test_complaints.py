"""Complaint cases through the API on both backends: opened by the wrap-up flag (once), owned by
the policy's rules, acknowledged to the customer by mail, followed up, resolved and closed; the
owner reminded and the supervisors told when overdue, each once, across a restart."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from contactcenter.complaints.sweep import ComplaintSweep
from contactcenter.events import ComplaintDue, ComplaintOpened
from contactcenter.model import Channel, Presence
from contactcenter.runtime.clock import now
from contactcenter.settings import Settings, load_settings
from contactcenter.store.tables import outbox
from routing.policy import DEFAULT_POLICY
from tests.conftest import Api

POLICY = """
complaints:
  owners: {senior: sue@example.com}
  default_owner: ana@example.com
  escalate_to: [head@example.com]
"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Iterator[Settings]:
    policy = tmp_path / "relationship.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    routing = tmp_path / "routing.yaml"  # the senior team works office hours in Berlin
    routing.write_text(
        DEFAULT_POLICY.read_text(encoding="utf-8")
        + '\nhours:\n  timezone: Europe/Berlin\n  senior: {mon-fri: "09:00-17:00"}\n',
        encoding="utf-8",
    )
    yield load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        relationship_policy=policy,
        routing_policy=routing,
        support_addresses="support@example.com",
    )


async def _emails(api: Api, team: dict[str, Any]) -> None:
    """The agents' addresses; and the background sweep stopped: each test runs it itself."""
    await api.services.complaint_sweep.stand_down()
    for name in ("ana", "sue"):
        await api.services.agents.update_agent(team[name], {"email": f"{name}@example.com"})


async def _handled(api: Api, team: dict[str, Any], who: str, customer_email: str) -> int:
    """An email handled by `who` from start to end, the customer's own address known."""
    customer = (await api.services.customers.resolve("email", customer_email)).customer
    interaction_id = await api.services.queue.enqueue(customer, Channel.EMAIL, subject="Broken")
    await api.json(
        "POST",
        f"/api/v1/interactions/{interaction_id}/move",
        "supervisor",
        json={"to_agent": team[who]},
    )
    await api.services.queue.set_presence(team[who], Presence.AVAILABLE)
    await api.json("POST", f"/api/v1/interactions/{interaction_id}/accept", who)
    return interaction_id


async def _mails(api: Api, kind: str = "complaint") -> list[Any]:
    async with api.services.db.connect() as conn:
        rows = await conn.execute(select(outbox).where(outbox.c.kind == kind).order_by(outbox.c.id))
        return list(rows)


async def test_the_wrap_up_flag_opens_one_case_that_is_acknowledged_and_worked_to_closure(
    api: Api, team: dict[str, Any]
) -> None:
    await _emails(api, team)
    interaction_id = await _handled(api, team, "sue", "mei@example.com")
    async with api.services.bus.subscribe() as heard:
        done = await api.json(
            "POST",
            f"/api/v1/interactions/{interaction_id}/complete",
            "sue",
            json={
                "disposition": "unresolved",
                "outcome": "the dock arrived broken",
                "complaint": True,
            },
        )
        opened = [e for e in _drain(heard) if isinstance(e, ComplaintOpened)]
    case_ref = done["complaint_case"]
    assert case_ref["reference"] == f"CMP-{case_ref['id']:06d}"
    again = await api.services.complaints.from_wrap_up(interaction_id, None)  # sent twice
    assert again.id == case_ref["id"]
    case = await api.json("GET", f"/api/v1/complaints/{case_ref['id']}", "agent")
    assert case["status"] == "open" and case["source"] == "wrap_up"
    assert case["interaction_ids"] == [interaction_id]
    assert case["summary"] == "the dock arrived broken"
    assert case["owner_agent_id"] == team["sue"]  # the policy's owner for sue's group, senior
    assert [(e.complaint_id, e.agent_id) for e in opened] == [(case["id"], team["sue"])]

    # The customer's acknowledgement, with the reference, through the outbox.
    await api.services.complaint_sweep.sweep()
    (ack,) = await _mails(api)
    assert ack.recipient == "mei@example.com"
    assert (await api.json("GET", f"/api/v1/complaints/{case['id']}", "agent"))[
        "acknowledged_at"
    ] is not None
    await api.services.complaint_sweep.sweep()
    assert len(await _mails(api)) == 1  # once

    base = f"/api/v1/complaints/{case['id']}"
    await api.json("POST", base + "/status", "sue", json={"status": "investigating"})
    short = await api.call("POST", base + "/status", "sue", json={"status": "resolved"})
    assert short.status == 422 and (await short.json())["error"]["field"] == "resolution"
    follow = await api.json(
        "POST", base + "/follow-up", "sue", status=201, json={"channel": "voice"}
    )
    call = follow["interaction"]
    assert (call["initiated_by"], call["channel"], call["status"]) == ("agent", "voice", "queued")
    assert follow["complaint"]["followup_interaction_id"] == call["id"]
    resolved = await api.json(
        "POST",
        base + "/status",
        "sue",
        json={"status": "resolved", "resolution": "a new dock sent", "outcome": "compensation"},
    )
    assert (resolved["status"], resolved["outcome"]) == ("resolved", "compensation")
    closed = await api.json("POST", base + "/status", "sue", json={"status": "closed"})
    assert closed["closed_at"] is not None and closed["overdue"] is False
    wrong = await api.call("POST", base + "/status", "sue", json={"status": "investigating"})
    assert wrong.status == 409
    late = await api.call("POST", base + "/follow-up", "sue", json={})
    assert late.status == 409

    timeline = await api.json("GET", f"/api/v1/customers/{case['customer_id']}/timeline", "agent")
    kinds = [e["event"]["type"] for e in timeline["entries"] if e["kind"] == "event"]
    assert kinds.count("complaint_moved") == 3 and "complaint_opened" in kinds
    assert "complaint_followed_up" in kinds
    mine = await api.json("GET", f"/api/v1/complaints?customer_id={case['customer_id']}", "agent")
    assert [c["id"] for c in mine["complaints"]] == [case["id"]]


async def test_owners_by_account_manager_and_by_default_and_interactions_must_be_theirs(
    api: Api, team: dict[str, Any]
) -> None:
    await _emails(api, team)
    key = (await api.services.customers.resolve("email", "big@example.com")).customer
    await api.services.customers.update(
        key.id, {"tier": "key_account", "account_manager_id": team["bo"]}
    )
    case = await api.json(
        "POST", "/api/v1/complaints", "agent", status=201, json={"customer_id": key.id}
    )
    assert case["owner_agent_id"] == team["bo"] and case["source"] == "api"
    assert case["tier"] == "key_account"
    assert case["due_at"] > case["opened_at"]
    plain = (await api.services.customers.resolve("email", "plain@example.com")).customer
    case = await api.json(
        "POST", "/api/v1/complaints", "agent", status=201, json={"customer_id": plain.id}
    )
    assert case["owner_agent_id"] == team["ana"]  # the policy's default owner
    other = await _handled(api, team, "ana", "other@example.com")
    refused = await api.call(
        "POST",
        "/api/v1/complaints",
        "agent",
        json={"customer_id": plain.id, "interaction_ids": [other]},
    )
    assert refused.status == 422
    assert (await refused.json())["error"]["field"] == "interaction_ids.0"
    assigned = await api.json(
        "POST",
        f"/api/v1/complaints/{case['id']}/owner",
        "supervisor",
        json={"agent_id": team["sue"]},
    )
    assert assigned["owner_agent_id"] == team["sue"]
    forbidden = await api.call(
        "POST", f"/api/v1/complaints/{case['id']}/owner", "agent", json={"agent_id": team["sue"]}
    )
    assert forbidden.status == 403


async def test_the_owner_is_reminded_and_the_supervisors_told_once_each_across_a_restart(
    api: Api, team: dict[str, Any], settings: Settings
) -> None:
    await _emails(api, team)
    customer = (await api.services.customers.resolve("phone", "+16175550100")).customer
    case = await api.json(
        "POST", "/api/v1/complaints", "agent", status=201, json={"customer_id": customer.id}
    )  # no email address: nothing to acknowledge by mail
    sweep = api.services.complaint_sweep
    await sweep.sweep()
    assert await _mails(api) == []
    due = now() + timedelta(days=10)  # transactional
    async with api.services.bus.subscribe() as heard:
        assert await sweep.sweep(due - timedelta(hours=23)) == 1  # the reminder
        assert await sweep.sweep(due - timedelta(hours=22)) == 0
        restarted = ComplaintSweep(
            db=api.services.db,
            policy=sweep.policy,
            outbox=api.services.outbox,
            events=api.services.bus,
            mail_from="support@example.com",
            zone=sweep.zone,
        )
        assert await restarted.sweep(due + timedelta(minutes=1)) == 1  # the escalation
        assert await restarted.sweep(due + timedelta(days=1)) == 0
        dues = [e for e in _drain(heard) if isinstance(e, ComplaintDue)]
    assert [(e.complaint_id, e.overdue) for e in dues] == [(case["id"], False), (case["id"], True)]
    reminder, escalation = await _mails(api)
    assert reminder.recipient == "ana@example.com"  # the default owner
    assert escalation.recipient == "head@example.com"


def _drain(subscription: Any) -> list[Any]:
    found = []
    while not subscription.queue.empty():
        found.append(subscription.queue.get_nowait())
    return found


async def test_supervisors_see_open_overdue_and_complaints_per_thousand(
    api: Api, team: dict[str, Any]
) -> None:
    await _emails(api, team)
    calls = []
    for n in range(4):
        customer = (await api.services.customers.resolve("email", f"c{n}@example.com")).customer
        calls.append(
            await api.services.queue.enqueue(
                customer, Channel.VOICE, subject="Call", products=["dock"] if n < 2 else []
            )
        )
    first = await api.services.interactions.get(calls[0])
    await api.json(
        "POST",
        "/api/v1/complaints",
        "agent",
        status=201,
        json={
            "customer_id": first["customer_id"],
            "interaction_ids": [calls[0]],
            "products": ["dock"],
        },
    )
    report = await api.json("GET", "/api/v1/reports/complaints?days=7", "supervisor")
    assert report["now"] == {"open": 1, "overdue": 0, "unassigned": 0}
    assert (report["complaints"], report["interactions"]) == (1, 4)
    assert report["by_channel"] == [
        {"key": "voice", "complaints": 1, "interactions": 4, "per_1000": 250.0}
    ]
    assert report["by_product"] == [
        {"key": "dock", "complaints": 1, "interactions": 2, "per_1000": 500.0}
    ]
    assert report["by_tier"][0]["key"] == "transactional"
    board = await api.json("GET", "/api/v1/board", "supervisor")
    assert board["complaints"] == {"open": 1, "overdue": 0, "unassigned": 0}
    await api.json("GET", "/api/v1/reports/complaints", "agent", status=403)


async def test_the_owner_is_not_reminded_while_their_team_is_closed(
    api: Api, team: dict[str, Any]
) -> None:
    await _emails(api, team)
    handled = await _handled(api, team, "sue", "late@example.com")  # sue: senior, owner
    await api.json(
        "POST",
        f"/api/v1/interactions/{handled}/complete",
        "sue",
        json={"disposition": "unresolved", "complaint": True},
    )
    (case,) = (await api.json("GET", "/api/v1/complaints", "agent"))["complaints"]
    assert case["owner_agent_id"] == team["sue"]
    due = datetime.fromisoformat(case["due_at"])
    berlin = ZoneInfo("Europe/Berlin")
    saturday = due.astimezone(berlin)
    while saturday.weekday() != 5:
        saturday += timedelta(days=1)
    sweep = api.services.complaint_sweep
    await sweep.sweep(saturday.replace(hour=12))
    assert [m.kind for m in await _mails(api) if m.recipient != "late@example.com"] == []
    monday = (saturday + timedelta(days=2)).replace(hour=10)
    assert await sweep.sweep(monday) == 2  # the reminder and the escalation, on Monday
    recipients = sorted(m.recipient for m in await _mails(api))
    assert recipients == ["head@example.com", "late@example.com", "sue@example.com"]


async def test_a_flag_whose_case_was_never_opened_gets_one_from_the_sweep(
    api: Api, team: dict[str, Any]
) -> None:
    """The flag is stored with the wrap-up; had the process stopped before the case was opened,
    the next sweep opens it (once)."""
    await _emails(api, team)
    interaction_id = await _handled(api, team, "ana", "lost@example.com")
    await api.services.interactions.record_outcome(interaction_id, complaint=True)
    assert (await api.json("GET", "/api/v1/complaints", "agent"))["complaints"] == []
    sweep = api.services.complaint_sweep
    await sweep.sweep()
    (case,) = (await api.json("GET", "/api/v1/complaints", "agent"))["complaints"]
    assert (case["source"], case["interaction_ids"]) == ("wrap_up", [interaction_id])
    await sweep.sweep()
    assert len((await api.json("GET", "/api/v1/complaints", "agent"))["complaints"]) == 1
