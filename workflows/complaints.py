"""Complaint cases, from the first word to the last: who owns one, when it is due, how it moves,
and when its owner is reminded or the supervisors are told it is overdue. Pure: the complaint
desk (`contactcenter/complaints/`) stores cases and sends what these decide.

    open → investigating → resolved → closed      (resolved → investigating reopens it)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Outcome(StrEnum):
    UPHELD = "upheld"
    NOT_UPHELD = "not_upheld"
    COMPENSATION = "compensation"  # upheld, and the customer was compensated


# A case still being worked on: due, reminded, escalated.
ACTIVE = frozenset({Status.OPEN, Status.INVESTIGATING})
_MOVES = {
    Status.OPEN: {Status.INVESTIGATING, Status.RESOLVED},
    Status.INVESTIGATING: {Status.RESOLVED},
    Status.RESOLVED: {Status.CLOSED, Status.INVESTIGATING},
    Status.CLOSED: set(),
}


@dataclass(frozen=True, slots=True)
class ComplaintPolicy:
    """Days to resolve per tier; who owns a case when the customer has no account manager (by
    the handling agent's group, else `default_owner`; agents' email addresses); hours before
    the due time that the owner is reminded; who hears of an overdue case."""

    due_days: dict[str, float] = field(
        default_factory=lambda: {"key_account": 2, "relationship": 5, "transactional": 10}
    )
    owners: dict[str, str] = field(default_factory=dict)
    default_owner: str | None = None
    remind_hours_before: float = 24
    escalate_to: tuple[str, ...] = ()
    acknowledgement: dict[str, str] = field(default_factory=dict)  # language → text


def moves_from(current: Status) -> frozenset[Status]:
    """Where a case in `current` may go next."""
    return frozenset(_MOVES[current])


def move_problem(
    current: Status, to: Status, resolution: str | None, outcome: Outcome | None
) -> str | None:
    """Why a case cannot move from `current` to `to` with what is given; None when it can.
    Resolving needs the resolution and the outcome."""
    if to not in _MOVES[current]:
        allowed = ", ".join(sorted(_MOVES[current])) or "nothing (it is closed)"
        return f"a {current} complaint can move to {allowed}, not {to}"
    if to is Status.RESOLVED and (not resolution or outcome is None):
        return "resolving a complaint needs its resolution and outcome"
    return None


def due_at(opened_at: datetime, tier: str, policy: ComplaintPolicy) -> datetime:
    days = policy.due_days.get(tier, max(policy.due_days.values(), default=10))
    return opened_at + timedelta(days=days)


@dataclass(frozen=True, slots=True)
class Owner:
    """Who owns a case: an agent by id (the account manager) or by email (from the policy)."""

    agent_id: int | None = None
    email: str | None = None
    why: str = ""


def owner_of(
    tier: str,
    account_manager_id: int | None,
    handling_groups: Sequence[str],
    policy: ComplaintPolicy,
) -> Owner | None:
    """The account manager for a key account; else the owner the policy names for the first
    of the handling agent's groups that has one; else the policy's default; else nobody (the
    supervisors see it unassigned)."""
    if tier == "key_account" and account_manager_id is not None:
        return Owner(agent_id=account_manager_id, why="the key account's manager")
    for group in handling_groups:
        if group in policy.owners:
            return Owner(email=policy.owners[group], why=f"the owner for group {group}")
    if policy.default_owner:
        return Owner(email=policy.default_owner, why="the default owner")
    return None


class Step(StrEnum):
    REMIND = "remind"  # tell the owner the case is due soon
    ESCALATE = "escalate"  # tell the supervisors it is overdue


def due_steps(
    status: Status,
    due: datetime,
    reminded: bool,
    escalated: bool,
    now: datetime,
    policy: ComplaintPolicy,
) -> list[Step]:
    """What falls due for a case now; each step once (the caller records it as taken)."""
    if status not in ACTIVE:
        return []
    steps = []
    if not reminded and now >= due - timedelta(hours=policy.remind_hours_before):
        steps.append(Step.REMIND)
    if not escalated and now >= due:
        steps.append(Step.ESCALATE)
    return steps


def reference(complaint_id: int) -> str:
    """The reference the customer is given (and quotes back)."""
    return f"CMP-{complaint_id:06d}"
