"""The lexical rankings, in each backend's own SQL: words and trigrams, best first.

SQLite: FTS5 tables ranked by `bm25()` with column weights (title above tags above body), one
tokenized by words with Porter stemming, one by trigrams. PostgreSQL: a weighted `tsvector` (title
A, tags B, body C) ranked by `ts_rank_cd`, and pg_trgm's word similarity over the plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge_base.articles import ArticleStatus, has_cjk, searchable

WEIGHTS = (10.0, 4.0, 1.0)  # title, tags, body
CANDIDATES = 50
_TOKEN = re.compile(r"\w+")
_MOST_TOKENS = 48  # a long mail: its first words say the most
_SEARCH_SYNTAX = re.compile(r'"|\bOR\b|(^|\s)-\w')


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Which articles may be found; customers only ever get published ones."""

    status: ArticleStatus | None = ArticleStatus.PUBLISHED
    locale: str | None = None
    product: str | None = None


def tokens(query: str) -> list[str]:
    """The query's words, lower case, once each, Chinese runs as pairs; at most `_MOST_TOKENS`."""
    return list(dict.fromkeys(t.lower() for t in _TOKEN.findall(searchable(query))))[:_MOST_TOKENS]


def trigram_terms(query: str) -> list[str]:
    """What the trigram ranking looks for: words of three or more letters, and runs of Chinese
    as written (their pairs are the word index's)."""
    words = [w.lower() for w in _TOKEN.findall(query) if len(w) >= 3]
    return list(dict.fromkeys(words))[:_MOST_TOKENS]


def marks(query: str) -> list[str]:
    """The query's words worth highlighting in a snippet."""
    return [t for t in _TOKEN.findall(query) if len(t) >= 2 or has_cjk(t)]


async def by_words(conn: AsyncConnection, sqlite: bool, query: str,
                   where: SearchFilter) -> list[int]:  # fmt: skip
    words = tokens(query)
    if not words:
        return []
    if sqlite:
        match = " OR ".join(f'"{w}"*' if len(w) >= 3 and not has_cjk(w) else f'"{w}"'
                            for w in words)  # fmt: skip
        return await _sqlite_ranked(conn, "kb_search", match, where)
    return await _pg_words(conn, words, query, where)


async def by_trigrams(conn: AsyncConnection, sqlite: bool, query: str,
                      where: SearchFilter) -> list[int]:  # fmt: skip
    terms = trigram_terms(query)
    if not terms:
        return []
    if sqlite:
        grams = {t[i : i + 3] for t in terms for i in range(len(t) - 2)}
        match = " OR ".join(f'"{g}"' for g in sorted(grams) if '"' not in g)
        return await _sqlite_ranked(conn, "kb_search_trigram", match, where) if match else []
    return await _pg_grams(conn, terms, where)


async def _sqlite_ranked(conn: AsyncConnection, table: str, match: str,
                         where: SearchFilter) -> list[int]:  # fmt: skip
    filters, params = sql_filters(where, sqlite=True)
    weights = ", ".join(str(w) for w in WEIGHTS)
    rows = await conn.execute(
        text(
            f"SELECT a.id FROM {table} JOIN kb_articles a ON a.id = {table}.rowid "
            f"WHERE {table} MATCH :match{filters} "
            f"ORDER BY bm25({table}, {weights}) LIMIT {CANDIDATES}"
        ),
        {"match": match, **params},
    )
    return [row.id for row in rows]


async def _pg_words(conn: AsyncConnection, words: list[str], query: str,
                    where: SearchFilter) -> list[int]:  # fmt: skip
    filters, params = sql_filters(where, sqlite=False)
    if _SEARCH_SYNTAX.search(query):  # search syntax typed in the console
        tsquery = "websearch_to_tsquery('english', :q) || websearch_to_tsquery('simple', :q)"
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
            f"ORDER BY ts_rank_cd('{weights}', s.document, query.q) DESC LIMIT {CANDIDATES}"
        ),
        params,
    )
    return [row.id for row in rows]


async def _pg_grams(conn: AsyncConnection, terms: list[str],
                    where: SearchFilter) -> list[int]:  # fmt: skip
    filters, params = sql_filters(where, sqlite=False)
    terms = terms[:12]
    names = [f"t{i}" for i in range(len(terms))]
    params |= dict(zip(names, terms, strict=True))
    score = " + ".join(f"word_similarity(:{n}, s.plain)" for n in names)
    match = " OR ".join(f":{n} <% s.plain" for n in names)
    rows = await conn.execute(
        text(
            f"SELECT a.id FROM kb_search s JOIN kb_articles a ON a.id = s.article_id "
            f"WHERE ({match}){filters} ORDER BY {score} DESC LIMIT {CANDIDATES}"
        ),
        params,
    )
    return [row.id for row in rows]


def sql_filters(where: SearchFilter, sqlite: bool) -> tuple[str, dict[str, Any]]:
    """`where` as SQL conditions on `kb_articles a`, each starting with AND."""
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
