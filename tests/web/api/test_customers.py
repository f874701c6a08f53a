"""The customer API on both backends, as an integrating system or the console uses it."""

from tests.conftest import Api


async def _create(api: Api, **fields) -> dict:
    return await api.json("POST", "/api/v1/customers", "agent", status=201, json=fields)


async def test_create_read_update_and_search(api: Api) -> None:
    ana = await _create(
        api,
        name="Ana López",
        organisation="Acme Tools",
        tier="relationship",
        segment="small_business",
        identities=[
            {"kind": "phone", "value": "+1 (212) 555-0142"},
            {"kind": "email", "value": "Ana@Acme.example"},
        ],
    )
    assert {(i["kind"], i["value"]) for i in ana["identities"]} == {
        ("phone", "+12125550142"),
        ("email", "ana@acme.example"),
    }
    got = await api.json("GET", f"/api/v1/customers/{ana['id']}", "agent")
    assert got == ana

    changed = await api.json(
        "PATCH",
        f"/api/v1/customers/{ana['id']}",
        "agent",
        json={"tier": "key_account", "segment": None, "tags": ["renewal"]},
    )
    assert changed["tier"] == "key_account" and changed["segment"] is None
    assert changed["name"] == "Ana López" and changed["tags"] == ["renewal"]

    for term in ["acme", "212-555-0142", "ANA@acme.example"]:
        found = await api.json("GET", "/api/v1/customers", "agent", params={"q": term})
        assert [c["id"] for c in found["customers"]] == [ana["id"]], term
    tiers = await api.json("GET", "/api/v1/customers", "agent", params={"tier": "key_account"})
    assert len(tiers["customers"]) == 1


async def test_search_pages_by_id(api: Api) -> None:
    for n in range(5):
        await _create(api, name=f"Customer {n}")
    seen, after = [], None
    while True:
        params = {"limit": "2"} | ({"after": str(after)} if after else {})
        page = await api.json("GET", "/api/v1/customers", "agent", params=params)
        seen += [c["name"] for c in page["customers"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == [f"Customer {n}" for n in range(5)]


async def test_identities_are_added_and_taken_ones_refused(api: Api) -> None:
    a = await _create(api, name="A")
    b = await _create(api, name="B", identities=[{"kind": "fax", "value": "+1 212 555 0199"}])
    added = await api.json(
        "POST",
        f"/api/v1/customers/{a['id']}/identities",
        "agent",
        status=201,
        json={"kind": "chat_visitor", "value": "v-123"},
    )
    assert added["identities"][0]["value"] == "v-123"
    clash = await api.json(
        "POST",
        f"/api/v1/customers/{a['id']}/identities",
        "agent",
        status=409,
        json={"kind": "fax", "value": "(212) 555-0199"},
    )
    assert clash["error"]["code"] == "conflict" and str(b["id"]) in clash["error"]["message"]


async def test_merge_redirects_the_merged_id(api: Api) -> None:
    keep = await _create(api, name="Keep", identities=[{"kind": "email", "value": "k@x.example"}])
    gone = await _create(api, name="Gone", identities=[{"kind": "phone", "value": "2125550100"}])
    await api.json(
        "POST",
        f"/api/v1/customers/{gone['id']}/notes",
        "agent",
        status=201,
        json={"body": "prefers email"},
    )
    result = await api.json(
        "POST",
        f"/api/v1/customers/{keep['id']}/merge",
        "supervisor",
        json={"merge_id": gone["id"]},
    )
    assert result["moved"]["identities"] == 1 and result["moved"]["notes"] == 1

    response = await api.call(
        "GET", f"/api/v1/customers/{gone['id']}/timeline?limit=5", "agent", allow_redirects=False
    )
    assert response.status == 308
    assert response.headers["Location"] == f"/api/v1/customers/{keep['id']}/timeline?limit=5"
    followed = await api.json("GET", f"/api/v1/customers/{gone['id']}", "agent")
    assert followed["id"] == keep["id"]
    assert {i["value"] for i in followed["identities"]} == {"k@x.example", "+12125550100"}

    timeline = await api.json("GET", f"/api/v1/customers/{keep['id']}/timeline", "agent")
    kinds = [e["kind"] for e in timeline["entries"]]
    assert kinds == ["event", "note"]
    assert timeline["entries"][0]["event"]["type"] == "customer.merged"


async def test_merge_is_for_supervisors_and_refuses_different_crm_ids(api: Api) -> None:
    a = await _create(api, name="A", identities=[{"kind": "external_crm", "value": "SF-1"}])
    b = await _create(api, name="B", identities=[{"kind": "external_crm", "value": "SF-2"}])
    path = f"/api/v1/customers/{a['id']}/merge"
    refused = await api.json("POST", path, "agent", status=403, json={"merge_id": b["id"]})
    assert "supervisor" in refused["error"]["message"]
    clash = await api.json("POST", path, "supervisor", status=409, json={"merge_id": b["id"]})
    assert "different CRM ids" in clash["error"]["message"]
    assert (await api.json("GET", f"/api/v1/customers/{b['id']}", "agent"))["name"] == "B"
