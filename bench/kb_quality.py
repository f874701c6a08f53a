"""How good knowledge-base search is on the project's evaluation set, on both backends.

Loads the demo knowledge base (contactcenter/demo/kb/, 58 published articles in English and
Chinese) into a fresh database per backend, asks every question of tests/data/kb/queries.yaml, and
prints recall@1, recall@3 and MRR@5 for lexical, semantic and hybrid search, beside a plain BM25
baseline (rank_bm25's BM25Okapi over the same article texts: every word, Chinese as pairs of
characters). A question counts as answered at k when any of its relevant articles is in the first k.

    .venv/bin/python -m bench.kb_quality [--backend sqlite|postgresql|both] [--by-kind]

Semantic and hybrid figures need the semantic extra (`pip install -e '.[semantic]'`).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.served import databases
from contactcenter.settings import normalize_database_url
from contactcenter.store.db import Database
from contactcenter.store.migrate import migrate
from knowledge_base.articles import ArticleStatus, searchable
from knowledge_base.markdown_files import read_article
from knowledge_base.records import ArticleRecords
from knowledge_base.search import PUBLISHED, ArticleSearch, Mode
from knowledge_base.semantic import VectorIndex, load_embedder

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "contactcenter" / "demo" / "kb"
QUERIES = ROOT / "tests" / "data" / "kb" / "queries.yaml"


@dataclass
class Score:
    """Recall@1, recall@3 and MRR@5 over the questions added so far."""

    asked: int = 0
    at1: int = 0
    at3: int = 0
    reciprocal: float = 0.0
    misses: list[str] = field(default_factory=list)

    def add(self, ranked: list[str], relevant: set[str], question: str) -> None:
        self.asked += 1
        rank = next((i for i, slug in enumerate(ranked[:5], start=1) if slug in relevant), None)
        self.at1 += rank == 1
        self.at3 += rank is not None and rank <= 3
        self.reciprocal += 1 / rank if rank else 0.0
        if rank is None or rank > 3:
            self.misses.append(question)

    def line(self, label: str) -> str:
        n = self.asked or 1
        return (
            f"  {label:<22} recall@1 {self.at1 / n:.3f}  recall@3 {self.at3 / n:.3f}  "
            f"MRR@5 {self.reciprocal / n:.3f}  (n={self.asked})"
        )


def questions() -> list[dict[str, object]]:
    return yaml.safe_load(QUERIES.read_text(encoding="utf-8"))


def plain_words(text: str) -> list[str]:
    """Every word, lower case, Chinese as pairs of characters (as the index has it; BM25 would
    otherwise take a whole Chinese sentence for one word)."""
    return re.findall(r"\w+", searchable(text).lower()) or ["_"]


def bm25_baseline(asked: list[dict[str, object]]) -> tuple[Score, dict[str, Score]]:
    from rank_bm25 import BM25Okapi

    slugs, corpus = [], []
    for path in sorted(ARTICLES.glob("*.md")):
        fields = read_article(path.read_text(encoding="utf-8"), path.name)
        if fields.status is not ArticleStatus.PUBLISHED:
            continue
        slugs.append(path.stem)
        corpus.append(plain_words(f"{fields.title} {' '.join(fields.tags)} {fields.body}"))
    bm25 = BM25Okapi(corpus)
    total, by_kind = Score(), collections.defaultdict(Score)
    for item in asked:
        scores = bm25.get_scores(plain_words(str(item["q"])))
        ranked = [slugs[i] for i in sorted(range(len(slugs)), key=lambda i: -scores[i])[:5]]
        for score in (total, by_kind[str(item["kind"])]):
            score.add(ranked, set(item["relevant"]), str(item["q"]))  # type: ignore[call-overload]
    return total, by_kind


async def fresh_records(url: str) -> tuple[Database, ArticleRecords]:
    """A migrated database and the article records the service would build on it: with
    semantic search where the extra is installed."""
    embedder = load_embedder()
    if embedder is not None:
        await embedder.warm()  # as the service does at start
    db = Database(url=normalize_database_url(url))
    await migrate(db)
    return db, ArticleRecords(
        db=db, search=ArticleSearch(db=db, vectors=VectorIndex(embedder) if embedder else None)
    )


async def evaluate(
    url: str, asked: list[dict[str, object]], by_kind: bool, show_misses: bool
) -> None:
    db, records = await fresh_records(url)
    search, embedder = records.search, load_embedder()
    try:
        report = await records.import_dir(ARTICLES, None)
        assert not report.errors, report.errors
        slug_of = {a.id: a.slug for a in await records.list(limit=1000)}
        modes = [Mode.LEXICAL] + ([Mode.SEMANTIC, Mode.HYBRID] if embedder else [])
        for mode in modes:
            total, kinds = Score(), collections.defaultdict(Score)
            started = time.perf_counter()
            for item in asked:
                hits = await search.search(str(item["q"]), PUBLISHED, 5, mode)
                ranked = [slug_of[h.article_id] for h in hits]
                for score in (total, kinds[str(item["kind"])]):
                    score.add(ranked, set(item["relevant"]), str(item["q"]))  # type: ignore[call-overload]
            took = (time.perf_counter() - started) / len(asked) * 1000
            print(total.line(mode.value) + f"  {took:.1f} ms a question")
            if by_kind:
                for kind, score in sorted(kinds.items()):
                    print("  " + score.line(f"  {kind}"))
            if show_misses:
                for miss in total.misses:
                    print(f"      missed: {miss[:90]}")
        if not embedder:
            print("  semantic, hybrid       not measured: the semantic extra is not installed")
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--by-kind", action="store_true", help="figures per kind of question")
    parser.add_argument("--misses", action="store_true", help="list questions not in the top 3")
    args = parser.parse_args()
    asked = questions()
    print(
        f"kb_quality: {len(asked)} questions, {len(list(ARTICLES.glob('*.md')))} articles; "
        f"{platform.node()}, {platform.python_version()}"
    )
    total, kinds = bm25_baseline(asked)
    print("baseline")
    print(total.line("bm25 (rank_bm25)"))
    if args.by_kind:
        for kind, score in sorted(kinds.items()):
            print("  " + score.line(f"  {kind}"))
    async for label, url in databases(args.backend, "kbq"):
        print(label)
        await evaluate(url, asked, args.by_kind, args.misses)


if __name__ == "__main__":
    asyncio.run(main())
