"""The service's one source of the current time, and its one way of writing a time in JSON."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """Aware UTC now; the database layer refuses naive datetimes."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
