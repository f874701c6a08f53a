"""REST: the knowledge base. Supervisors and admins write articles; agents read and search
them, see the suggestions for an interaction, and say whether a suggestion served."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contactcenter.model import Role
from contactcenter.web.api.queue import INTERACTION
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.web.errors import ApiError
from knowledge_base.articles import Article, ArticleFields, ArticleStatus
from knowledge_base.feedback import AGENT_VERDICTS, Verdict
from knowledge_base.search import SearchFilter

routes = RouteTable("knowledge base")
ARTICLES = "/api/v1/kb/articles"
ARTICLE = ARTICLES + r"/{article_id:\d+}"


def article_json(article: Article) -> dict[str, Any]:
    found = asdict(article)
    found |= {
        "tags": list(article.tags),
        "products": list(article.products),
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
    }
    return found


class ArticleQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ArticleStatus | None = None
    locale: str | None = Field(default=None, max_length=20)
    after: int | None = Field(default=None, ge=0, description="Last id of the previous page.")
    limit: int = Field(default=50, ge=1, le=200)


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    status: ArticleStatus | Literal["any"] = Field(
        default=ArticleStatus.PUBLISHED, description="`any` includes drafts and archived ones."
    )
    locale: str | None = Field(default=None, max_length=20)
    product: str | None = Field(default=None, max_length=60)
    limit: int = Field(default=10, ge=1, le=50)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["used", "helpful", "not_relevant"] = Field(
        description="used: put into a reply; helpful: right for this; not_relevant: replace it"
    )


@routes.route(
    "GET", ARTICLES, summary="List articles, oldest first", role=Role.AGENT, query=ArticleQuery
)
async def list_articles(call: Call) -> web.Response:
    q: ArticleQuery = call.query
    found = await call.services.articles.list(q.status, q.locale, q.after, q.limit)
    return web.json_response([article_json(a) for a in found])


@routes.route(
    "POST",
    ARTICLES,
    summary="Write a new article (version 1)",
    role=Role.SUPERVISOR,
    body=ArticleFields,
    responses={201: "Created", 409: "The slug is taken"},
)
async def create_article(call: Call) -> web.Response:
    article = await call.services.articles.create(call.body, call.user.user_id)
    return web.json_response(article_json(article), status=201)


@routes.route(
    "GET",
    ARTICLE,
    summary="One article",
    role=Role.AGENT,
    responses={200: "OK", 404: "No such article"},
)
async def get_article(call: Call) -> web.Response:
    return web.json_response(article_json(await call.services.articles.get(_id(call))))


@routes.route(
    "PATCH",
    ARTICLE,
    summary="Change an article; a new version when anything changed",
    role=Role.SUPERVISOR,
    body=ArticleFields,
    partial=True,
    responses={200: "OK", 404: "No such article", 409: "The slug is taken"},
)
async def update_article(call: Call) -> web.Response:
    article_id, records = _id(call), call.services.articles
    current = article_json(await records.get(article_id))
    changes = await call.changes(
        ArticleFields, {key: current[key] for key in ArticleFields.model_fields}
    )
    if "slug" in changes and not changes["slug"]:  # made from the title when created only
        raise ApiError(422, "invalid", "slug: an article keeps a slug; give a new one", "slug")
    article = await records.update(article_id, changes, call.user.user_id)
    return web.json_response(article_json(article))


@routes.route(
    "GET",
    ARTICLE + "/versions",
    summary="Every version of an article, who and when",
    role=Role.AGENT,
    responses={200: "OK", 404: "No such article"},
)
async def article_versions(call: Call) -> web.Response:
    return web.json_response(await call.services.articles.versions(_id(call)))


@routes.route(
    "GET",
    "/api/v1/kb/search",
    summary="Search articles by words (and meaning, with the semantic extra); published ones "
    "unless `status` says otherwise; snippets are HTML with the matches in <mark>",
    role=Role.AGENT,
    query=SearchQuery,
)
async def search_articles(call: Call) -> web.Response:
    q: SearchQuery = call.query
    status = None if q.status == "any" else ArticleStatus(q.status)
    search = call.services.articles.search
    hits = await search.search(q.q, SearchFilter(status, q.locale, q.product), q.limit)
    return web.json_response({"mode": search.mode.value, "hits": [asdict(h) for h in hits]})


@routes.route(
    "GET",
    INTERACTION + "/suggestions",
    summary="The best published articles for an interaction's content, best first",
    role=Role.AGENT,
    responses={200: "OK", 404: "No such interaction"},
)
async def suggestions(call: Call) -> web.Response:
    found = await call.services.suggestions.refresh(call.path_id("interaction_id"))
    return web.json_response([asdict(s) for s in found])


@routes.route(
    "POST",
    INTERACTION + r"/suggestions/{article_id:\d+}/feedback",
    summary="Say whether a suggested article served: used, helpful or not relevant (which "
    "replaces it); used articles go on the customer's timeline",
    role=Role.AGENT,
    body=FeedbackIn,
    responses={204: "Kept", 404: "No such interaction or article"},
)
async def feedback(call: Call) -> web.Response:
    verdict = Verdict(call.body.verdict)
    assert verdict in AGENT_VERDICTS
    await call.services.suggestions.feedback(
        call.path_id("interaction_id"), _id(call), verdict, call.user.agent_id
    )
    return web.Response(status=204)


def _id(call: Call) -> int:
    return call.path_id("article_id")
