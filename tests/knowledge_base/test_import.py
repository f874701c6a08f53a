"""`kb import` and `kb export` folders: good files imported (and updated on a second import),
bad ones reported by name and line, an export that imports back unchanged."""

from __future__ import annotations

from pathlib import Path

from contactcenter.store.db import Database
from knowledge_base.records import ArticleRecords
from knowledge_base.search import ArticleSearch

GOOD = """---
title: Reset your password
tags: [account]
status: published
---
Use **Forgot password** on the sign-in page.
"""
BAD_FIELD = """---
title: Broken
status: finished
---
Body.
"""
NO_FENCE = "title: no front matter\n"


async def test_good_files_import_and_bad_ones_are_named_with_their_line(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "password.md").write_text(GOOD, encoding="utf-8")
    (folder / "broken.md").write_text(BAD_FIELD, encoding="utf-8")
    (folder / "plain.md").write_text(NO_FENCE, encoding="utf-8")
    records = ArticleRecords(db=db, search=ArticleSearch(db=db))
    report = await records.import_dir(folder, None)
    assert report.created == ["reset-your-password"]
    assert report.errors[0].startswith("broken.md:3: status:")
    assert report.errors[1].startswith("plain.md:1:")
    [hit] = await records.search.search("forgot password")
    assert hit.title == "Reset your password"

    (folder / "password.md").write_text(GOOD.replace("sign-in page", "login page"), "utf-8")
    again = await records.import_dir(folder, None)
    assert again.updated == ["reset-your-password"] and again.created == []

    out = tmp_path / "export"
    assert await records.export_dir(out) == 1
    back = await records.import_dir(out, None)
    assert back.unchanged == ["reset-your-password"] and back.errors == []
