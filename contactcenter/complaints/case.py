"""A complaint case as the desk answers it: the stored row with the interactions it concerns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contactcenter.runtime.clock import now
from workflows.complaints import Status, reference


@dataclass(frozen=True, slots=True)
class Complaint:
    id: int
    reference: str
    customer_id: int
    status: Status
    source: str
    summary: str
    products: list[str]
    owner_agent_id: int | None
    tier: str
    opened_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None
    reminded_at: datetime | None
    escalated_at: datetime | None
    resolution: str | None
    outcome: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    followup_interaction_id: int | None
    interaction_ids: list[int]

    def json(self, at: datetime | None = None) -> dict[str, Any]:
        at = at or now()
        stamp = _iso
        return {
            "id": self.id,
            "reference": self.reference,
            "customer_id": self.customer_id,
            "status": self.status.value,
            "source": self.source,
            "summary": self.summary,
            "products": self.products,
            "owner_agent_id": self.owner_agent_id,
            "tier": self.tier,
            "opened_at": stamp(self.opened_at),
            "due_at": stamp(self.due_at),
            "overdue": self.status in (Status.OPEN, Status.INVESTIGATING) and at > self.due_at,
            "acknowledged_at": stamp(self.acknowledged_at),
            "reminded_at": stamp(self.reminded_at),
            "escalated_at": stamp(self.escalated_at),
            "resolution": self.resolution,
            "outcome": self.outcome,
            "resolved_at": stamp(self.resolved_at),
            "closed_at": stamp(self.closed_at),
            "followup_interaction_id": self.followup_interaction_id,
            "interaction_ids": self.interaction_ids,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def complaint_of(row: Any, interaction_ids: list[int]) -> Complaint:
    """The case of a `complaints` row."""
    return Complaint(
        id=row.id,
        reference=reference(row.id),
        customer_id=row.customer_id,
        status=Status(row.status),
        source=row.source,
        summary=row.summary,
        products=list(row.products or []),
        owner_agent_id=row.owner_agent_id,
        tier=row.tier,
        opened_at=row.opened_at,
        due_at=row.due_at,
        acknowledged_at=row.acknowledged_at,
        reminded_at=row.reminded_at,
        escalated_at=row.escalated_at,
        resolution=row.resolution,
        outcome=row.outcome,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        followup_interaction_id=row.followup_interaction_id,
        interaction_ids=interaction_ids,
    )
