"""The lexical rankings, in each backend's own SQL: words and trigrams, best first.

SQLite: FTS5 tables ranked by `bm25()` with column weights (title above tags above body), one
tokenized by words with Porter stemming, one by trigrams. PostgreSQL: a weighted `tsvector` (title
A, tags B, body C) ranked by `ts_rank_cd`, and the
articles' lexemes that look like the question's words (pg_trgm), searched for in turn.
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
_MOST_TOKENS = 24
_SHORT_QUERY = 8  # words; more is a mail or a long chat message
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
_FUZZY_TERMS = 16
_PREFIXED_WORDS = 6  # a typed search, not a mail: its words may be unfinished
_ALIKE_PER_TERM = 3
_SEARCH_SYNTAX = re.compile(r'"|\bOR\b|(^|\s)-\w')


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Which articles may be found; customers only ever get published ones."""

    status: ArticleStatus | None = ArticleStatus.PUBLISHED
    locale: str | None = None
    product: str | None = None


def tokens(query: str) -> list[str]:
    """The query's words, lower case, once each, Chinese runs as pairs. In a long query (a mail)
    the words that say nothing of the topic are left out and the first `_MOST_TOKENS` kept: each
    word costs, and the start of a mail says what it is about."""
    found = list(dict.fromkeys(t.lower() for t in _TOKEN.findall(searchable(query))))
    if len(found) <= _SHORT_QUERY:
        return found
    return [t for t in found if t not in _SMALL_WORDS][:_MOST_TOKENS]


def trigram_terms(query: str) -> list[str]:
    """What the trigram ranking looks for in a short query (a typed search, a chat line), where a
    misspelt word is much of the question: its words of three or more letters. Long queries have
    words enough, and meaning (semantic ranking), to go by."""
    words = list(dict.fromkeys(w.lower() for w in _TOKEN.findall(query) if len(w) >= 3))
    return words if len(words) <= _SHORT_QUERY else []


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
    else:  # any of the words; in a short query each also as the start of a longer one
        tsquery = "to_tsquery('english', :q) || to_tsquery('simple', :q)"
        prefixes = len(words) <= _PREFIXED_WORDS
        params["q"] = " | ".join(f"{w}:*" if prefixes and len(w) >= 3 and not has_cjk(w) else w
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
    """Articles with words that look like the question's (misspelt, or a part of them): each
    term finds the lexemes it resembles through pg_trgm's index, and those are searched for."""
    filters, params = sql_filters(where, sqlite=False)
    params["terms"] = [t for t in terms if not has_cjk(t)][:_FUZZY_TERMS]
    if not params["terms"]:
        return []
    weights = "{" + ", ".join(str(w / WEIGHTS[0]) for w in (0.1, *reversed(WEIGHTS))) + "}"
    rows = await conn.execute(
        text(
            # Only words the articles do not have as written or stemmed, and not stop words.
            "WITH terms AS (SELECT t.term FROM unnest(CAST(:terms AS text[])) AS t(term) "
            "  WHERE numnode(plainto_tsquery('english', t.term)) > 0 AND NOT EXISTS ("
            "    SELECT 1 FROM kb_lexemes k WHERE k.lexeme = t.term OR k.lexeme = ANY("
            "      tsvector_to_array(to_tsvector('english', t.term))))), "
            "alike AS (SELECT DISTINCT l.lexeme FROM terms AS t "
            "  JOIN LATERAL (SELECT lexeme FROM kb_lexemes WHERE lexeme % t.term "
            f"  ORDER BY lexeme <-> t.term LIMIT {_ALIKE_PER_TERM}) AS l ON true), "
            "query AS (SELECT CAST(string_agg(quote_literal(lexeme), ' | ') AS tsquery) AS q "
            "  FROM alike) "
            "SELECT a.id FROM kb_search s JOIN kb_articles a ON a.id = s.article_id, query "
            f"WHERE query.q IS NOT NULL AND s.document @@ query.q{filters} "
            f"ORDER BY ts_rank_cd('{weights}', s.document, query.q) DESC LIMIT {CANDIDATES}"
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
