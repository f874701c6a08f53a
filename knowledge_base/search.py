"""Article search behind one interface, native on each backend, with meaning where installed.

Up to three rankings are fused by reciprocal rank: by words, and by the words that resemble a
misspelt one (trigrams), in each backend's own SQL (`lexical.py`, `vocabulary.py`); and, with the
semantic extra, by nearest embeddings (`semantic.py`), which find the article a customer
describes in other words. Feedback then moves each candidate by a bounded
share (`feedback.py`). Text in Chinese, Japanese or Korean is indexed as pairs of characters
(`articles.searchable`), so a two-character word is found as it is.

The indexes are kept in the transaction that changes the article (`put`), so search never sees
an article that is not stored, nor misses one that is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.store.db import Database
from knowledge_base import lexical, vocabulary
from knowledge_base.articles import Article, ArticleFields, has_cjk, searchable
from knowledge_base.feedback import net_votes, weight
from knowledge_base.lexical import SearchFilter
from knowledge_base.semantic import VectorIndex, article_text
from knowledge_base.vocabulary import words_of

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Vector = NDArray[np.float32]
else:
    Vector = object

__all__ = ["ArticleSearch", "Hit", "Mode", "SearchFilter", "Vector", "snippet"]

# Each ranking's weight in the fusion; chosen on the project's evaluation set (bench/kb_quality.py).
SHARES = {"words": 1.0, "alike": 0.5, "semantic": 1.5}
_FUSION_K = 60
_SENTENCE_WORDS = 4
PUBLISHED = SearchFilter()  # what customers may see, in any locale
_QUERY_CHARS = 2000  # a long mail's start says what it is about


class Mode(StrEnum):
    LEXICAL = "lexical"
    SEMANTIC = "semantic"
    HYBRID = "hybrid"


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: int
    title: str
    score: float
    snippet: str  # HTML: the article's text escaped, the query's words in <mark>
    short_answer: str = ""


class ArticleSearch:
    """`put` and `remove` keep the indexes in the caller's transaction; `search` ranks."""

    def __init__(self, *, db: Database, vectors: VectorIndex | None = None) -> None:
        self.db = db
        self.sqlite = db.is_sqlite
        self.vectors = vectors

    @property
    def mode(self) -> Mode:
        """What `search` does by default: hybrid with the semantic extra, lexical without."""
        return Mode.HYBRID if self.vectors is not None else Mode.LEXICAL

    async def embed_many(self, articles: Sequence[ArticleFields]) -> list[Vector | None]:
        """Embeddings for articles about to be written, made together (much faster than one by
        one); Nones without the semantic extra."""
        if self.vectors is None or not articles:
            return [None] * len(articles)
        texts = [article_text(a.title, a.short_answer, a.tags, a.body) for a in articles]
        return list(await self.vectors.embedder.embed_async(texts))

    async def put(
        self, conn: AsyncConnection, article: Article, vector: Vector | None = None
    ) -> None:
        await self._remove_lexical(conn, article.id)
        title, tags, body = (
            searchable(article.title),
            searchable(" ".join(article.tags)),
            searchable(article.body),
        )
        if self.sqlite:
            values = {"id": article.id, "title": title, "tags": tags, "body": body}
            await conn.execute(
                text(
                    "INSERT INTO kb_search (rowid, title, tags, body) "
                    "VALUES (:id, :title, :tags, :body)"
                ),
                values,
            )
        else:
            config = "english" if article.locale.startswith("en") else "simple"
            await conn.execute(
                text(
                    "INSERT INTO kb_search (article_id, document) VALUES (:id, "
                    "setweight(to_tsvector(CAST(:config AS regconfig), :title), 'A') || "
                    "setweight(to_tsvector(CAST(:config AS regconfig), :tags), 'B') || "
                    "setweight(to_tsvector(CAST(:config AS regconfig), :body), 'C'))"
                ),
                {"id": article.id, "config": config, "title": title, "tags": tags, "body": body},
            )
        await vocabulary.add(conn, self.sqlite, article.id, words_of(title, tags, body))
        if self.vectors is not None:
            await self.vectors.put(conn, article, vector)

    async def remove(self, conn: AsyncConnection, article_id: int) -> None:
        await self._remove_lexical(conn, article_id)
        if self.vectors is not None:
            await self.vectors.remove(conn, article_id)

    async def _remove_lexical(self, conn: AsyncConnection, article_id: int) -> None:
        await vocabulary.remove(conn, self.sqlite, article_id)
        key = "rowid" if self.sqlite else "article_id"
        await conn.execute(text(f"DELETE FROM kb_search WHERE {key} = :id"), {"id": article_id})

    async def search(
        self,
        query: str,
        where: SearchFilter = PUBLISHED,
        limit: int = 10,
        mode: Mode | None = None,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        """The best `limit` articles for `query` that `where` admits, best first."""
        query = query[:_QUERY_CHARS]
        mode = mode or self.mode
        if mode is not Mode.LEXICAL and self.vectors is None:
            raise ValueError("semantic search needs the semantic extra")
        if not lexical.tokens(query):
            return []
        query_vector = None
        # The sentence model knows English, not Chinese, Japanese or Korean: hybrid search
        # ranks those questions by words alone (it found the wrong articles more often than not).
        if mode is Mode.SEMANTIC or (mode is Mode.HYBRID and not has_cjk(query)):
            assert self.vectors is not None
            query_vector = (await self.vectors.embedder.embed_async([query]))[0]
        async with self.db.connect() as conn:
            rankings: list[tuple[float, list[int]]] = []
            if mode is not Mode.SEMANTIC:
                by_words, by_alike = await lexical.rankings(conn, self.sqlite, query, where)
                rankings += [(SHARES["words"], by_words), (SHARES["alike"], by_alike)]
            if query_vector is not None:
                assert self.vectors is not None
                nearest = await self.vectors.nearest(
                    conn, query_vector, where, self.sqlite, lexical.CANDIDATES
                )
                rankings.append((_semantic_share(query), nearest))
            fused = _fuse(rankings, exclude)
            votes = await net_votes(conn, fused)
            scored = {i: score * weight(votes.get(i, 0)) for i, score in fused.items()}
            best = sorted(scored.items(), key=lambda item: -item[1])[:limit]
            if not best:
                return []
            among, params = lexical.ids_in("id", [i for i, _ in best], self.sqlite)
            rows = await conn.execute(
                text(f"SELECT id, title, body, short_answer FROM kb_articles WHERE {among}"),
                params,
            )
            found = {row.id: row for row in rows}
        marks = lexical.marks(query)
        return [
            Hit(i, found[i].title, score, snippet(found[i].body, marks), found[i].short_answer)
            for i, score in best
            if i in found
        ]


def _semantic_share(query: str) -> float:
    """The sentence model's share: doubled for a sentence (four topical words or more), whose
    meaning it reads better than words do; a few typed words are for the words' rankings."""
    return SHARES["semantic"] * (2 if len(lexical.tokens(query)) >= _SENTENCE_WORDS else 1)


def _fuse(rankings: list[tuple[float, list[int]]], exclude: Collection[int]) -> dict[int, float]:
    """Reciprocal rank fusion: each ranking adds share / (k + rank) to the articles it has."""
    fused: dict[int, float] = {}
    for share, ranking in rankings:
        for rank, article_id in enumerate(ranking, start=1):
            if article_id not in exclude:
                fused[article_id] = fused.get(article_id, 0.0) + share / (_FUSION_K + rank)
    return fused


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
        # Whole words ("with" not inside "within"), or the beginning of a longer one ("refund"
        # in "refunds"); Chinese has no word boundaries and is marked where it is.
        pattern = "|".join(
            re.escape(m) if has_cjk(m) else rf"\b{re.escape(m)}"
            for m in sorted(set(marks), key=len, reverse=True)
        )
        for found_mark in re.finditer(pattern, window, flags=re.IGNORECASE):
            pieces.append(html.escape(window[last : found_mark.start()]))
            pieces.append(f"<mark>{html.escape(found_mark.group())}</mark>")
            last = found_mark.end()
    pieces.append(html.escape(window[last:]))
    return ("…" if start else "") + "".join(pieces) + ("…" if start + width < len(plain) else "")
