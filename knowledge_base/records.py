"""Articles on the record: written with a new version each time and indexed in the same
transaction; read, listed, imported from and exported to a folder of Markdown files."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.errors import Conflict, Invalid, NotFound
from contactcenter.runtime.clock import now
from contactcenter.store.db import Database
from contactcenter.store.tables import kb_article_versions, kb_articles
from knowledge_base.articles import Article, ArticleFields, ArticleStatus, slugify
from knowledge_base.markdown_files import ArticleFileError, read_article, write_article
from knowledge_base.search import ArticleSearch, Vector

_CONTENT = ("title", "body", "short_answer", "tags", "products", "locale", "status")


@dataclass(slots=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # `file:line: field: what is wrong`


def _article(row: Row[Any]) -> Article:
    return Article(
        id=row.id,
        slug=row.slug,
        title=row.title,
        body=row.body,
        short_answer=row.short_answer,
        tags=tuple(row.tags),
        products=tuple(row.products),
        locale=row.locale,
        status=ArticleStatus(row.status),
        version=row.version,
        author_user_id=row.author_user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ArticleRecords:
    def __init__(self, *, db: Database, search: ArticleSearch) -> None:
        self.db = db
        self.search = search

    async def get(self, article_id: int, conn: AsyncConnection | None = None) -> Article:
        if conn is None:
            async with self.db.connect() as conn:
                return await self.get(article_id, conn)
        row = (
            await conn.execute(select(kb_articles).where(kb_articles.c.id == article_id))
        ).one_or_none()
        if row is None:
            raise NotFound("article", article_id)
        return _article(row)

    async def by_slug(self, slug: str) -> Article | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(select(kb_articles).where(kb_articles.c.slug == slug))
            ).one_or_none()
        return None if row is None else _article(row)

    async def list(
        self,
        status: ArticleStatus | None = None,
        locale: str | None = None,
        after_id: int | None = None,
        limit: int = 100,
    ) -> list[Article]:
        stmt = select(kb_articles).order_by(kb_articles.c.id).limit(limit)
        if status is not None:
            stmt = stmt.where(kb_articles.c.status == status.value)
        if locale is not None:
            stmt = stmt.where(kb_articles.c.locale == locale)
        if after_id is not None:
            stmt = stmt.where(kb_articles.c.id > after_id)
        async with self.db.connect() as conn:
            return [_article(row) for row in await conn.execute(stmt)]

    async def versions(self, article_id: int) -> list[dict[str, Any]]:
        async with self.db.connect() as conn:
            await self.get(article_id, conn)
            rows = await conn.execute(
                select(kb_article_versions)
                .where(kb_article_versions.c.article_id == article_id)
                .order_by(kb_article_versions.c.version)
            )
            return [
                {
                    k: (v.isoformat() if hasattr(v, "isoformat") else v)
                    for k, v in row._mapping.items()
                    if k != "id"
                }
                for row in rows
            ]

    async def create(
        self, fields: ArticleFields, author_user_id: int | None, vector: Vector | None = None
    ) -> Article:
        """A new article (version 1); `vector` is its embedding when the caller made it."""
        at = now()
        async with self.db.begin() as conn:
            slug = fields.slug or await self._free_slug(conn, slugify(fields.title))
            if fields.slug and await self._slug_taken(conn, slug):
                raise Conflict(f"an article named {slug!r} exists already", "slug")
            content = _content(fields)
            article_id = (
                await conn.execute(
                    insert(kb_articles)
                    .values(
                        slug=slug,
                        **content,
                        version=1,
                        author_user_id=author_user_id,
                        created_at=at,
                        updated_at=at,
                    )
                    .returning(kb_articles.c.id)
                )
            ).scalar_one()
            return await self._versioned(conn, article_id, author_user_id, vector)

    async def update(
        self,
        article_id: int,
        changes: dict[str, Any],
        author_user_id: int | None,
        vector: Vector | None = None,
    ) -> Article:
        """Change some fields (validated as a whole article); a new version when anything
        changed, the same article otherwise."""
        async with self.db.begin() as conn:
            current = await self.get(article_id, conn)
            merged = ArticleFields.model_validate(
                {
                    **{k: getattr(current, k) for k in _CONTENT},
                    "slug": current.slug,
                    "tags": list(current.tags),
                    "products": list(current.products),
                    **changes,
                }
            )
            content = _content(merged)
            if merged.slug != current.slug:
                if await self._slug_taken(conn, merged.slug or ""):
                    raise Conflict(f"an article named {merged.slug!r} exists already", "slug")
                content["slug"] = merged.slug
            before = {k: getattr(current, k) for k in _CONTENT}
            before |= {
                "tags": list(current.tags),
                "products": list(current.products),
                "status": current.status.value,
            }
            if all(before[k] == content[k] for k in _CONTENT) and "slug" not in content:
                return current
            await conn.execute(
                update(kb_articles)
                .where(kb_articles.c.id == article_id)
                .values(
                    **content,
                    version=current.version + 1,
                    author_user_id=author_user_id,
                    updated_at=now(),
                )
            )
            return await self._versioned(conn, article_id, author_user_id, vector)

    async def _versioned(
        self,
        conn: AsyncConnection,
        article_id: int,
        author_user_id: int | None,
        vector: Vector | None,
    ) -> Article:
        """Keep the article's current content as its version, and index it."""
        article = await self.get(article_id, conn)
        await conn.execute(
            insert(kb_article_versions).values(
                article_id=article_id,
                version=article.version,
                title=article.title,
                body=article.body,
                short_answer=article.short_answer,
                tags=list(article.tags),
                products=list(article.products),
                locale=article.locale,
                status=article.status.value,
                author_user_id=author_user_id,
                created_at=now(),
            )
        )
        await self.search.put(conn, article, vector)
        return article

    async def _slug_taken(self, conn: AsyncConnection, slug: str) -> bool:
        found = await conn.execute(select(kb_articles.c.id).where(kb_articles.c.slug == slug))
        return found.first() is not None

    async def _free_slug(self, conn: AsyncConnection, base: str) -> str:
        """`base`, or `base-2`, `base-3`…; a number replaces the end of a long base, so that a
        slug stays within its 120 characters (every candidate starts with `base[:110]`)."""
        stem = base[:110]
        taken = set(
            (
                await conn.execute(
                    select(kb_articles.c.slug).where(
                        func.substr(kb_articles.c.slug, 1, len(stem)) == stem
                    )
                )
            ).scalars()
        )
        candidates = (f"{base[: 119 - len(str(n))]}-{n}" for n in range(2, len(taken) + 3))
        return next(slug for slug in [base, *candidates] if slug not in taken)

    # -- folders of Markdown files -----------------------------------------------------------

    async def import_dir(self, folder: Path, author_user_id: int | None) -> ImportReport:
        """Every `*.md` file in `folder`: new slugs created, known ones updated; a bad file is
        reported by name and line and the good ones imported all the same."""
        report = ImportReport()
        good: list[ArticleFields] = []
        for name, text in await asyncio.to_thread(_read_folder, folder):
            try:
                if text is None:
                    raise ArticleFileError(f"{name}:1: not UTF-8 text")
                fields = read_article(text, name)
            except ArticleFileError as exc:
                report.errors.append(str(exc))
                continue
            good.append(fields.model_copy(update={"slug": fields.slug or slugify(fields.title)}))
        vectors = await self.search.embed_many(good)
        for fields, vector in zip(good, vectors, strict=True):
            assert fields.slug is not None
            existing = await self.by_slug(fields.slug)
            if existing is None:
                await self.create(fields, author_user_id, vector)
                report.created.append(fields.slug)
                continue
            changes = fields.model_dump(mode="json", exclude={"slug"})
            updated = await self.update(existing.id, changes, author_user_id, vector)
            changed = updated.version != existing.version
            (report.updated if changed else report.unchanged).append(fields.slug)
        return report

    async def export_dir(self, folder: Path) -> int:
        """Every article as `<slug>.md` in `folder`; returns how many."""
        count, after = 0, None
        while page := await self.list(after_id=after, limit=500):
            files = {f"{a.slug}.md": write_article(a) for a in page}
            await asyncio.to_thread(_write_folder, folder, files)
            count += len(page)
            after = page[-1].id
        return count


def _read_folder(folder: Path) -> list[tuple[str, str | None]]:
    """Each Markdown file's name and text (None: not UTF-8)."""
    if not folder.is_dir():
        raise Invalid(f"{folder} is not a folder", "folder")
    found: list[tuple[str, str | None]] = []
    for path in sorted(folder.glob("*.md")):
        try:
            found.append((path.name, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            found.append((path.name, None))
    return found


def _write_folder(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _content(fields: ArticleFields) -> dict[str, Any]:
    values = fields.model_dump(mode="json", include=set(_CONTENT))
    values["body"] = values["body"].strip("\n") + "\n" if values["body"].strip() else ""
    return values
