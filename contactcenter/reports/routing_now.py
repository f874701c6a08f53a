"""What reports ask about routing now, answered by the queue (`InteractionQueue`): reports read
the database for the rest and never reach into the routing engine."""

from __future__ import annotations

from typing import Protocol

from contactcenter.model import Staffing


class RoutingNow(Protocol):
    def places(self, interaction_id: int) -> list[tuple[str, str]]:
        """Where waiting work may go now: ("group", name) and ("agent", id), each once."""
        ...

    def offer_expires(self, interaction_id: int) -> float | None:
        """When an open offer lapses (epoch seconds; None: no open offer)."""
        ...

    def load(self, agent_id: int) -> dict[str, int]:
        """Work the agent holds per channel they have room on (empty: not seen yet)."""
        ...

    def staffing(self) -> Staffing:
        """Agents with work, and agents available or with work, now."""
        ...

    def waiting_by_group(self) -> dict[str, int]:
        """Waiting work per group it may go to now."""
        ...
