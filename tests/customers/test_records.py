"""The shared customer record on both backends: resolution, conflicts, merge."""

from datetime import timedelta

import pytest

from contactcenter.customers.merge import merge_customers
from contactcenter.customers.records import CustomerFields, CustomerRecords
from contactcenter.customers.timeline import Timeline
from contactcenter.errors import Conflict, Invalid, Merged, NotFound
from contactcenter.interactions.records import InteractionRecords
from contactcenter.model import (
    Channel,
    Direction,
    IdentityKind,
    Initiator,
    InteractionStatus,
    Tier,
)
from contactcenter.people.agents import AgentDirectory, AgentFields
from contactcenter.runtime.clock import now


async def test_resolve_finds_one_customer_whichever_way_the_number_is_written(
    records: CustomerRecords,
) -> None:
    first = await records.resolve("phone", "+1 (800) 555-0100")
    assert first.created and first.customer.tier is Tier.TRANSACTIONAL
    assert not first.customer.verified
    for raw in ["1-800-555-0100", "18005550100"]:
        again = await records.resolve("phone", raw)
        assert not again.created and again.customer.id == first.customer.id
    assert [(i.kind, i.value) for i in first.customer.identities] == [
        (IdentityKind.PHONE, "+18005550100")
    ]


async def test_resolve_refuses_a_bad_identity_and_writes_nothing(
    records: CustomerRecords,
) -> None:
    with pytest.raises(Invalid, match="not a valid email"):
        await records.resolve("email", "nobody@")
    assert await records.search() == []


async def test_a_new_customer_is_answered_as_it_reads_back(records: CustomerRecords) -> None:
    """`create` builds its answer from what it inserted; it must equal reading it back."""
    created = await records.create(
        CustomerFields(name="Mei", organisation="Acme", tags=["vip"], language="zh"),
        [
            records.normalize("phone", "+1 617 555 0123"),
            records.normalize("email", "mei@example.com"),
            records.normalize("email", "mei.w@example.com"),
        ],
    )
    assert created == await records.get(created.id)
    bare = await records.get(created.id, identities=False)
    assert bare.identities == [] and bare.tier is created.tier and bare.language == "zh"


async def test_an_identity_belongs_to_exactly_one_customer(records: CustomerRecords) -> None:
    ana = await records.create(
        CustomerFields(name="Ana"), [records.normalize("email", "ana@example.com")]
    )
    with pytest.raises(Conflict, match=f"belongs to customer {ana.id}"):
        await records.create(
            CustomerFields(name="Other"), [records.normalize("email", "ANA@example.com")]
        )
    with pytest.raises(Conflict):
        other = await records.create(CustomerFields(name="Other"))
        await records.add_identity(other.id, "email", "ana@example.com")
    names = sorted(c.name for c in await records.search())
    assert names == ["Ana", "Other"]


async def test_account_manager_must_be_an_agent(db, records: CustomerRecords) -> None:
    with pytest.raises(NotFound, match="agent 99"):
        await records.create(CustomerFields(name="X", account_manager_id=99))
    agent = await AgentDirectory(db).create_agent(AgentFields(name="Mei"))
    customer = await records.create(CustomerFields(name="X", account_manager_id=agent["id"]))
    assert customer.account_manager_id == agent["id"]


async def test_search_by_name_organisation_or_any_identity(records: CustomerRecords) -> None:
    ana = await records.create(
        CustomerFields(name="Ana López", organisation="Acme Tools"),
        [records.normalize("phone", "+1 212 555 0142")],
    )
    await records.create(CustomerFields(name="Bo Chen", tier=Tier.KEY_ACCOUNT))
    assert [c.id for c in await records.search("acme")] == [ana.id]
    assert [c.id for c in await records.search("(212) 555-0142")] == [ana.id]
    assert [c.name for c in await records.search(tier=Tier.KEY_ACCOUNT)] == ["Bo Chen"]
    assert await records.search("100%_") == []


async def test_merge_moves_everything_and_redirects(
    records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    keep = await records.create(
        CustomerFields(name="Ana López", tags=["vip"]),
        [records.normalize("email", "ana@example.com")],
    )
    gone = (await records.resolve("phone", "+1 212 555 0142")).customer
    await records.update(gone.id, {"tier": "key_account", "organisation": "Acme", "tags": ["x"]})
    call = await interaction_records.open(gone.id, Channel.VOICE)
    await records.add_note(gone.id, "called about an invoice", None, call)

    result = await merge_customers(records, keep.id, gone.id)

    moved = {"identities": 1, "interactions": 1, "notes": 1, "customer_events": 1}  # tier change
    assert result.moved == moved
    survivor = result.survivor
    assert survivor.tier is Tier.KEY_ACCOUNT and survivor.organisation == "Acme"
    assert survivor.name == "Ana López" and survivor.tags == ["vip", "x"]
    assert {i.value for i in survivor.identities} == {"ana@example.com", "+12125550142"}
    assert (await records.resolve("phone", "2125550142")).customer.id == keep.id
    with pytest.raises(Merged) as redirect:
        await records.get(gone.id)
    assert redirect.value.survivor_id == keep.id
    page = await Timeline(customers=records, interactions=interaction_records).page(keep.id)
    kinds = [e["kind"] for e in page.entries]
    assert sorted(kinds) == ["event", "event", "interaction", "note"]
    merged = next(e for e in page.entries if e["kind"] == "event")  # the newest first
    assert merged["event"]["type"] == "customer.merged"
    assert merged["event"]["data"]["merged_id"] == gone.id
    assert [c.id for c in await records.search()] == [keep.id]


async def test_merge_refuses_different_crm_ids_and_changes_nothing(
    records: CustomerRecords,
) -> None:
    a = await records.create(CustomerFields(name="A"), [records.normalize("external_crm", "SF-1")])
    b = await records.create(CustomerFields(name="B"), [records.normalize("external_crm", "SF-2")])
    with pytest.raises(Conflict, match="different CRM ids"):
        await merge_customers(records, a.id, b.id)
    assert (await records.get(b.id)).identities[0].value == "SF-2"
    with pytest.raises(Invalid):
        await merge_customers(records, a.id, a.id)
    with pytest.raises(NotFound):
        await merge_customers(records, a.id, 999)


async def test_a_merged_customer_cannot_be_merged_again(records: CustomerRecords) -> None:
    a, b, c = [await records.create(CustomerFields(name=n)) for n in "ABC"]
    await merge_customers(records, b.id, c.id)
    await merge_customers(records, a.id, b.id)
    with pytest.raises(Merged) as chain:
        await records.get(c.id)
    assert chain.value.survivor_id == a.id
    with pytest.raises(Conflict, match="already merged"):
        await merge_customers(records, a.id, c.id)


async def test_timeline_is_newest_first_and_pages_by_cursor(
    records: CustomerRecords, interaction_records: InteractionRecords
) -> None:
    customer = (await records.resolve("email", "pat@example.com")).customer
    start = now() - timedelta(hours=1)
    ids = []
    for minute in range(7):
        ids.append(
            await interaction_records.open(
                customer.id, Channel.EMAIL, at=start + timedelta(minutes=minute)
            )
        )
    # Two at the very same instant still page without loss or repeat.
    same = start + timedelta(minutes=3)
    ids.append(await interaction_records.open(customer.id, Channel.CHAT, at=same))
    await interaction_records.transition(ids[0], InteractionStatus.ABANDONED)
    await interaction_records.add_message(
        ids[1], "Where is my order?", direction=Direction.INBOUND, author=Initiator.CUSTOMER
    )
    timeline = Timeline(customers=records, interactions=interaction_records)
    seen, cursor = [], None
    while True:
        page = await timeline.page(customer.id, limit=3, cursor=cursor)
        seen.extend(e["id"] for e in page.entries)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8
    stamps = [(await interaction_records.get(i))["created_at"] for i in seen]
    assert stamps == sorted(stamps, reverse=True)
    first = (await timeline.page(customer.id, limit=8)).entries
    oldest = first[-1]["interaction"]
    assert oldest["status"] == "abandoned" and oldest["ended_at"] is not None
    assert [e["type"] for e in oldest["events"]] == ["created", "status.abandoned"]
    second = first[-2]["interaction"]
    assert second["messages"][0]["body"] == "Where is my order?"
    with pytest.raises(Invalid, match="cursor"):
        await timeline.page(customer.id, cursor="garbage")
