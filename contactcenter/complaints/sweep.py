"""What falls due on complaint cases, sent once each: the customer's acknowledgement (by mail,
with the reference), the owner's reminder before the due time (console and mail), and the
escalation of an overdue case (supervisors' consoles, and mail to the policy's addresses).

It runs on the leading instance every minute, and at once when a case is opened; it also opens
the case of an interaction flagged as a complaint that has none (the process stopped between
storing the flag and opening the case). Each step is
put in the outbox first and then marked as taken on the case, so a crash in between sends it
again rather than never. Reminders and escalations wait while the owner's team is closed (its
group's business hours in the routing policy); the customer's acknowledgement does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import or_, select, update

from contactcenter import events as ev
from contactcenter.complaints.owners import groups_of
from contactcenter.complaints.records import ComplaintRecords
from contactcenter.mail.compose import notice
from contactcenter.mail.outbox import Outbox
from contactcenter.runtime.clock import now
from contactcenter.runtime.rounds import Rounds
from contactcenter.store.db import Database
from contactcenter.store.tables import agents, complaints, customers, identities
from routing.hours import OpeningHours
from workflows.complaints import ACTIVE, ComplaintPolicy, Status, Step, due_steps, reference

log = structlog.get_logger(__name__)
BATCH = 200
_FALLBACK = (
    "Your complaint is registered under reference {reference}; we will come back to you by {due}."
)


class ComplaintSweep:
    def __init__(
        self,
        *,
        db: Database,
        policy: ComplaintPolicy,
        outbox: Outbox,
        events: ev.EventBus,
        mail_from: str,
        zone: ZoneInfo,
        hours: Mapping[str, OpeningHours] | None = None,
        records: ComplaintRecords | None = None,
        every: float = 60.0,
    ) -> None:
        self.db = db
        self.policy = policy
        self.outbox = outbox
        self.events = events
        self.mail_from = mail_from
        self.zone = zone
        # The routing policy's business hours by group: a reminder or an escalation waits
        # while the owner's group is closed (none is sent at night or at the weekend).
        self.hours = dict(hours or {})
        self.records = records  # opens the cases a stop between flag and case left missing
        self._rounds = Rounds(name="complaint sweep", round_=self.sweep, every=every)

    async def lead(self, _db: Database) -> None:
        self._rounds.start()

    async def stand_down(self) -> None:
        await self._rounds.stop()

    def wake(self) -> None:
        """A case was opened: acknowledge it now rather than within the minute."""
        self._rounds.wake()

    async def sweep(self, at: datetime | None = None) -> int:
        """Send what is due; how many steps were taken."""
        at = at or now()
        opened = await self.records.open_missing() if self.records is not None else 0
        return opened + await self._acknowledge(at) + await self._due(at)

    async def _acknowledge(self, at: datetime) -> int:
        async with self.db.connect() as conn:
            rows = (
                await conn.execute(
                    select(complaints.c.id, complaints.c.due_at, customers.c.id.label("cid"))
                    .add_columns(customers.c.language)
                    .join(customers, customers.c.id == complaints.c.customer_id)
                    .where(complaints.c.acknowledged_at.is_(None))
                    .order_by(complaints.c.id)
                    .limit(BATCH)
                )
            ).all()
            addresses = await self._emails(conn, [row.cid for row in rows])
        for row in rows:
            to = addresses.get(row.cid)
            if to is not None:
                language = (row.language or "en").split("-")[0]
                text = self.policy.acknowledgement.get(language) or self.policy.acknowledgement.get(
                    "en", _FALLBACK
                )
                body = text.format_map(
                    {"reference": reference(row.id), "due": self._day(row.due_at)}
                )
                subject = f"Your complaint {reference(row.id)}"
                await self.outbox.put(notice(self.mail_from, to, subject, body), "complaint", None)
            await self._mark(row.id, "acknowledged_at", at)
            log.info("complaint.acknowledged", complaint_id=row.id, mailed=to is not None)
        return len(rows)

    async def _due(self, at: datetime) -> int:
        soon = complaints.c.reminded_at.is_(None)
        late = complaints.c.escalated_at.is_(None) & (complaints.c.due_at <= at)
        async with self.db.connect() as conn:
            rows = (
                await conn.execute(
                    select(complaints, agents.c.email.label("owner_email"))
                    .outerjoin(agents, agents.c.id == complaints.c.owner_agent_id)
                    .where(
                        complaints.c.status.in_([s.value for s in ACTIVE]),
                        or_(soon, late),
                    )
                    .order_by(complaints.c.due_at)
                    .limit(BATCH)
                )
            ).all()
        taken = 0
        for row in rows:
            steps = due_steps(
                Status(row.status),
                row.due_at,
                row.reminded_at is not None,
                row.escalated_at is not None,
                at,
                self.policy,
            )
            if steps and not await self._open_for(row.owner_agent_id, at):
                continue  # the owner's team is closed: told when it opens
            for step in steps:
                await self._take(step, row, at)
                taken += 1
        return taken

    async def _open_for(self, agent_id: int | None, at: datetime) -> bool:
        """Whether the owner's team is open at `at`: the hours of the owner's first group
        that has any (highest level first); open when none has hours or nobody owns it."""
        if agent_id is None or not self.hours:
            return True
        async with self.db.connect() as conn:
            names = await groups_of(conn, [agent_id])
        hours = next((self.hours[name] for name in names if name in self.hours), None)
        return hours is None or hours.open_at(at)

    async def _take(self, step: Step, row: Any, at: datetime) -> None:
        ref = reference(row.id)
        overdue = step is Step.ESCALATE
        due = self._day(row.due_at)
        if overdue:
            recipients = list(self.policy.escalate_to)
            subject = f"Overdue complaint {ref}"
            body = f"Complaint {ref} was due on {due} and is still {row.status}.\n\n{row.summary}"
        else:
            recipients = [row.owner_email] if row.owner_email else []
            subject = f"Complaint {ref} is due on {due}"
            body = f"Complaint {ref}, which you own, is due on {due}.\n\n{row.summary}"
        for to in recipients:
            await self.outbox.put(notice(self.mail_from, to, subject, body), "complaint", None)
        await self._mark(row.id, "escalated_at" if overdue else "reminded_at", at)
        self.events.publish(
            ev.ComplaintDue(
                complaint_id=row.id,
                reference=ref,
                agent_id=row.owner_agent_id,
                due_at=row.due_at.isoformat(),
                overdue=overdue,
            )
        )
        log.info("complaint.step", complaint_id=row.id, step=step.value, mailed=len(recipients))

    async def _mark(self, complaint_id: int, column: str, at: datetime) -> None:
        async with self.db.single_write() as conn:
            await conn.execute(
                update(complaints)
                .where(complaints.c.id == complaint_id, complaints.c[column].is_(None))
                .values({column: at})
            )

    async def _emails(self, conn: Any, customer_ids: list[int]) -> dict[int, str]:
        """Each customer's first email address (the oldest identity of that kind)."""
        if not customer_ids:
            return {}
        result = await conn.execute(
            select(identities.c.customer_id, identities.c.value)
            .where(identities.c.customer_id.in_(customer_ids), identities.c.kind == "email")
            .order_by(identities.c.id.desc())
        )
        return {customer_id: value for customer_id, value in result}

    def _day(self, when: datetime) -> str:
        return when.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
