"""The SLA escalation sweep: on the leading instance every 30 seconds, the steps of the
relationship policy (`workflows/escalation.py`) that fall due are taken: on live work not yet
answered, and on email and fax on each of their clocks — the first response, the next response
after the customer writes again, and resolution (targets in the routing policy's tiers).

A step is recorded (`escalations`, one row per interaction and step) before it acts, so it
fires once across sweeps, instances and restarts. Work's clock is counted as the routing
engine counts it: business hours of the first group its rule routes to for email and fax.
A notification is not sent while that group is closed (no reminder outside the recipient's
calendar): the step waits for the group to open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError

from contactcenter import events as ev
from contactcenter.errors import Conflict
from contactcenter.mail.compose import notice
from contactcenter.mail.outbox import Outbox
from contactcenter.queue.core import InteractionQueue
from contactcenter.queue.translation import row_work_item
from contactcenter.runtime.clock import now
from contactcenter.runtime.rounds import Rounds
from contactcenter.store.db import Database
from contactcenter.store.tables import customers, escalations, interactions, messages
from routing.policy import SlaTarget
from routing.types import LIVE_CHANNELS
from workflows.escalation import Action, Clock, EscalationPolicy, Step, due_steps

log = structlog.get_logger(__name__)
BATCH = 500
_WAITING = ("queued", "offered")


class EscalationSweep:
    def __init__(
        self,
        *,
        db: Database,
        policy: EscalationPolicy,
        queue: InteractionQueue,
        outbox: Outbox,
        events: ev.EventBus,
        mail_from: str,
        every: float = 30.0,
    ) -> None:
        self.db = db
        self.policy = policy
        self.queue = queue
        self.outbox = outbox
        self.events = events
        self.mail_from = mail_from
        self._rounds = Rounds(name="escalation sweep", round_=self.sweep, every=every)

    async def lead(self, _db: Database) -> None:
        if self.policy.steps:
            self._rounds.start()

    async def stand_down(self) -> None:
        await self._rounds.stop()

    async def sweep(self, at: datetime | None = None) -> int:
        """Take the steps due now; how many were taken."""
        if not self.policy.steps:
            return 0
        at = at or now()
        rows = await self._open_work()
        ids = [row.id for row in rows]
        taken = await self._taken(ids)
        waiting_since = await self._written_again(ids)
        routing = self.queue.policy
        done = 0
        for row in rows:
            sla = routing.sla(row.tier, row.channel)
            if sla is None:
                continue
            hours = routing.business_hours(row_work_item(row))
            for clock, since, target in _clocks(row, sla, waiting_since.get(row.id)):
                counted = (
                    (at - since).total_seconds()
                    if hours is None
                    else hours.business_seconds(since, at)
                )
                for step in due_steps(
                    self.policy.steps,
                    tier=row.tier,
                    channel=row.channel,
                    counted_seconds=counted,
                    target_seconds=target,
                    taken=taken.get(row.id, set()),
                    clock=clock,
                ):
                    if step.action is Action.NOTIFY and hours is not None and not hours.open_at(at):
                        continue  # told when the group opens, not at night
                    if await self._take(step, row, at):
                        taken.setdefault(row.id, set()).add(step.name)
                        done += 1
        return done

    async def _open_work(self) -> list[Any]:
        """Live work not answered yet; email and fax not closed yet (their three clocks)."""
        live = interactions.c.channel.in_(sorted(LIVE_CHANNELS))
        short = or_(
            and_(live, interactions.c.status.in_(_WAITING)),
            and_(~live, interactions.c.status.in_([*_WAITING, "active"])),
        )
        async with self.db.connect() as conn:
            result = await conn.execute(
                select(
                    interactions.c.id,
                    interactions.c.channel,
                    interactions.c.status,
                    interactions.c.topic,
                    interactions.c.attributes,
                    interactions.c.agent_id,
                    interactions.c.queued_at,
                    interactions.c.created_at,
                    interactions.c.first_response_at,
                    interactions.c.customer_id,
                    customers.c.tier,
                    customers.c.segment,
                    customers.c.lifecycle_stage,
                    customers.c.language,
                    customers.c.account_manager_id,
                )
                .join(customers, customers.c.id == interactions.c.customer_id)
                .where(short, interactions.c.queued_at.is_not(None))
                .order_by(interactions.c.queued_at)
                .limit(BATCH)
            )
            return list(result)

    async def _written_again(self, ids: list[int]) -> dict[int, datetime]:
        """For work answered once: when the customer wrote again after our last answer (the
        next-response clock's start), where they did."""
        if not ids:
            return {}
        inbound = func.max(case((messages.c.direction == "inbound", messages.c.created_at)))
        outbound = func.max(case((messages.c.direction == "outbound", messages.c.created_at)))
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(messages.c.interaction_id, inbound, outbound)
                .where(messages.c.interaction_id.in_(ids))
                .group_by(messages.c.interaction_id)
            )
            return {
                interaction_id: last_in
                for interaction_id, last_in, last_out in rows
                if last_in is not None and last_out is not None and last_in > last_out
            }

    async def _taken(self, ids: list[int]) -> dict[int, set[str]]:
        if not ids:
            return {}
        async with self.db.connect() as conn:
            result = await conn.execute(
                select(escalations.c.interaction_id, escalations.c.step).where(
                    escalations.c.interaction_id.in_(ids)
                )
            )
            found: dict[int, set[str]] = {}
            for interaction_id, step in result:
                found.setdefault(interaction_id, set()).add(step)
            return found

    async def _take(self, step: Step, row: Any, at: datetime) -> bool:
        """Record the step, then do it; False when another sweep took it first."""
        data: dict[str, Any] = {"share": step.share}
        if step.points:
            data["points"] = step.points
        if step.group:
            data["group"] = step.group
        try:
            async with self.db.begin() as conn:
                await conn.execute(
                    escalations.insert().values(
                        interaction_id=row.id,
                        step=step.name,
                        action=step.action.value,
                        data=data,
                        at=at,
                    )
                )
        except IntegrityError:
            return False
        detail = ""
        try:
            if step.action is Action.RAISE_PRIORITY and row.status == "queued":
                await self.queue.boost(row.id, step.points)
                detail = f"priority +{step.points:g}"
            elif step.action is Action.REASSIGN and row.status == "queued":
                await self.queue.move(row.id, to_group=step.group)
                detail = f"moved to {step.group}"
            elif step.action is Action.OVERFLOW and row.status == "queued":
                assert step.group is not None
                await self.queue.widen(row.id, step.group)
                detail = f"{step.group} may take it too"
            elif step.action is Action.NOTIFY:
                await self._mail(step, row)
                detail = f"{round(step.share * 100)}% of the target"
        except Conflict as exc:  # it was taken meanwhile: nothing to escalate any more
            detail = f"not done: {exc}"
        self.events.publish(
            ev.Escalated(
                interaction_id=row.id,
                step=step.name,
                action=step.action.value,
                agent_id=row.agent_id,
                detail=detail,
            )
        )
        log.info("sla.escalated", interaction_id=row.id, step=step.name, detail=detail)
        return True

    async def _mail(self, step: Step, row: Any) -> None:
        subject = f"Escalation: interaction #{row.id} ({row.tier} {row.channel})"
        body = (
            f"Interaction #{row.id} has used {round(step.share * 100)}% of its service-level "
            f"target ({step.name}). It is {row.status}."
        )
        for to in self.policy.notify_mail:
            await self.outbox.put(notice(self.mail_from, to, subject, body), "escalation", row.id)


def _clocks(
    row: Any, sla: SlaTarget, written_again: datetime | None
) -> list[tuple[Clock, datetime, float]]:
    """The clocks running on the work: (which, since when, its target in seconds)."""
    queued = row.queued_at or row.created_at
    if row.channel in LIVE_CHANNELS:
        return [(Clock.FIRST_RESPONSE, queued, sla.seconds)]
    clocks = []
    if row.first_response_at is None:
        clocks.append((Clock.FIRST_RESPONSE, queued, sla.seconds))
    elif written_again is not None and sla.next_response is not None:
        clocks.append((Clock.NEXT_RESPONSE, written_again, sla.next_response))
    if sla.resolution is not None:
        clocks.append((Clock.RESOLUTION, queued, sla.resolution))
    return clocks
