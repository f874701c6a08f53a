"""Article search on both backends: by title, body, tag, part of a word, a misspelling,
Chinese; filters by status, locale and product; highlighted snippets; the index follows edits."""

from __future__ import annotations

import pytest

from contactcenter.store.db import Database
from knowledge_base import vocabulary
from knowledge_base.articles import ArticleFields, ArticleStatus
from knowledge_base.records import ArticleRecords
from knowledge_base.search import ArticleSearch, SearchFilter

ARTICLES = [
    ArticleFields(
        title="Reset your password",
        tags=["account", "login"],
        products=["web shop"],
        body="Use **Forgot password** on the sign-in page. The link lasts one hour.",
        status=ArticleStatus.PUBLISHED,
    ),
    ArticleFields(
        title="Where is my order?",
        tags=["delivery", "tracking"],
        body="Track a parcel with the number in your shipping confirmation.",
        status=ArticleStatus.PUBLISHED,
        products=["web shop"],
    ),
    ArticleFields(
        title="Returns and refunds",
        tags=["returns"],
        body="Send the item back within 30 days; the refund follows in five days.",
        status=ArticleStatus.PUBLISHED,
    ),
    ArticleFields(
        title="退货政策",
        tags=["退货"],
        locale="zh",
        body="收到商品后三十天内可以申请退货，退款将在五个工作日内到账。",
        status=ArticleStatus.PUBLISHED,
    ),
    ArticleFields(
        title="Printer shows error E3",
        tags=["printer", "troubleshooting"],
        body="Open the tray, remove jammed paper, then restart the printer.",
        status=ArticleStatus.PUBLISHED,
        products=["printer x100"],
    ),
    ArticleFields(
        title="Password policy draft",
        body="Passwords will need twelve characters.",
        status=ArticleStatus.DRAFT,
    ),
]


@pytest.fixture
async def kb(db: Database) -> ArticleRecords:
    records = ArticleRecords(db=db, search=ArticleSearch(db=db))
    for fields in ARTICLES:
        await records.create(fields, None)
    return records


async def titles(kb: ArticleRecords, query: str, **where: object) -> list[str]:
    return [hit.title for hit in await kb.search.search(query, SearchFilter(**where))]  # type: ignore[arg-type]


async def test_found_by_title_body_and_tag(kb: ArticleRecords) -> None:
    assert (await titles(kb, "reset password"))[0] == "Reset your password"
    assert (await titles(kb, "parcel tracking number"))[0] == "Where is my order?"
    assert (await titles(kb, "troubleshooting"))[0] == "Printer shows error E3"


async def test_found_by_part_of_a_word_and_a_misspelling(kb: ArticleRecords) -> None:
    assert (await titles(kb, "passw"))[0] == "Reset your password"
    assert (await titles(kb, "refnds"))[0] == "Returns and refunds"
    assert "Printer shows error E3" in await titles(kb, "priner jamed")


async def test_chinese_is_found_by_a_word_of_two_characters_or_more(kb: ArticleRecords) -> None:
    assert await titles(kb, "退货") == ["退货政策"]
    assert (await titles(kb, "我想申请退款"))[0] == "退货政策"


async def test_drafts_and_other_locales_and_products_are_filtered(kb: ArticleRecords) -> None:
    assert "Password policy draft" not in await titles(kb, "password characters")
    assert "Password policy draft" in await titles(kb, "password characters", status=None)
    assert await titles(kb, "退货", locale="en") == []
    assert await titles(kb, "order", product="printer x100") == []
    assert (await titles(kb, "printer", product="printer x100")) == ["Printer shows error E3"]


async def test_snippets_are_escaped_with_the_words_marked(kb: ArticleRecords) -> None:
    [hit, *_] = await kb.search.search("sign-in link")
    assert "<mark>sign</mark>" in hit.snippet and "<mark>link</mark>" in hit.snippet
    assert "**" not in hit.snippet
    article = await kb.create(
        ArticleFields(
            title="Scripts", body="Never <script>alert(1)</script>", status=ArticleStatus.PUBLISHED
        ),
        None,
    )
    [hit] = [h for h in await kb.search.search("alert script") if h.article_id == article.id]
    assert "<script>" not in hit.snippet and "&lt;" in hit.snippet


async def test_the_index_follows_every_change(kb: ArticleRecords) -> None:
    article = (await kb.search.search("printer"))[0]
    await kb.update(
        article.article_id, {"title": "Scanner shows error E3", "body": "Close the lid."}, None
    )
    assert await titles(kb, "jammed paper") == []
    assert await titles(kb, "scanner") == ["Scanner shows error E3"]
    await kb.update(article.article_id, {"status": "archived"}, None)
    assert await titles(kb, "scanner") == []
    async with kb.search.db.connect() as conn:  # rarity is weighed against every article
        assert await vocabulary.articles(conn) == len(ARTICLES)
    versions = await kb.versions(article.article_id)
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["status"] for v in versions] == ["published", "published", "archived"]


async def test_a_filter_few_articles_pass_still_finds_them(db: Database) -> None:
    """Many better matches that the filter refuses do not hide the one it admits."""
    records = ArticleRecords(db=db, search=ArticleSearch(db=db))
    for n in range(230):
        await records.create(
            ArticleFields(
                title=f"Printer model {n}",
                tags=["printer"],
                body="Printer printer printer.",
                status=ArticleStatus.PUBLISHED,
            ),
            None,
        )
    await records.create(
        ArticleFields(
            title="打印机卡纸", locale="zh", body="型号 printer", status=ArticleStatus.PUBLISHED
        ),
        None,
    )
    found = await records.search.search("printer", SearchFilter(locale="zh"))
    assert [hit.title for hit in found] == ["打印机卡纸"]
