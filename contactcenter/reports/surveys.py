"""Satisfaction figures over a window (surveys sent in it): CSAT % (responses scoring 4 or 5 ÷
responses) and response rate (responses ÷ surveys sent), in all and by tier, channel, agent
and group (the groups of the agent who handled the work). The definitions are
`workflows/surveys.py`'s `Figures`; "did this solve it?" answers are counted apart."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from contactcenter.store.db import Database
from contactcenter.store.tables import agents, groups, memberships, surveys
from workflows.surveys import Figures


async def survey_figures(db: Database, since: datetime, until: datetime) -> dict[str, Any]:
    window = (
        (surveys.c.sent_at >= since) & (surveys.c.sent_at < until) & (surveys.c.ask == "survey")
    )
    answered = func.sum(case((surveys.c.csat.is_not(None), 1), else_=0))
    satisfied = func.sum(case((surveys.c.csat >= 4, 1), else_=0))
    counts = (func.count(), answered, satisfied)
    async with db.connect() as conn:
        total = (await conn.execute(select(*counts).where(window))).one()
        by: dict[str, list[Any]] = {}
        for name, column in (("tier", surveys.c.tier), ("channel", surveys.c.channel)):
            by[name] = list(
                await conn.execute(select(column, *counts).where(window).group_by(column))
            )
        by["agent"] = list(
            await conn.execute(
                select(agents.c.name, *counts)
                .join(agents, agents.c.id == surveys.c.agent_id)
                .where(window)
                .group_by(agents.c.id, agents.c.name)
            )
        )
        by["group"] = list(
            await conn.execute(
                select(groups.c.name, *counts)
                .join(memberships, memberships.c.agent_id == surveys.c.agent_id)
                .join(groups, groups.c.id == memberships.c.group_id)
                .where(window)
                .group_by(groups.c.name)
            )
        )
        solved = (
            await conn.execute(
                select(
                    func.count(),
                    func.sum(case((surveys.c.solved.is_(True), 1), else_=0)),
                ).where(
                    surveys.c.sent_at >= since,
                    surveys.c.sent_at < until,
                    surveys.c.ask == "solved",
                    surveys.c.answered_at.is_not(None),
                )
            )
        ).one()
    result: dict[str, Any] = {
        "since": since.isoformat(),
        "until": until.isoformat(),
        **_figures(total[0], total[1], total[2]),
        "self_served": {"answered": solved[0], "solved": int(solved[1] or 0)},
    }
    for name, rows in by.items():
        merged: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for key, sent, responses, happy in rows:
            merged[str(key)][0] += sent
            merged[str(key)][1] += int(responses or 0)
            merged[str(key)][2] += int(happy or 0)
        result[f"by_{name}"] = [
            {"key": key, **_figures(*values)} for key, values in sorted(merged.items())
        ]
    return result


def _figures(sent: int, responses: Any, satisfied: Any) -> dict[str, Any]:
    figures = Figures(int(sent or 0), int(responses or 0), int(satisfied or 0))
    return {
        "sent": figures.sent,
        "responses": figures.responses,
        "csat_percent": figures.csat_percent,
        "response_rate": figures.response_rate,
    }
