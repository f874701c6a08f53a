"""The articles' vocabulary: every word with the number of articles that have it (`kb_lexemes`).

Two uses at search time. A question's words are weighed: words in thousands of articles say
little and cost much (every article that has one is ranked), so only the rarest are searched
for, up to a budget of matches. And a word no article has (misspelt, or typed half) is replaced by
the vocabulary's words that resemble it by trigrams (pg_trgm's index on PostgreSQL, an FTS5
trigram table on SQLite). PostgreSQL keeps tsvector lexemes (stemmed, so a question's word is
stemmed to be found); SQLite the words as `articles.searchable` writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge_base.articles import searchable

ALL = ""  # the row whose df is the number of articles (no word is empty)
SIMILAR = 0.35  # trigram similarity from which a word is taken for a misspelling of another
_ALIKE_PER_TERM = 3
_WORD = re.compile(r"\w+")


def words_of(*texts: str) -> set[str]:
    """An article's words as SQLite's vocabulary keeps them."""
    return set(_WORD.findall(searchable(" ".join(texts)).lower()))


def trigrams(word: str) -> set[str]:
    """A word's trigrams as pg_trgm counts them: padded with two spaces before, one after."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    ours, theirs = trigrams(a), trigrams(b)
    return len(ours & theirs) / len(ours | theirs)


async def add(conn: AsyncConnection, sqlite: bool, article_id: int, words: set[str]) -> None:
    """Count an article's words in (after its search row is written), and the article."""
    await conn.execute(
        text(
            "INSERT INTO kb_lexemes (lexeme, df) VALUES (:all, 1) "
            "ON CONFLICT (lexeme) DO UPDATE SET df = kb_lexemes.df + 1"
        ),
        {"all": ALL},
    )
    if not sqlite:
        await conn.execute(
            text(
                "INSERT INTO kb_lexemes (lexeme, df) SELECT lexeme, 1 FROM kb_search, "
                "unnest(document) WHERE article_id = :id "
                "ON CONFLICT (lexeme) DO UPDATE SET df = kb_lexemes.df + 1"
            ),
            {"id": article_id},
        )
        return
    rows = [{"w": w} for w in sorted(words)]
    if not rows:
        return
    await conn.execute(
        text(
            "INSERT INTO kb_lexemes_trigram (lexeme) SELECT :w "
            "WHERE NOT EXISTS (SELECT 1 FROM kb_lexemes WHERE lexeme = :w)"
        ),
        rows,
    )
    await conn.execute(
        text(
            "INSERT INTO kb_lexemes (lexeme, df) VALUES (:w, 1) "
            "ON CONFLICT (lexeme) DO UPDATE SET df = df + 1"
        ),
        rows,
    )


async def remove(conn: AsyncConnection, sqlite: bool, article_id: int) -> None:
    """Count an article's words out (before its search row is deleted). Words stay in the
    vocabulary at zero: a later article may have them again."""
    await conn.execute(
        text(
            "UPDATE kb_lexemes SET df = df - 1 WHERE lexeme = :all AND EXISTS "
            f"(SELECT 1 FROM kb_search WHERE {'rowid' if sqlite else 'article_id'} = :id)"
        ),
        {"all": ALL, "id": article_id},
    )
    if not sqlite:
        await conn.execute(
            text(
                "UPDATE kb_lexemes SET df = df - 1 WHERE lexeme IN (SELECT lexeme FROM "
                "kb_search, unnest(document) WHERE article_id = :id)"
            ),
            {"id": article_id},
        )
        return
    row = (
        await conn.execute(
            text("SELECT title, tags, body FROM kb_search WHERE rowid = :id"), {"id": article_id}
        )
    ).one_or_none()
    if row is not None:
        rows = [{"w": w} for w in sorted(words_of(row.title, row.tags, row.body))]
        await conn.execute(text("UPDATE kb_lexemes SET df = df - 1 WHERE lexeme = :w"), rows)


async def articles(conn: AsyncConnection) -> int:
    """How many articles are counted in, as the rarity of a word is weighed against it."""
    found = await conn.execute(text("SELECT df FROM kb_lexemes WHERE lexeme = :all"), {"all": ALL})
    return max(int(found.scalar() or 0), 1)


async def weigh(conn: AsyncConnection, sqlite: bool, tokens: Sequence[str]) -> dict[str, int]:
    """How many articles have each of `tokens`; a token no article has is left out."""
    tokens = [t for t in tokens if t != ALL]
    if not tokens:
        return {}
    if sqlite:
        marks = ", ".join(f":t{i}" for i in range(len(tokens)))
        rows = await conn.execute(
            text(f"SELECT lexeme, df FROM kb_lexemes WHERE lexeme IN ({marks}) AND df > 0"),
            {f"t{i}": t for i, t in enumerate(tokens)},
        )
        return {row.lexeme: row.df for row in rows}
    # Each token's forms first (as typed, as stemmed), so that they are found by the primary key
    # rather than by comparing every word of the vocabulary with each.
    rows = await conn.execute(
        text(
            "WITH forms AS MATERIALIZED (SELECT t.token, f.form "
            "  FROM unnest(CAST(:tokens AS text[])) AS t(token), LATERAL unnest(tsvector_to_array("
            "    to_tsvector('english', t.token) || to_tsvector('simple', t.token))) AS f(form)) "
            "SELECT forms.token, max(l.df) AS df FROM forms "
            "JOIN kb_lexemes l ON l.lexeme = forms.form WHERE l.df > 0 GROUP BY forms.token"
        ),
        {"tokens": list(tokens)},
    )
    return {row.token: row.df for row in rows}


async def alike(conn: AsyncConnection, sqlite: bool, terms: Iterable[str]) -> dict[str, int]:
    """The vocabulary's words that resemble `terms` (words no article has), best first, with
    the number of articles that have each."""
    found: dict[str, float] = {}
    df: dict[str, int] = {}
    for term in terms:
        if sqlite:
            grams = sorted(g for g in trigrams(term) if " " not in g and '"' not in g)
            if not grams:
                continue
            rows = await conn.execute(
                text(
                    "SELECT t.lexeme, l.df FROM kb_lexemes_trigram t JOIN kb_lexemes l "
                    "ON l.lexeme = t.lexeme WHERE kb_lexemes_trigram MATCH :match AND l.df > 0 "
                    "ORDER BY bm25(kb_lexemes_trigram) LIMIT 30"
                ),
                {"match": " OR ".join(f'"{g}"' for g in grams)},
            )
            scored = [(similarity(term, row.lexeme), row.lexeme, row.df) for row in rows]
        else:
            # The vocabulary is stemmed: the term is compared as typed and as stemmed ("refnds"
            # is nearer "refund" as "refnd"). lower(): the trigram index is on that expression.
            rows = await conn.execute(
                text(
                    "WITH forms AS (SELECT CAST(:term AS text) AS f UNION "
                    "  SELECT unnest(tsvector_to_array(to_tsvector('english', :term)))) "
                    "SELECT l.lexeme, l.df, max(similarity(lower(l.lexeme), forms.f)) AS s "
                    "FROM forms JOIN kb_lexemes l ON lower(l.lexeme) % forms.f "
                    "WHERE l.df > 0 "
                    "GROUP BY l.lexeme, l.df ORDER BY s DESC LIMIT 10"
                ),
                {"term": term},
            )
            scored = [(row.s, row.lexeme, row.df) for row in rows]
        best = sorted(x for x in scored if x[0] >= SIMILAR)[::-1][:_ALIKE_PER_TERM]
        for score, word, count in best:
            found[word] = max(found.get(word, 0.0), score)
            df[word] = count
    return {w: df[w] for w in sorted(found, key=lambda w: -found[w])}
