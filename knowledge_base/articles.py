"""Knowledge-base articles as the service knows them (pure): fields, statuses, and the text that
search indexes.

An article has a Markdown body for agents and the web, a short answer for the phone menu and the
chat bot, tags, products and a locale. Only published articles are ever shown to customers;
drafts and archived ones are for the people who write them. Every change is a new version.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


_WORD = r"[a-z0-9\u4e00-\u9fff]+"
Slug = Annotated[str, StringConstraints(pattern=rf"^{_WORD}(-{_WORD})*$", max_length=120)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Locale = Annotated[
    str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=20)
]


class ArticleFields(BaseModel):
    """An article as writers give it, through the API or a Markdown file's front matter."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    body: Annotated[str, StringConstraints(max_length=200_000)] = ""
    short_answer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""
    tags: list[Label] = Field(default_factory=list, max_length=50)
    products: list[Label] = Field(default_factory=list, max_length=50)
    locale: Locale = "en"
    status: ArticleStatus = ArticleStatus.DRAFT
    slug: Slug | None = None


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    slug: str
    title: str
    body: str
    short_answer: str
    tags: tuple[str, ...]
    products: tuple[str, ...]
    locale: str
    status: ArticleStatus
    version: int
    author_user_id: int | None
    created_at: datetime
    updated_at: datetime


def slugify(title: str) -> str:
    """A URL-safe name made from a title: `Reset your password` → `reset-your-password`."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    if not text.strip():  # a title in another script keeps its letters
        text = title.lower()
    words = re.findall(r"[a-z0-9\u4e00-\u9fff]+", text)
    return "-".join(words)[:120].strip("-") or "article"


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")


def searchable(text: str) -> str:
    """Text as the word indexes see it: runs of Chinese, Japanese or Korean characters, which
    are written without spaces, become the overlapping pairs of characters in them (`退货政策` →
    `退货 货政 政策`), so that a word of two characters is found as it is, in any text."""

    def pairs(run: re.Match[str]) -> str:
        chars = run.group(0)
        if len(chars) == 1:
            return f" {chars} "
        return " " + " ".join(chars[i : i + 2] for i in range(len(chars) - 1)) + " "

    return _CJK.sub(pairs, text)


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None
