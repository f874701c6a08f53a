"""The best articles for each interaction, from what the customer wrote, said or chose.

An interaction's content is its subject and topic, what the caller said and chose in the phone
menu, and the customer's messages (mail bodies, chat lines; the latest count most, so a long
conversation is read from its end). Suggestions are computed when asked for, when the interaction
is offered to an agent, when the customer adds to work an agent has (`interaction.message`) and
after feedback; each time they differ from the last ones they are kept and pushed on the event
stream as `interaction.suggestions`, with the interaction's agent so that agent hears them (an
offer pushes them whether or not they changed). Work nobody has yet gets them when asked for: a
burst of mail costs no searches before agents take it. Only published articles are suggested;
an article dismissed on the interaction is not again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.errors import NotFound
from contactcenter.events import (
    EventBus,
    InteractionMessage,
    InteractionSuggestions,
    Offered,
    Origin,
)
from contactcenter.runtime.clock import now
from contactcenter.store.db import Database
from contactcenter.store.tables import (
    customer_events,
    interactions,
    kb_articles,
    kb_feedback,
    kb_suggestions,
    messages,
)
from knowledge_base.feedback import Verdict, dismissed
from knowledge_base.search import PUBLISHED, ArticleSearch, Hit

log = structlog.get_logger(__name__)
SHOWN = 5
_CONTENT_CHARS = 2000
_CONTEXT_CHARS = 100  # earlier messages are added while the query is shorter (short chat lines)


@dataclass(frozen=True, slots=True)
class Suggestion:
    article_id: int
    title: str
    snippet: str
    short_answer: str
    score: float

    @classmethod
    def of(cls, hit: Hit) -> Suggestion:
        return cls(hit.article_id, hit.title, hit.snippet, hit.short_answer, round(hit.score, 6))


@dataclass(frozen=True, slots=True)
class _About:
    """An interaction as suggestions see it: its content as a query, whose it is, who has it."""

    query: str
    customer_id: int
    agent_id: int | None


def content_of(row: Any, customer_lines: list[str]) -> str:
    """What an interaction is about, as one query: the customer's latest message (what they ask
    now), the subject, topic, the caller's words and menu choices, then their earlier messages
    from the latest back while the query is shorter than `_CONTEXT_CHARS`: a chat's short lines
    borrow context, a mail on a thread is not outvoted by the mails before it."""
    parts: list[str] = [row.subject or ""]
    if row.topic:
        parts.append(row.topic.replace("_", " ").replace(".", " "))
    for step in (row.attributes or {}).get("ivr_path", []):
        kind, _, value = str(step).partition(":")
        if kind == "said":
            parts.append(value)
        elif kind == "menu" and value.count(":") == 1:  # menu:queue:<topic>
            parts.append(value.split(":")[1].replace("_", " "))
    latest_first = [line.strip() for line in reversed(customer_lines) if line.strip()]
    query = " ".join(p for p in [*latest_first[:1], *parts] if p)
    for earlier in latest_first[1:]:  # short chat lines ("yes", an order number) need context
        if len(query) >= _CONTEXT_CHARS:
            break
        query = f"{query} {earlier}"
    return query[:_CONTENT_CHARS]


SelfServed = Callable[[int, int], Awaitable[None]]  # (interaction_id, article_id)


class Suggestions:
    """Suggestions per interaction, and what agents and customers say of them. `self_served`
    ends an interaction that an article answered (the queue's, wired by the service)."""

    def __init__(
        self,
        *,
        db: Database,
        search: ArticleSearch,
        bus: EventBus,
        holder: Callable[[int], int | None],
        self_served: SelfServed | None = None,
    ) -> None:
        self.db = db
        self.search = search
        self.bus = bus
        self.self_served = self_served
        # The agent who has an interaction now, as routing knows it (the queue's `holder`).
        self.holder = holder
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="kb-suggestions")
        await asyncio.sleep(0)  # subscribed before anything else is published

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def feedback(
        self, interaction_id: int, article_id: int, verdict: Verdict, agent_id: int | None = None
    ) -> None:
        """Keep what was said of an article on an interaction. An article used (by an agent, or
        a customer it helped) goes on the customer's timeline; a dismissed one is replaced."""
        async with self.db.begin() as conn:
            customer_id = (await self._content(conn, interaction_id)).customer_id
            article = (
                await conn.execute(
                    select(kb_articles.c.title, kb_articles.c.slug).where(
                        kb_articles.c.id == article_id
                    )
                )
            ).one_or_none()
            if article is None:
                raise NotFound("article", article_id, "article_id")
            at = now()
            await conn.execute(
                kb_feedback.insert().values(
                    article_id=article_id,
                    interaction_id=interaction_id,
                    verdict=verdict.value,
                    agent_id=agent_id,
                    created_at=at,
                )
            )
            if verdict in (Verdict.USED, Verdict.HELPED):
                by = "customer" if verdict.from_customer else "agent"
                await conn.execute(
                    customer_events.insert().values(
                        customer_id=customer_id,
                        type="kb.article_used",
                        at=at,
                        data={
                            "article_id": article_id,
                            "title": article.title,
                            "slug": article.slug,
                            "interaction_id": interaction_id,
                            "by": by,
                            "agent_id": agent_id,
                        },
                    )
                )
        log.info(
            "kb.feedback",
            interaction_id=interaction_id,
            article_id=article_id,
            verdict=verdict.value,
            agent_id=agent_id,
        )
        if not verdict.positive:
            await self.refresh(interaction_id)

    async def customer_answered(self, interaction_id: int, article_id: int, helped: bool) -> None:
        """The customer's answer to "did this help?": yes ends the interaction as self-served
        when no agent has it yet."""
        await self.feedback(
            interaction_id, article_id, Verdict.HELPED if helped else Verdict.NOT_HELPED
        )
        if helped and self.self_served is not None:
            await self.self_served(interaction_id, article_id)

    async def refresh(self, interaction_id: int, publish: bool = False) -> list[Suggestion]:
        """Compute the suggestions now; keep and publish them when they changed (publish them
        anyway with `publish`)."""
        async with self.db.connect() as conn:
            about = await self._content(conn, interaction_id)
            excluded = await dismissed(conn, interaction_id)
            before = await self._kept(conn, interaction_id)
        query = about.query
        hits = await self.search.search(query, PUBLISHED, SHOWN, exclude=excluded) if query else []
        found = [Suggestion.of(hit) for hit in hits]
        ids = [s.article_id for s in found]
        changed = ids != (before or [])  # none yet is the same as none found
        if changed:
            await self._keep(interaction_id, ids)
        if changed or publish:
            self.bus.publish(
                InteractionSuggestions(
                    interaction_id=interaction_id,
                    customer_id=about.customer_id,
                    agent_id=about.agent_id,
                    suggestions=[asdict(s) for s in found],
                )
            )
        return found

    async def run(self) -> None:
        """Refresh the suggestions of interactions as they reach agents or gain messages, until
        cancelled. Events that come while a refresh runs are taken together, each once."""
        while True:
            async with self.bus.subscribe(Origin.HERE) as events:
                pending: dict[int, bool] = {}  # interaction id: publish even if unchanged
                async for event in events:
                    if isinstance(event, InteractionMessage | Offered):
                        key = event.interaction_id
                        offered = isinstance(event, Offered)
                        pending[key] = pending.get(key, False) or offered
                    if events.queue.empty() and pending:
                        await self._refresh_pending(pending)
                        pending.clear()
            await asyncio.sleep(0.1)  # the bus dropped us for falling behind: start again

    async def _refresh_pending(self, pending: dict[int, bool]) -> None:
        """Offers are refreshed and pushed; messages only on work an agent has: waiting work
        has nobody to tell yet, and a burst of new mail would cost a search each. Which of them
        an agent has, the queue knows without a read."""
        messaged = [i for i, offered in pending.items() if not offered]
        worked = {i for i in messaged if self.holder(i) is not None}
        for interaction_id, offered in pending.items():
            if not offered and interaction_id not in worked:
                continue
            try:
                await self.refresh(interaction_id, publish=offered)
            except Exception:  # one interaction's failure must not stop the others' suggestions
                log.exception("kb.suggestions_failed", interaction_id=interaction_id)

    async def _content(self, conn: AsyncConnection, interaction_id: int) -> _About:
        row = (
            await conn.execute(
                select(
                    interactions.c.subject,
                    interactions.c.topic,
                    interactions.c.attributes,
                    interactions.c.customer_id,
                    interactions.c.agent_id,
                ).where(interactions.c.id == interaction_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("interaction", interaction_id)
        lines = (
            (
                await conn.execute(
                    select(messages.c.body)
                    .where(
                        messages.c.interaction_id == interaction_id, messages.c.author == "customer"
                    )
                    .order_by(messages.c.id.desc())
                    .limit(20)
                )
            )
            .scalars()
            .all()
        )
        return _About(content_of(row, list(reversed(lines))), row.customer_id, row.agent_id)

    async def _kept(self, conn: AsyncConnection, interaction_id: int) -> list[int] | None:
        row = (
            await conn.execute(
                select(kb_suggestions.c.article_ids).where(
                    kb_suggestions.c.interaction_id == interaction_id
                )
            )
        ).one_or_none()
        return None if row is None else list(row.article_ids)

    async def _keep(self, interaction_id: int, ids: list[int]) -> None:
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        values = {"interaction_id": interaction_id, "article_ids": ids, "updated_at": now()}
        stmt = insert(kb_suggestions).values(**values)
        async with self.db.begin() as conn:
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["interaction_id"],
                    set_={
                        "article_ids": stmt.excluded.article_ids,
                        "updated_at": stmt.excluded.updated_at,
                    },
                )
            )
