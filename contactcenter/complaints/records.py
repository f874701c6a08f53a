"""Complaint cases on the record: opened (by an agent's wrap-up, a low survey score or the API),
owned, moved to resolution, followed up; each step also an event on the customer's timeline.

How a case moves, who owns it and when it is due are decided in `workflows/complaints.py`; the
acknowledgement to the customer, the owner's reminder and the escalation are sent by the sweep
(`sweep.py`), which reads what this stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter import events as ev
from contactcenter.complaints.case import Complaint, complaint_of
from contactcenter.complaints.owners import groups_of, handling_agents
from contactcenter.customers.record_events import add_event
from contactcenter.errors import Conflict, Invalid, Merged, NotFound
from contactcenter.runtime.clock import now
from contactcenter.store.db import Database
from contactcenter.store.tables import (
    agents,
    complaint_interactions,
    complaints,
    customers,
    interactions,
)
from workflows.complaints import (
    ComplaintPolicy,
    Outcome,
    Status,
    due_at,
    move_problem,
    moves_from,
    owner_of,
    reference,
)

log = structlog.get_logger(__name__)


class ComplaintRecords:
    def __init__(
        self,
        *,
        db: Database,
        policy: ComplaintPolicy,
        events: ev.EventBus,
        on_open: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.policy = policy
        self.events = events
        self.on_open = on_open  # the sweep, which acknowledges the case to the customer

    async def open(
        self,
        customer_id: int,
        *,
        source: str,
        interaction_ids: Sequence[int] = (),
        products: Sequence[str] = (),
        summary: str = "",
        by_user_id: int | None = None,
    ) -> Complaint:
        """A new case for the customer about these interactions (theirs, or a 422)."""
        at = now()
        async with self.db.begin() as conn:
            complaint_id = await self._insert(
                conn, customer_id, source, interaction_ids, products, summary, by_user_id, at
            )
            opened = await self._one(conn, complaint_id)
        self._opened(opened)
        return opened

    async def from_wrap_up(self, interaction_id: int, by_user_id: int | None) -> Complaint:
        """The case an agent's complaint flag opens: one per interaction, however often the
        wrap-up is sent."""
        at = now()
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    select(interactions)
                    .where(interactions.c.id == interaction_id)
                    .with_for_update()
                )
            ).one_or_none()
            if row is None:
                raise NotFound("interaction", interaction_id)
            known = (
                await conn.execute(
                    select(complaints.c.id)
                    .join(
                        complaint_interactions,
                        complaint_interactions.c.complaint_id == complaints.c.id,
                    )
                    .where(
                        complaint_interactions.c.interaction_id == interaction_id,
                        complaints.c.source == "wrap_up",
                    )
                )
            ).scalar_one_or_none()
            if known is not None:
                return await self._one(conn, known)
            summary = row.outcome or row.disposition or row.subject or ""
            complaint_id = await self._insert(
                conn,
                row.customer_id,
                "wrap_up",
                [interaction_id],
                list(row.products or []),
                summary,
                by_user_id,
                at,
            )
            opened = await self._one(conn, complaint_id)
        self._opened(opened)
        return opened

    async def open_missing(self, limit: int = 50) -> int:
        """Cases for interactions flagged as complaints that have none (the flag was stored and
        the process stopped before the case was opened); how many were opened."""
        linked = select(complaint_interactions.c.interaction_id).where(
            complaint_interactions.c.interaction_id == interactions.c.id
        )
        async with self.db.connect() as conn:
            missing = (
                (
                    await conn.execute(
                        select(interactions.c.id)
                        .where(interactions.c.complaint.is_(True), ~linked.exists())
                        .order_by(interactions.c.id)
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
        for interaction_id in missing:
            await self.from_wrap_up(interaction_id, None)
        return len(missing)

    async def get(self, complaint_id: int) -> Complaint:
        async with self.db.connect() as conn:
            return await self._one(conn, complaint_id)

    async def search(
        self,
        *,
        status: Status | None = None,
        customer_id: int | None = None,
        owner_agent_id: int | None = None,
        overdue: bool = False,
        after_id: int | None = None,
        limit: int = 50,
    ) -> list[Complaint]:
        """Cases by status, customer, owner, or overdue only; oldest first."""
        stmt = select(complaints)
        if status is not None:
            stmt = stmt.where(complaints.c.status == status.value)
        if customer_id is not None:
            stmt = stmt.where(complaints.c.customer_id == customer_id)
        if owner_agent_id is not None:
            stmt = stmt.where(complaints.c.owner_agent_id == owner_agent_id)
        if overdue:
            active = [Status.OPEN.value, Status.INVESTIGATING.value]
            stmt = stmt.where(complaints.c.status.in_(active), complaints.c.due_at < now())
        if after_id is not None:
            stmt = stmt.where(complaints.c.id > after_id)
        stmt = stmt.order_by(complaints.c.id).limit(limit)
        async with self.db.connect() as conn:
            rows = (await conn.execute(stmt)).all()
            return await self._with_links(conn, rows)

    async def move(
        self,
        complaint_id: int,
        to: Status,
        *,
        resolution: str | None = None,
        outcome: Outcome | None = None,
        by_user_id: int | None = None,
    ) -> Complaint:
        """Investigating, resolved (with its resolution and outcome), closed, or reopened."""
        at = now()
        async with self.db.begin() as conn:
            row = await self._row(conn, complaint_id, lock=True)
            current = Status(row.status)
            problem = move_problem(current, to, resolution, outcome)
            if problem is not None and to not in moves_from(current):
                raise Conflict(problem, "status")
            if problem is not None:
                raise Invalid(problem, "resolution" if not resolution else "outcome")
            values: dict[str, Any] = {"status": to.value, "updated_at": at}
            if to is Status.RESOLVED:
                assert outcome is not None  # move_problem saw to it
                values |= {"resolution": resolution, "outcome": outcome.value, "resolved_at": at}
            elif to is Status.CLOSED:
                values["closed_at"] = at
            elif current is Status.RESOLVED:  # reopened
                values |= {"resolved_at": None}
            await conn.execute(
                update(complaints).where(complaints.c.id == complaint_id).values(**values)
            )
            data = {"reference": reference(complaint_id), "from": current.value, "to": to.value}
            if to is Status.RESOLVED:
                data |= {"outcome": outcome.value if outcome else None, "resolution": resolution}
            await add_event(conn, row.customer_id, "complaint_moved", data | {"by": by_user_id}, at)
            moved = await self._one(conn, complaint_id)
        self.events.publish(
            ev.ComplaintMoved(
                complaint_id=moved.id,
                reference=moved.reference,
                customer_id=moved.customer_id,
                agent_id=moved.owner_agent_id,
                status=moved.status.value,
                outcome=moved.outcome,
            )
        )
        log.info("complaint.moved", complaint_id=complaint_id, status=to.value)
        return moved

    async def assign(self, complaint_id: int, agent_id: int, by_user_id: int | None) -> Complaint:
        """Give the case an owner (a supervisor's decision)."""
        at = now()
        async with self.db.begin() as conn:
            row = await self._row(conn, complaint_id, lock=True)
            found = await conn.execute(select(agents.c.id).where(agents.c.id == agent_id))
            if found.scalar_one_or_none() is None:
                raise NotFound("agent", agent_id, "agent_id")
            await conn.execute(
                update(complaints)
                .where(complaints.c.id == complaint_id)
                .values(owner_agent_id=agent_id, updated_at=at)
            )
            data = {"reference": reference(complaint_id), "owner_agent_id": agent_id}
            await add_event(
                conn, row.customer_id, "complaint_assigned", data | {"by": by_user_id}, at
            )
            assigned = await self._one(conn, complaint_id)
        self.events.publish(
            ev.ComplaintMoved(
                complaint_id=assigned.id,
                reference=assigned.reference,
                customer_id=assigned.customer_id,
                agent_id=agent_id,
                status=assigned.status.value,
            )
        )
        return assigned

    async def followed_up(self, complaint_id: int, interaction_id: int) -> Complaint:
        """The follow-up contact opened for the case, linked to it."""
        async with self.db.begin() as conn:
            row = await self._row(conn, complaint_id, lock=True)
            await conn.execute(
                insert(complaint_interactions).values(
                    complaint_id=complaint_id, interaction_id=interaction_id
                )
            )
            await conn.execute(
                update(complaints)
                .where(complaints.c.id == complaint_id)
                .values(followup_interaction_id=interaction_id, updated_at=now())
            )
            data = {"reference": reference(complaint_id), "interaction_id": interaction_id}
            await add_event(conn, row.customer_id, "complaint_followed_up", data, now())
            return await self._one(conn, complaint_id)

    # -- inside a transaction -----------------------------------------------------------------

    async def _insert(
        self,
        conn: AsyncConnection,
        customer_id: int,
        source: str,
        interaction_ids: Sequence[int],
        products: Sequence[str],
        summary: str,
        by_user_id: int | None,
        at: datetime,
    ) -> int:
        customer = (
            await conn.execute(select(customers).where(customers.c.id == customer_id))
        ).one_or_none()
        if customer is None:
            raise NotFound("customer", customer_id, "customer_id")
        if customer.merged_into_id is not None:
            raise Merged(customer_id, customer.merged_into_id)
        ids = list(dict.fromkeys(interaction_ids))
        handled = await handling_agents(conn, customer_id, ids)
        owner = owner_of(
            customer.tier,
            customer.account_manager_id,
            await groups_of(conn, handled),
            self.policy,
        )
        owner_id = None if owner is None else owner.agent_id
        if owner is not None and owner.email is not None:
            owner_id = (
                await conn.execute(select(agents.c.id).where(agents.c.email == owner.email))
            ).scalar_one_or_none()
            if owner_id is None:
                log.warning("complaint.owner_unknown", email=owner.email, why=owner.why)
        complaint_id = (
            await conn.execute(
                insert(complaints)
                .values(
                    customer_id=customer_id,
                    status=Status.OPEN.value,
                    source=source,
                    summary=summary,
                    products=list(dict.fromkeys(products)),
                    owner_agent_id=owner_id,
                    opened_by_user_id=by_user_id,
                    tier=customer.tier,
                    opened_at=at,
                    due_at=due_at(at, customer.tier, self.policy),
                    updated_at=at,
                )
                .returning(complaints.c.id)
            )
        ).scalar_one()
        if ids:
            await conn.execute(
                insert(complaint_interactions),
                [{"complaint_id": complaint_id, "interaction_id": i} for i in ids],
            )
        data = {
            "reference": reference(complaint_id),
            "source": source,
            "summary": summary,
            "owner_agent_id": owner_id,
            "interaction_ids": ids,
        }
        await add_event(conn, customer_id, "complaint_opened", data, at)
        return complaint_id

    async def _row(self, conn: AsyncConnection, complaint_id: int, *, lock: bool = False) -> Any:
        stmt = select(complaints).where(complaints.c.id == complaint_id)
        row = (await conn.execute(stmt.with_for_update() if lock else stmt)).one_or_none()
        if row is None:
            raise NotFound("complaint", complaint_id)
        return row

    async def _one(self, conn: AsyncConnection, complaint_id: int) -> Complaint:
        return (await self._with_links(conn, [await self._row(conn, complaint_id)]))[0]

    async def _with_links(self, conn: AsyncConnection, rows: Sequence[Any]) -> list[Complaint]:
        linked: dict[int, list[int]] = {row.id: [] for row in rows}
        if linked:
            result = await conn.execute(
                select(complaint_interactions)
                .where(complaint_interactions.c.complaint_id.in_(list(linked)))
                .order_by(complaint_interactions.c.interaction_id)
            )
            for link in result:
                linked[link.complaint_id].append(link.interaction_id)
        return [complaint_of(row, linked[row.id]) for row in rows]

    def _opened(self, opened: Complaint) -> None:
        log.info(
            "complaint.opened",
            complaint_id=opened.id,
            customer_id=opened.customer_id,
            source=opened.source,
            owner_agent_id=opened.owner_agent_id,
        )
        self.events.publish(
            ev.ComplaintOpened(
                complaint_id=opened.id,
                reference=opened.reference,
                customer_id=opened.customer_id,
                agent_id=opened.owner_agent_id,
                source=opened.source,
            )
        )
        self.on_open()
