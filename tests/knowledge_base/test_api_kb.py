"""The knowledge base's REST API on both backends, with search by words only (as without the
semantic extra): supervisors and admins write, agents read; versions; search with filters and
its mode; bad input named and changing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactcenter.settings import Settings, load_settings
from tests.conftest import Api

ARTICLES = "/api/v1/kb/articles"
RETURNS = {
    "title": "Return an item",
    "status": "published",
    "tags": ["returns"],
    "products": ["web shop"],
    "body": "Start the return under Orders within 30 days.",
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {}, database_url=database_url, data_dir=tmp_path / "data", semantic_search=False
    )


async def test_supervisors_and_admins_write_agents_read(api: Api) -> None:
    refused = await api.call("POST", ARTICLES, "agent", json=RETURNS)
    assert refused.status == 403
    assert await api.json("GET", ARTICLES, "agent") == []
    article = await api.json("POST", ARTICLES, "supervisor", 201, json=RETURNS)
    assert (article["slug"], article["version"]) == ("return-an-item", 1)

    path = f"{ARTICLES}/{article['id']}"
    assert (await api.call("PATCH", path, "agent", json={"title": "Returns"})).status == 403
    changed = await api.json("PATCH", path, "admin", json={"short_answer": "Within 30 days."})
    assert changed["version"] == 2 and changed["title"] == "Return an item"
    versions = await api.json("GET", f"{path}/versions", "agent")
    assert [v["version"] for v in versions] == [1, 2]
    assert (await api.json("GET", path, "agent"))["short_answer"] == "Within 30 days."
    assert (await api.call("GET", path, None)).status == 401


async def test_search_filters_and_says_its_mode(api: Api) -> None:
    await api.json("POST", ARTICLES, "supervisor", 201, json=RETURNS)
    draft = RETURNS | {"title": "Holiday returns", "status": "draft", "slug": "holiday-returns"}
    await api.json("POST", ARTICLES, "supervisor", 201, json=draft)
    zh = {"title": "退货", "status": "published", "locale": "zh", "body": "三十天内可以退货。"}
    await api.json("POST", ARTICLES, "supervisor", 201, json=zh)

    found = await api.json("GET", "/api/v1/kb/search", "agent", params={"q": "return"})
    assert found["mode"] == "lexical"
    assert [h["title"] for h in found["hits"]] == ["Return an item"]
    every = await api.json(
        "GET", "/api/v1/kb/search", "agent", params={"q": "returns", "status": "any"}
    )
    assert {h["title"] for h in every["hits"]} == {"Return an item", "Holiday returns"}
    chinese = await api.json(
        "GET", "/api/v1/kb/search", "agent", params={"q": "退货", "locale": "zh"}
    )
    assert [h["title"] for h in chinese["hits"]] == ["退货"]
    other = await api.json(
        "GET", "/api/v1/kb/search", "agent", params={"q": "return", "product": "printer"}
    )
    assert other["hits"] == []
    assert (await api.json("GET", "/readyz", None))["search"] == "lexical"


async def test_bad_input_is_named_and_changes_nothing(api: Api) -> None:
    cases = [
        ({"title": "", "body": "x"}, "title"),
        (RETURNS | {"status": "finished"}, "status"),
        (RETURNS | {"colour": "red"}, "colour"),
        (RETURNS | {"tags": "returns"}, "tags"),
    ]
    for body, field in cases:
        response = await api.call("POST", ARTICLES, "supervisor", json=body)
        assert response.status == 422, body
        assert (await response.json())["error"]["field"] == field
    assert await api.json("GET", ARTICLES, "agent") == []
    await api.json("POST", ARTICLES, "supervisor", 201, json=RETURNS)
    same_slug = RETURNS | {"slug": "return-an-item"}
    taken = await api.call("POST", ARTICLES, "supervisor", json=same_slug)
    assert taken.status == 409
    empty = await api.call("GET", "/api/v1/kb/search", "agent", params={"q": "  "})
    assert empty.status == 422 and (await empty.json())["error"]["field"] == "q"
    unknown = await api.call("PATCH", f"{ARTICLES}/999", "supervisor", json={"title": "x"})
    assert unknown.status == 404


async def test_articles_with_the_same_long_title_get_slugs_within_their_length(api: Api) -> None:
    slugs = []
    for _ in range(3):
        made = await api.json("POST", ARTICLES, json={"title": "0" * 300, "body": "x"}, status=201)
        slugs.append(made["slug"])
    assert len(set(slugs)) == 3 and all(len(slug) <= 120 for slug in slugs)
    assert slugs[1].endswith("-2") and slugs[2].endswith("-3")
