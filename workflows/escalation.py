"""SLA escalation: steps that act when waiting work has used a share of its service-level
target (counted in business hours for email and fax, as the routing engine counts it). Pure:
the escalation sweep (`contactcenter/escalation/`) finds the work, records each step taken and
does what it says.

    escalation:
      notify_mail: [floor-lead@example.com]
      steps:
        - {name: warn, at: 80%, tiers: [key_account], do: notify}
        - {name: jump, at: 100%, tiers: [key_account], do: raise_priority, points: 500}
        - {name: to senior, at: 150%, channels: [email, fax], do: reassign, group: senior}
        - {name: all hands, at: 200%, do: overflow, group: general}
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    NOTIFY = "notify"  # consoles (the agent who holds it, supervisors) and mail
    RAISE_PRIORITY = "raise_priority"  # jump ahead in the queue by `points`
    REASSIGN = "reassign"  # move to `group`, which may take it at once
    OVERFLOW = "overflow"  # `group` may take it too, besides where it waits


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    share: float  # of the target: 0.8 for 80%
    action: Action
    tiers: frozenset[str] | None = None  # None: every tier
    channels: frozenset[str] | None = None  # None: every channel
    points: float = 0.0
    group: str | None = None

    def applies(self, tier: str, channel: str) -> bool:
        return (self.tiers is None or tier in self.tiers) and (
            self.channels is None or channel in self.channels
        )


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    steps: tuple[Step, ...] = ()
    notify_mail: tuple[str, ...] = ()


def due_steps(
    steps: tuple[Step, ...],
    *,
    tier: str,
    channel: str,
    counted_seconds: float,
    target_seconds: float,
    taken: Set[str],
) -> list[Step]:
    """The steps due for one piece of waiting work and not taken yet, earliest share first."""
    if target_seconds <= 0:
        return []
    used = counted_seconds / target_seconds
    due = [
        step
        for step in steps
        if step.name not in taken and step.applies(tier, channel) and used >= step.share
    ]
    return sorted(due, key=lambda step: step.share)
