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
        - {name: still open, at: 100%, clock: resolution, channels: [email], do: notify}
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import StrEnum


class Clock(StrEnum):
    """Which service-level clock a step watches (email and fax have three; live channels only
    the first)."""

    FIRST_RESPONSE = "first_response"  # from queued to the first answer (live: to accepted)
    NEXT_RESPONSE = "next_response"  # from the customer writing again to the next answer
    RESOLUTION = "resolution"  # from queued to closed


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
    clock: Clock = Clock.FIRST_RESPONSE

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
    clock: Clock = Clock.FIRST_RESPONSE,
) -> list[Step]:
    """The steps watching `clock` due for one piece of work and not taken yet, earliest share
    first."""
    if target_seconds <= 0:
        return []
    used = counted_seconds / target_seconds
    due = [
        step
        for step in steps
        if step.clock is clock
        and step.name not in taken
        and step.applies(tier, channel)
        and used >= step.share
    ]
    return sorted(due, key=lambda step: step.share)
