"""Changes an SLA escalation makes to waiting work (`contactcenter/escalation/`): a priority
boost, a group that may take it too. Each goes through the router's one path, in the engine
first, then into the interaction's attributes, which a rebuilt engine reads again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from contactcenter.queue.router import Router
from contactcenter.store.db import Database
from contactcenter.store.tables import interactions as interactions_table
from routing.types import Decision


class EscalationActions:
    def __init__(self, *, router: Router, db: Database) -> None:
        self.router = router
        self.db = db

    async def boost(self, interaction_id: int, points: float) -> None:
        """Waiting work jumps ahead by `points` of priority (an SLA escalation step). The total
        is kept in its `_priority_boost` attribute, which the engine reads when it is rebuilt;
        work no longer waiting is not boosted (409)."""

        def kept(attributes: dict[str, Any]) -> None:
            attributes["_priority_boost"] = float(attributes.get("_priority_boost") or 0) + points

        await self._change(
            interaction_id, lambda _now: self.router.engine.boost(str(interaction_id), points), kept
        )

    async def widen(self, interaction_id: int, group: str) -> None:
        """Waiting work may also be taken by `group` (an SLA escalation's overflow), kept in its
        `_overflow_groups` attribute for a rebuild; work no longer waiting is refused (409)."""

        def kept(attributes: dict[str, Any]) -> None:
            groups = list(attributes.get("_overflow_groups") or [])
            attributes["_overflow_groups"] = [*groups, group] if group not in groups else groups

        await self._change(
            interaction_id,
            lambda now: self.router.engine.widen(str(interaction_id), group, now),
            kept,
        )

    async def _change(
        self,
        interaction_id: int,
        change: Callable[[float], list[Decision]],
        kept: Callable[[dict[str, Any]], None],
    ) -> None:
        """An escalation's change to waiting work: in the engine, then in the interaction's
        attributes (`kept` edits them), so that a rebuilt engine makes the same change."""

        async def step(now: float) -> list[Decision]:
            decisions = self.router.call(change, now)
            try:
                async with self.db.begin() as conn:
                    row = (
                        await conn.execute(
                            select(interactions_table.c.attributes)
                            .where(interactions_table.c.id == interaction_id)
                            .with_for_update()
                        )
                    ).one()
                    attributes = dict(row.attributes or {})
                    kept(attributes)
                    await conn.execute(
                        update(interactions_table)
                        .where(interactions_table.c.id == interaction_id)
                        .values(attributes=attributes)
                    )
            except Exception:
                await self.router.rebuild()  # the engine changed, the database did not
                raise
            return decisions

        await self.router.run(step)
