"""How fast knowledge-base search is over 10,000 articles, on both backends.

Builds 10,000 published articles from the demo knowledge base (each demo article rewritten for
one of 180 product models, with paragraphs of two other articles added, so the words overlap as
in a real knowledge base), embeds them once, stores them on each backend through the same records
the service uses, and asks every question of the evaluation set (tests/data/kb/queries.yaml:
chat lines, long mails, Chinese) `--rounds` times. Prints p50, p95 and p99 per search mode; the
hybrid figures include embedding the question.

    .venv/bin/python -m bench.kb_search [--articles 10000] [--backend both] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import random
import statistics
import time
from pathlib import Path

from sqlalchemy import text

from bench.kb_quality import ARTICLES, fresh_records, questions
from bench.served import databases
from contactcenter.runtime.gc_tuning import tune_gc
from contactcenter.store.db import Database
from knowledge_base.articles import ArticleFields, ArticleStatus
from knowledge_base.markdown_files import read_article
from knowledge_base.search import PUBLISHED, ArticleSearch, Mode, Vector
from knowledge_base.semantic import Embedder, VectorIndex, load_embedder

OUT = Path(__file__).resolve().parent / "out"
SERIES = ["Aero", "Vista", "Orbit", "Nimbus", "Pulse", "Quartz"]
KINDS = ["laptop", "printer", "monitor", "dock", "headset", "keyboard"]


def generated(count: int, seed: int = 7) -> list[ArticleFields]:
    """`count` articles made from the demo ones; the same for the same seed."""
    rng = random.Random(seed)
    base = [
        read_article(p.read_text(encoding="utf-8"), p.name) for p in sorted(ARTICLES.glob("*.md"))
    ]
    base = [a for a in base if a.status is ArticleStatus.PUBLISHED]
    models = [f"{s} {n}" for s in SERIES for n in range(10, 40)]
    made = []
    for i in range(count):
        article = base[i % len(base)]
        model = models[(i // len(base)) % len(models)]
        kind = KINDS[i % len(KINDS)]
        extra = [rng.choice(base).body.split("\n\n")[0] for _ in range(2)]
        made.append(
            ArticleFields(
                title=f"{article.title} ({model} {kind})",
                short_answer=article.short_answer,
                body=f"{article.body}\n\nThis applies to the {model} {kind}, model {i:05d}.\n\n"
                + "\n\n".join(extra),
                tags=[*article.tags, kind],
                products=[f"{model} {kind}"],
                locale=article.locale,
                status=ArticleStatus.PUBLISHED,
                slug=f"{article.slug or 'a'}-{i}",
            )
        )
    return made


async def embedded(made: list[ArticleFields], embedder: Embedder) -> list[Vector | None]:
    """The articles' embeddings, made once (six minutes for 10,000 on two cores) and kept in
    bench/out/ for the next run with the same articles."""
    import numpy as np

    cache = OUT / f"kb_vectors_{len(made)}_{embedder.name}.npy"
    if cache.exists():
        print(f"  embeddings from {cache.relative_to(OUT.parent.parent)}")
        return list(np.load(cache))
    started = time.perf_counter()
    search = ArticleSearch(db=Database(url="sqlite+aiosqlite://"), vectors=VectorIndex(embedder))
    vectors = await search.embed_many(made)
    print(f"  embedded them in {time.perf_counter() - started:.0f} s")
    OUT.mkdir(exist_ok=True)
    np.save(cache, np.stack(vectors))  # type: ignore[arg-type]
    return vectors


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (
        f"p50 {statistics.median(ordered):6.2f} ms  p95 {p(0.95):6.2f} ms  "
        f"p99 {p(0.99):6.2f} ms  (n={len(ordered)})"
    )


async def measure(
    url: str, made: list[ArticleFields], vectors: list[Vector | None], rounds: int
) -> None:
    db, records = await fresh_records(url)
    search, embedder = records.search, load_embedder()
    try:
        started = time.perf_counter()
        for fields, vector in zip(made, vectors, strict=True):
            await records.create(fields, None, vector)
        print(f"  stored {len(made)} articles in {time.perf_counter() - started:.0f} s")
        if not db.is_sqlite:  # the statistics autovacuum gathers soon after a load
            async with db.begin() as conn:
                await conn.execute(text("ANALYZE"))
        asked = [str(item["q"]) for item in questions()]
        modes = [Mode.LEXICAL] + ([Mode.SEMANTIC, Mode.HYBRID] if embedder else [])
        for mode in modes:
            await search.search(asked[0], PUBLISHED, 5, mode)  # loads the embedding matrix
            samples = []
            for _ in range(rounds):
                for question in asked:
                    began = time.perf_counter()
                    await search.search(question, PUBLISHED, 5, mode)
                    samples.append((time.perf_counter() - began) * 1000)
            print(f"  {mode.value:<9} {percentiles(samples)}")
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"kb_search: {args.articles} articles; {platform.node()}, {platform.python_version()}")
    made = generated(args.articles)
    embedder = load_embedder()
    vectors: list[Vector | None] = [None] * len(made)
    if embedder is not None:
        vectors = await embedded(made, embedder)
    # As the service runs (contactcenter.runtime.gc_tuning); the 10,000 articles and their
    # vectors are the benchmark's own, not the service's, and are kept out of the cycle
    # collector's passes.
    tune_gc()
    gc.freeze()
    async for label, url in databases(args.backend, "kbs"):
        print(label)
        await measure(url, made, vectors, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
