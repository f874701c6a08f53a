"""Articles as Markdown files with YAML front matter (pure): what `kb import` reads and `kb export`
writes, one file per article.

    ---
    title: Reset your password
    slug: reset-your-password
    short_answer: Use "Forgot password" on the sign-in page; the link lasts an hour.
    tags: [account, password]
    products: [web shop]
    locale: en
    status: published
    ---
    The body, in Markdown.

A file that cannot be used is reported as `file:line: field: what is wrong`.
"""

from __future__ import annotations

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode

from knowledge_base.articles import Article, ArticleFields

_FENCE = "---"


class ArticleFileError(ValueError):
    """A file that is not an article; str() names the file, the line and the field."""


def read_article(text: str, source: str) -> ArticleFields:
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != _FENCE:
        raise ArticleFileError(f"{source}:1: the file must start with a '---' front matter line")
    end = next((i for i, line in enumerate(lines[1:], start=1) if line.strip() == _FENCE), None)
    if end is None:
        raise ArticleFileError(f"{source}:1: the front matter has no closing '---' line")
    try:
        root = yaml.compose("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        problem = getattr(exc, "problem", exc)
        raise ArticleFileError(f"{source}:{line}: not valid YAML: {problem}") from None
    if not isinstance(root, MappingNode):
        raise ArticleFileError(f"{source}:2: the front matter must be a mapping of fields")
    nodes: dict[str, Node] = {}
    for key, value in root.value:
        if not isinstance(key, ScalarNode):
            raise ArticleFileError(f"{source}:{key.start_mark.line + 2}: a field name must be text")
        nodes[key.value] = value
    values = yaml.safe_load("\n".join(lines[1:end])) or {}
    values["body"] = "\n".join(lines[end + 1 :]).strip("\n") + "\n"
    try:
        return ArticleFields.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "front matter"
        node = nodes.get(field)
        line = node.start_mark.line + 2 if node is not None else 2
        what = "is required" if error["type"] == "missing" else error["msg"]
        if error["type"] == "extra_forbidden":
            what = "unknown field; known: " + ", ".join(sorted(ArticleFields.model_fields))
        raise ArticleFileError(f"{source}:{line}: {field}: {what}") from None


def write_article(article: Article) -> str:
    front = {
        "title": article.title,
        "slug": article.slug,
        "short_answer": article.short_answer,
        "tags": list(article.tags),
        "products": list(article.products),
        "locale": article.locale,
        "status": article.status.value,
    }
    matter = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=100)
    return f"{_FENCE}\n{matter}{_FENCE}\n{article.body.rstrip()}\n"
