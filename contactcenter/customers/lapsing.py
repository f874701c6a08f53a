"""The lapsed sweep: once a day, buying customers whose last order is older than the policy
allows become `lapsed`, each with a timeline event that says why.

It reads `customers.last_order_at` (kept by the order records), never the orders, and works in
batches of `BATCH` customers, each its own transaction, so a million customers never sit in one
transaction or in memory. An order that arrives meanwhile wins: a batch's UPDATE repeats the
sweep's condition, so a customer who just ordered is not lapsed. It runs on the leading instance
(`Leadership.join`).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select, update

from contactcenter import events as ev
from contactcenter.customers.record_events import add_events
from contactcenter.runtime.clock import now
from contactcenter.runtime.rounds import Rounds
from contactcenter.store.db import Database
from contactcenter.store.tables import customers
from workflows.lifecycle import BUYING, LifecyclePolicy, Stage, after_silence

log = structlog.get_logger(__name__)
BATCH = 2000
DAY = 86400.0


class LapsedSweep:
    def __init__(
        self, *, db: Database, policy: LifecyclePolicy, events: ev.EventBus, every: float = DAY
    ) -> None:
        self.db = db
        self.policy = policy
        self.events = events
        self._rounds = Rounds(name="lapsed sweep", round_=self.sweep, every=every)

    async def lead(self, _db: Database) -> None:
        self._rounds.start()

    async def stand_down(self) -> None:
        await self._rounds.stop()

    async def sweep(self, at: datetime | None = None) -> int:
        """Lapse every buying customer silent since before the policy's cutoff; how many."""
        at = at or now()
        cutoff = self.policy.lapse_cutoff(at)
        buying = [stage.value for stage in BUYING]
        lapsed, after_id = 0, 0
        while True:
            async with self.db.begin() as conn:
                rows = (
                    await conn.execute(
                        select(
                            customers.c.id, customers.c.lifecycle_stage, customers.c.last_order_at
                        )
                        .where(
                            customers.c.id > after_id,
                            customers.c.last_order_at <= cutoff,
                            customers.c.lifecycle_stage.in_(buying),
                            customers.c.merged_into_id.is_(None),
                        )
                        .order_by(customers.c.id)
                        .limit(BATCH)
                    )
                ).all()
                if not rows:
                    break
                after_id = rows[-1].id
                changes = {
                    row.id: (row.lifecycle_stage, change)
                    for row in rows
                    if (
                        change := after_silence(
                            Stage(row.lifecycle_stage), row.last_order_at, at, self.policy
                        )
                    )
                }
                done = (
                    (
                        await conn.execute(
                            update(customers)
                            .where(
                                customers.c.id.in_(list(changes)),
                                customers.c.last_order_at <= cutoff,
                                customers.c.lifecycle_stage.in_(buying),
                            )
                            .values(lifecycle_stage=Stage.LAPSED.value, updated_at=at)
                            .returning(customers.c.id)
                        )
                    )
                    .scalars()
                    .all()
                )
                if done:
                    events = [
                        (
                            customer_id,
                            "lifecycle_changed",
                            {
                                "from": changes[customer_id][0],
                                "to": Stage.LAPSED.value,
                                "reason": changes[customer_id][1].reason,
                            },
                        )
                        for customer_id in done
                    ]
                    await add_events(conn, events, at)
            for customer_id in done:
                from_stage, change = changes[customer_id]
                self.events.publish(
                    ev.LifecycleChanged(
                        customer_id=customer_id,
                        from_stage=from_stage,
                        to_stage=change.to.value,
                        reason=change.reason,
                    )
                )
            lapsed += len(done)
        log.info("lifecycle.lapsed_sweep", lapsed=lapsed, cutoff=cutoff.isoformat())
        return lapsed
