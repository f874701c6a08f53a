"""The lexical rankings, in each backend's own SQL, best first: by the question's words, and by
the words that resemble the question's unknown ones (`vocabulary.alike`).

SQLite: an FTS5 table tokenized by words with Porter stemming, ranked by `bm25()` with column
weights (title above tags above body). PostgreSQL: a weighted `tsvector` (title A, tags B, body C)
with a GIN index, ranked by `ts_rank_cd`; `websearch_to_tsquery` when the question has search
syntax (quotes, OR, -word).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge_base import vocabulary
from knowledge_base.articles import ArticleStatus, has_cjk, searchable

WEIGHTS = (10.0, 4.0, 1.0)  # title, tags, body
CANDIDATES = 50
_POOL = 200  # matches ranked before the filters are applied (PostgreSQL)
_TOKEN = re.compile(r"\w+")
_MOST_TOKENS = 64
# Words of a mail that say nothing of what it is about: English function words, greetings and
# the politeness around a question.
_SMALL_WORDS_TEXT = """
    a about after again all also am an and any are as at be because been before being but by
    can could dear did do does doing don done for from get got had has have having he hello her
    here hi him his how i if in into is it its just let like me morning afternoon evening my no
    nor not now of on once only or other our out own please regards same she should sir madam
    so some still such than thank thanks that the their them then there these they this those
    to too very was we were what when where which while who whom why will with would yes yet
    you your
"""
_SMALL_WORDS = frozenset(_SMALL_WORDS_TEXT.split())
_FUZZY_TERMS = 6
_SHORT_QUERY = 8  # words; more is a mail or a long chat message
# Articles ranked for a question's words at most, about: beyond it only the two rarest words
# are searched for (ranking 10,000 articles for "order" took PostgreSQL half a second).
_MATCH_BUDGET = 1000
# A word in more articles than this is looked for in titles and tags only: ranking every article
# that has it took PostgreSQL 30 ms for "order" in 6,000 of 10,000 articles, and where it is only
# in the body it says little of what an article is about.
_COMMON = 500
_SEARCH_SYNTAX = re.compile(r'"|\bOR\b|(^|\s)-\w')


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Which articles may be found; customers only ever get published ones."""

    status: ArticleStatus | None = ArticleStatus.PUBLISHED
    locale: str | None = None
    product: str | None = None


def tokens(query: str) -> list[str]:
    """The query's words, lower case, once each, Chinese runs as pairs, without the small words
    that say nothing of the topic (unless nothing else is left); a long one's first
    `_MOST_TOKENS`, as the start of a mail says what it is about."""
    found = list(dict.fromkeys(t.lower() for t in _TOKEN.findall(searchable(query))))
    topical = [t for t in found if t not in _SMALL_WORDS]
    return (topical or found)[:_MOST_TOKENS]


def marks(query: str) -> list[str]:
    """The query's words worth highlighting in a snippet: not the small words."""
    return [
        t
        for t in _TOKEN.findall(query)
        if (len(t) >= 2 and t.lower() not in _SMALL_WORDS) or has_cjk(t)
    ]


def chosen(words: list[str], df: dict[str, int]) -> list[str]:
    """The known words worth searching for, rarest first, while the articles they are in stay
    within `_MATCH_BUDGET` (each one is ranked); the two rarest always."""
    kept, matched = [], 0
    for word in sorted((w for w in words if w in df), key=lambda w: df[w]):
        if len(kept) >= 2 and matched + df[word] > _MATCH_BUDGET:
            break
        kept.append(word)
        matched += df[word]
    return kept


def misspelt(words: list[str], df: dict[str, int]) -> list[str]:
    """The words of a short question (a chat line, a typed search) that no article has: a
    misspelling there is much of the question. A mail's unknown words are mostly names,
    numbers and words of its own; the words it spells right say what it is about, and the
    words that merely resemble its other ones pushed the right article down."""
    if len(words) > _SHORT_QUERY:
        return []
    return [w for w in words if w not in df and len(w) >= 3 and w.isalpha() and not has_cjk(w)][
        :_FUZZY_TERMS
    ]


async def rankings(
    conn: AsyncConnection, sqlite: bool, query: str, where: SearchFilter
) -> tuple[list[int], list[int]]:
    """Two rankings of article ids, best first: by the query's words, and by the words that
    resemble those of its words no article has (misspellings, words typed in part)."""
    words = tokens(query)
    if not words:
        return [], []
    df = await vocabulary.weigh(conn, sqlite, words)
    alike = await vocabulary.alike(conn, sqlite, misspelt(words, df))
    by_words: list[int] = []
    # Search syntax typed in the console ("exact words", OR, -word); a mail's quotes are not.
    if not sqlite and len(words) <= _SHORT_QUERY and _SEARCH_SYNTAX.search(query):
        tsquery = "websearch_to_tsquery('english', :q) || websearch_to_tsquery('simple', :q)"
        by_words = await _pg_ranked(conn, tsquery, searchable(query), where)
    if not by_words:
        kept = {w: df[w] for w in chosen(words, df)}
        by_words = (
            await _sqlite_ranked(conn, _fts_any(kept), where)
            if sqlite
            else await _pg_by_rarity(conn, kept, await vocabulary.articles(conn), where)
        )
    resembling = {w: alike[w] for w in chosen(list(alike), alike)}
    return by_words, await _ranked(conn, sqlite, resembling, where)


async def _ranked(
    conn: AsyncConnection, sqlite: bool, lexemes: dict[str, int], where: SearchFilter
) -> list[int]:
    """Articles with any of the vocabulary's `lexemes` (with their article counts), by bm25
    (SQLite) or ts_rank_cd (PostgreSQL)."""
    if not lexemes:
        return []
    if sqlite:
        return await _sqlite_ranked(conn, _fts_any(lexemes), where)
    query = " | ".join(_pg_word(w, df > _COMMON) for w, df in lexemes.items())
    return await _pg_ranked(conn, "CAST(:q AS tsquery)", query, where)


def _fts_any(df: dict[str, int]) -> str:
    """An FTS5 query for any of the words (with their article counts), each a phrase so that
    none is read as an operator; a common one in titles and tags only."""
    return " OR ".join(
        ("{title tags}: " if n > _COMMON else "") + f'"{w}"' for w, n in df.items() if '"' not in w
    )


async def _pg_by_rarity(
    conn: AsyncConnection, df: dict[str, int], articles: int, where: SearchFilter
) -> list[int]:
    """Articles with any of the words, each word's `ts_rank` (how often, in which part) weighed
    by its inverse document frequency as BM25 does; `ts_rank_cd` over an OR of the words would
    count "order" as much as "invoice"."""
    if not df:
        return []
    filters, params = sql_filters(where, sqlite=False)
    words = list(df)
    idf = [math.log(1 + (articles - df[w] + 0.5) / (df[w] + 0.5)) for w in words]
    terms = [_pg_word(w, df[w] > _COMMON) for w in words]
    values = {"any": " | ".join(terms), "words": terms, "idf": idf, **params}
    # The best `_POOL` by the index alone, then the filters on the articles: joining every
    # match to its article first cost a lookup each. Should the filters leave too few of the
    # pool (a locale or product few articles have), every match is filtered, then ranked.
    for pool in (f"LIMIT {_POOL}", ""):
        rows = (
            await conn.execute(
                text(
                    # MATERIALIZED: with the query's words in plain sight, the planner prices a
                    # scan of every document below the GIN index (it does not know what @@
                    # costs), which takes several times longer; hidden, it takes the index.
                    "WITH query AS MATERIALIZED (SELECT to_tsquery('english', :any) "
                    "  || to_tsquery('simple', :any) AS q), "
                    "terms AS MATERIALIZED (SELECT to_tsquery('english', t.w) "
                    "  || to_tsquery('simple', t.w) AS q, t.idf "
                    "  FROM unnest(CAST(:words AS text[]), CAST(:idf AS float8[])) AS t(w, idf)), "
                    "ranked AS MATERIALIZED (SELECT s.article_id, (SELECT sum(t.idf * "
                    f"  ts_rank('{_pg_weights()}', s.document, t.q, 0)) FROM terms t) AS score "
                    f"  FROM query JOIN kb_search s ON s.document @@ query.q "
                    f"  ORDER BY score DESC {pool}) "
                    "SELECT a.id, (SELECT count(*) FROM ranked) AS pooled FROM ranked "
                    f"JOIN kb_articles a ON a.id = ranked.article_id WHERE true{filters} "
                    f"ORDER BY ranked.score DESC LIMIT {CANDIDATES}"
                ),
                values,
            )
        ).all()
        if rows and (len(rows) == CANDIDATES or rows[0].pooled < _POOL):
            break  # enough, or every match was in the pool
    return [row.id for row in rows]


def _pg_weights() -> str:
    """WEIGHTS as ts_rank's array: D (unused), C body, B tags, A title, relative to the title."""
    return "{" + ", ".join(str(w / WEIGHTS[0]) for w in (0.1, *reversed(WEIGHTS))) + "}"


def _pg_word(word: str, common: bool = False) -> str:
    """A word as to_tsquery reads it: quoted, so that no character of it is an operator; a
    `common` one in titles and tags only (weights A and B)."""
    return "'" + word.replace("'", "''").replace("\\", "") + "'" + (":AB" if common else "")


async def _sqlite_ranked(conn: AsyncConnection, match: str, where: SearchFilter) -> list[int]:
    if not match:
        return []
    filters, params = sql_filters(where, sqlite=True)
    weights = ", ".join(str(w) for w in WEIGHTS)
    rows = await conn.execute(
        text(
            f"SELECT a.id FROM kb_search JOIN kb_articles a ON a.id = kb_search.rowid "
            f"WHERE kb_search MATCH :match{filters} "
            f"ORDER BY bm25(kb_search, {weights}) LIMIT {CANDIDATES}"
        ),
        {"match": match, **params},
    )
    return [row.id for row in rows]


async def _pg_ranked(conn: AsyncConnection, tsquery: str, q: str, where: SearchFilter) -> list[int]:
    filters, params = sql_filters(where, sqlite=False)
    rows = await conn.execute(
        text(
            f"WITH query AS MATERIALIZED (SELECT {tsquery} AS q) "  # the GIN index (above)
            f"SELECT a.id FROM query JOIN kb_search s ON s.document @@ query.q "
            f"JOIN kb_articles a ON a.id = s.article_id WHERE true{filters} "
            f"ORDER BY ts_rank_cd('{_pg_weights()}', s.document, query.q) DESC "
            f"LIMIT {CANDIDATES}"
        ),
        {"q": q, **params},
    )
    return [row.id for row in rows]


def ids_in(column: str, ids: list[int], sqlite: bool) -> tuple[str, dict[str, Any]]:
    """`column` among `ids`, as SQL whose text is the same for any number of ids: PostgreSQL
    then prepares it once per connection (a list written out was prepared anew each time)."""
    if sqlite:
        return f"{column} IN (SELECT value FROM json_each(:ids))", {"ids": json.dumps(ids)}
    return f"{column} = ANY(CAST(:ids AS bigint[]))", {"ids": ids}


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
        sql += (
            " AND EXISTS (SELECT 1 FROM json_each(a.products) WHERE value = :product)"
            if sqlite
            else " AND a.products ? :product"
        )
        params["product"] = where.product
    return sql, params
