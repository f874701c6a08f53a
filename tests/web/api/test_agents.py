"""Agents and groups: supervisors staff them, agents read them."""

from tests.conftest import Api


async def test_agents_and_groups_crud(api: Api) -> None:
    senior = await api.json(
        "POST",
        "/api/v1/groups",
        "supervisor",
        status=201,
        json={"name": "senior", "description": "Relationship customers"},
    )
    general = await api.json(
        "POST", "/api/v1/groups", "supervisor", status=201, json={"name": "general"}
    )
    agent = await api.json(
        "POST",
        "/api/v1/agents",
        "supervisor",
        status=201,
        json={
            "name": "Mei Tan",
            "email": "Mei@Example.com",
            "skills": ["lang:zh", "billing"],
            "capacity": {"chat": 4},
            "groups": [{"group_id": senior["id"], "level": 3}],
        },
    )
    assert agent["email"] == "mei@example.com"
    assert agent["capacity"] == {"voice": 1, "chat": 4, "email": 5, "fax": 5}
    assert agent["groups"] == [{"group_id": senior["id"], "name": "senior", "level": 3}]
    assert agent["presence"] == "offline"

    path = f"/api/v1/agents/{agent['id']}"
    changed = await api.json(
        "PATCH",
        path,
        "supervisor",
        json={
            "presence": "available",
            "capacity": {"email": 2},
            "groups": [{"group_id": general["id"]}],
        },
    )
    assert changed["presence"] == "available" and changed["capacity"]["email"] == 2
    assert changed["capacity"]["chat"] == 4 and changed["skills"] == ["lang:zh", "billing"]
    assert [g["name"] for g in changed["groups"]] == ["general"]
    assert changed["presence_since"] > agent["presence_since"]

    members = await api.json("GET", f"/api/v1/agents?group_id={general['id']}", "agent")
    assert [a["id"] for a in members["agents"]] == [agent["id"]]
    group = await api.json("GET", f"/api/v1/groups/{general['id']}", "agent")
    assert group["members"] == [{"agent_id": agent["id"], "level": 1}]

    missing = await api.json(
        "PATCH", path, "supervisor", status=404, json={"groups": [{"group_id": 999}]}
    )
    assert missing["error"]["field"] == "groups"
    dup = await api.json(
        "POST", "/api/v1/groups", "supervisor", status=409, json={"name": "senior"}
    )
    assert dup["error"]["field"] == "name"
    bad = await api.json(
        "POST", "/api/v1/groups", "supervisor", status=422, json={"name": "Has Spaces"}
    )
    assert bad["error"]["field"] == "name"

    await api.json("DELETE", f"/api/v1/groups/{general['id']}", "supervisor", status=204)
    assert (await api.json("GET", path, "agent"))["groups"] == []
    await api.json("DELETE", path, "supervisor", status=204)
    await api.json("GET", path, "agent", status=404)
