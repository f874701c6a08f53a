"""Feedback on suggested articles: kept per interaction, and summed per article as a ranking
signal that moves an article by a bounded share of its score, never past the query's relevance.

Agents say `used`, `helpful` or `not_relevant`; customers answer "did this help?" with `helped`
or `not_helped`. An article marked not relevant on an interaction is not suggested for it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.store.tables import kb_feedback
from knowledge_base.lexical import ids_in

FEEDBACK_SHARE = 0.25  # at most a quarter of an article's fused score, up or down
_DAMPING = 5  # votes before the signal reaches half its share


class Verdict(StrEnum):
    USED = "used"
    HELPFUL = "helpful"
    NOT_RELEVANT = "not_relevant"
    HELPED = "helped"  # a customer's yes to "did this help?"
    NOT_HELPED = "not_helped"

    @property
    def positive(self) -> bool:
        return self in (Verdict.USED, Verdict.HELPFUL, Verdict.HELPED)

    @property
    def from_customer(self) -> bool:
        return self in (Verdict.HELPED, Verdict.NOT_HELPED)


AGENT_VERDICTS = (Verdict.USED, Verdict.HELPFUL, Verdict.NOT_RELEVANT)
_POSITIVE = [v.value for v in Verdict if v.positive]


async def net_votes(conn: AsyncConnection, article_ids: Iterable[int]) -> dict[int, int]:
    """Positive minus negative verdicts per article, for those that have any."""
    ids = list(article_ids)
    if not ids:
        return {}
    among, params = ids_in("article_id", ids, conn.dialect.name == "sqlite")
    positive = ", ".join(f"'{v}'" for v in _POSITIVE)
    rows = await conn.execute(
        text(
            f"SELECT article_id, sum(CASE WHEN verdict IN ({positive}) THEN 1 ELSE -1 END) AS net "
            f"FROM kb_feedback WHERE {among} GROUP BY article_id"
        ),
        params,
    )
    return {int(row.article_id): int(row.net) for row in rows}


def weight(net: int) -> float:
    """The factor on an article's fused score: 1 without votes, towards 1 ± FEEDBACK_SHARE."""
    return 1.0 + FEEDBACK_SHARE * net / (abs(net) + _DAMPING)


async def dismissed(conn: AsyncConnection, interaction_id: int) -> set[int]:
    """Articles an agent marked not relevant, or a customer said did not help, on it."""
    rows = await conn.execute(
        select(kb_feedback.c.article_id).where(
            kb_feedback.c.interaction_id == interaction_id,
            kb_feedback.c.verdict.in_([Verdict.NOT_RELEVANT.value, Verdict.NOT_HELPED.value]),
        )
    )
    return {int(row.article_id) for row in rows}
