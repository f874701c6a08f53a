"""Article search behind one interface, native on each backend.

Two rankings are fused (reciprocal rank fusion): words, and trigrams for what words miss
(misspellings, part of a word, long runs of Chinese). SQLite: FTS5 tables with `bm25()` and
column weights (title above tags above body), one tokenized by words with Porter stemming, one by
trigrams. PostgreSQL: a weighted `tsvector` (title A, tags B, body C) ranked by `ts_rank_cd`, and
pg_trgm's word similarity over the plain text. Text in Chinese, Japanese or Korean is indexed as
pairs of characters (`articles.searchable`), so a two-character word is found as it is.

The indexes are kept in the transaction that changes the article (`put`), so search never sees
an article that is not stored, nor misses one that is.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.store.db import Database
from knowledge_base.articles import Article, ArticleStatus, has_cjk, searchable

WEIGHTS = (10.0, 4.0, 1.0)  # title, tags, body
TRIGRAM_SHARE = 0.5  # the trigram ranking's weight in the fusion, the words' being 1
_FUSION_K = 60
_TOKEN = re.compile(r"\w+")
_MOST_TOKENS = 48  # a long mail: its first words say the most
_CANDIDATES = 50


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Which articles may be found; customers only ever get published ones."""

    status: ArticleStatus | None = ArticleStatus.PUBLISHED
    locale: str | None = None
    product: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: int
    title: str
    score: float
    snippet: str  # HTML: the article's text escaped, the query's words in <mark>


def tokens(query: str) -> list[str]:
    """The query's words, lower case, once each, Chinese runs as pairs; at most `_MOST_TOKENS`."""
    return list(dict.fromkeys(t.lower() for t in _TOKEN.findall(searchable(query))))[:_MOST_TOKENS]


def trigram_terms(query: str) -> list[str]:
    """What the trigram ranking looks for: words of three or more letters, and runs of Chinese
    as written (their pairs are the word index's)."""
    words = [w.lower() for w in _TOKEN.findall(query) if len(w) >= 3]
    return list(dict.fromkeys(words))[:_MOST_TOKENS]


class ArticleSearch:
    """`put` and `remove` keep the index in the caller's transaction; `search` ranks."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sqlite = db.is_sqlite

    async def put(self, conn: AsyncConnection, article: Article) -> None:
        await self.remove(conn, article.id)
        title, tags, body = (searchable(article.title), searchable(" ".join(article.tags)),
                             searchable(article.body))  # fmt: skip
        if self.sqlite:
            values = {"id": article.id, "title": title, "tags": tags, "body": body}
            await conn.execute(
                text("INSERT INTO kb_search (rowid, title, tags, body) "
                     "VALUES (:id, :title, :tags, :body)"), values)  # fmt: skip
            plain = {"id": article.id, "title": article.title, "tags": " ".join(article.tags),
                     "body": article.body}  # fmt: skip
            await conn.execute(
                text("INSERT INTO kb_search_trigram (rowid, title, tags, body) "
                     "VALUES (:id, :title, :tags, :body)"), plain)  # fmt: skip
            return
        config = "english" if article.locale.startswith("en") else "simple"
        await conn.execute(
            text(
                "INSERT INTO kb_search (article_id, document, plain) VALUES (:id, "
                "setweight(to_tsvector(CAST(:config AS regconfig), :title), 'A') || "
                "setweight(to_tsvector(CAST(:config AS regconfig), :tags), 'B') || "
                "setweight(to_tsvector(CAST(:config AS regconfig), :body), 'C'), :plain)"
            ),
            {"id": article.id, "config": config, "title": title, "tags": tags, "body": body,
             "plain": f"{article.title} {' '.join(article.tags)} {article.body}".lower()},
        )  # fmt: skip

    async def remove(self, conn: AsyncConnection, article_id: int) -> None:
        tables = ("kb_search", "kb_search_trigram") if self.sqlite else ("kb_search",)
        key = "rowid" if self.sqlite else "article_id"
        for table in tables:
            await conn.execute(text(f"DELETE FROM {table} WHERE {key} = :id"), {"id": article_id})

    async def search(
        self, query: str, where: SearchFilter = SearchFilter(), limit: int = 10
    ) -> list[Hit]:
        words, grams = tokens(query), trigram_terms(query)
        if not words:
            return []
        async with self.db.connect() as conn:
            by_words = await (self._sqlite_words if self.sqlite else self._pg_words)(
                conn, words, query, where)  # fmt: skip
            by_grams = await (self._sqlite_grams if self.sqlite else self._pg_grams)(
                conn, grams, where) if grams else []  # fmt: skip
            fused: dict[int, float] = {}
            for share, ranking in ((1.0, by_words), (TRIGRAM_SHARE, by_grams)):
                for rank, article_id in enumerate(ranking, start=1):
                    fused[article_id] = fused.get(article_id, 0.0) + share / (_FUSION_K + rank)
            best = sorted(fused.items(), key=lambda item: -item[1])[:limit]
            if not best:
                return []
            ids = ", ".join(str(int(i)) for i, _ in best)
            rows = await conn.execute(
                text(f"SELECT id, title, body FROM kb_articles WHERE id IN ({ids})")
            )
            found = {row.id: row for row in rows}
        marks = [t for t in _TOKEN.findall(query) if len(t) >= 2 or has_cjk(t)]
        return [Hit(i, found[i].title, score, snippet(found[i].body, marks))
                for i, score in best if i in found]  # fmt: skip

    # -- SQLite --------------------------------------------------------------------------------

    async def _sqlite_words(self, conn: AsyncConnection, words: list[str], query: str,
                            where: SearchFilter) -> list[int]:  # fmt: skip
        match = " OR ".join(f'"{w}"*' if len(w) >= 3 and not has_cjk(w) else f'"{w}"'
                            for w in words)  # fmt: skip
        return await self._sqlite_ranked(conn, "kb_search", match, where)

    async def _sqlite_grams(self, conn: AsyncConnection, terms: list[str],
                            where: SearchFilter) -> list[int]:  # fmt: skip
        grams = {t[i : i + 3] for t in terms for i in range(len(t) - 2)}
        match = " OR ".join(f'"{g}"' for g in sorted(grams) if '"' not in g)
        return await self._sqlite_ranked(conn, "kb_search_trigram", match, where) if match else []

    async def _sqlite_ranked(self, conn: AsyncConnection, table: str, match: str,
                             where: SearchFilter) -> list[int]:  # fmt: skip
        filters, params = _filters(where, sqlite=True)
        weights = ", ".join(str(w) for w in WEIGHTS)
        rows = await conn.execute(
            text(
                f"SELECT a.id FROM {table} JOIN kb_articles a ON a.id = {table}.rowid "
                f"WHERE {table} MATCH :match{filters} "
                f"ORDER BY bm25({table}, {weights}) LIMIT {_CANDIDATES}"
            ),
            {"match": match, **params},
        )
        return [row.id for row in rows]

    # -- PostgreSQL ----------------------------------------------------------------------------

    async def _pg_words(self, conn: AsyncConnection, words: list[str], query: str,
                        where: SearchFilter) -> list[int]:  # fmt: skip
        filters, params = _filters(where, sqlite=False)
        if re.search(r'"|\bOR\b|(^|\s)-\w', query):  # search syntax typed in the console
            tsquery = ("websearch_to_tsquery('english', :q) || "
                       "websearch_to_tsquery('simple', :q)")  # fmt: skip
            params["q"] = searchable(query)
        else:  # any of the words, each also as the start of a longer one
            tsquery = "to_tsquery('english', :q) || to_tsquery('simple', :q)"
            params["q"] = " | ".join(f"{w}:*" if len(w) >= 3 and not has_cjk(w) else w
                                     for w in words)  # fmt: skip
        weights = "{" + ", ".join(str(w / WEIGHTS[0]) for w in (0.1, *reversed(WEIGHTS))) + "}"
        rows = await conn.execute(
            text(
                f"SELECT a.id FROM kb_search s JOIN kb_articles a ON a.id = s.article_id "
                f"CROSS JOIN (SELECT {tsquery} AS q) AS query "
                f"WHERE s.document @@ query.q{filters} "
                f"ORDER BY ts_rank_cd('{weights}', s.document, query.q) DESC LIMIT {_CANDIDATES}"
            ),
            params,
        )
        return [row.id for row in rows]

    async def _pg_grams(self, conn: AsyncConnection, terms: list[str],
                        where: SearchFilter) -> list[int]:  # fmt: skip
        filters, params = _filters(where, sqlite=False)
        terms = terms[:12]
        names = [f"t{i}" for i in range(len(terms))]
        params |= dict(zip(names, terms, strict=True))
        score = " + ".join(f"word_similarity(:{n}, s.plain)" for n in names)
        match = " OR ".join(f":{n} <% s.plain" for n in names)
        rows = await conn.execute(
            text(
                f"SELECT a.id FROM kb_search s JOIN kb_articles a ON a.id = s.article_id "
                f"WHERE ({match}){filters} ORDER BY {score} DESC LIMIT {_CANDIDATES}"
            ),
            params,
        )
        return [row.id for row in rows]


def _filters(where: SearchFilter, sqlite: bool) -> tuple[str, dict[str, Any]]:
    sql, params = "", {}
    if where.status is not None:
        sql += " AND a.status = :status"
        params["status"] = where.status.value
    if where.locale is not None:
        sql += " AND (a.locale = :locale OR a.locale LIKE :locale_prefix)"
        params |= {"locale": where.locale, "locale_prefix": f"{where.locale}-%"}
    if where.product is not None:
        sql += (" AND EXISTS (SELECT 1 FROM json_each(a.products) WHERE value = :product)"
                if sqlite else " AND a.products ? :product")  # fmt: skip
        params["product"] = where.product
    return sql, params


def snippet(body: str, marks: list[str], width: int = 160) -> str:
    """Around the first of the query's words in the body, as HTML: the text escaped and the
    words in <mark>."""
    plain = " ".join(re.sub(r"[#*_`>\[\]]", " ", body).split())
    lowered = plain.lower()
    found = [p for m in marks if (p := lowered.find(m.lower())) >= 0]
    start = max(0, min(found) - width // 3) if found else 0
    window = plain[start : start + width]
    pieces, last = [], 0
    if marks:
        pattern = "|".join(re.escape(m) for m in sorted(set(marks), key=len, reverse=True))
        for found_mark in re.finditer(pattern, window, flags=re.IGNORECASE):
            pieces.append(html.escape(window[last : found_mark.start()]))
            pieces.append(f"<mark>{html.escape(found_mark.group())}</mark>")
            last = found_mark.end()
    pieces.append(html.escape(window[last:]))
    return ("…" if start else "") + "".join(pieces) + ("…" if start + width < len(plain) else "")
