"""INSERT … ON CONFLICT DO NOTHING in the dialect at hand: a row stored once however often it
is offered (a retried webhook), in one statement instead of a look-up first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_new(dialect: str, table: Table, *keys: str) -> Any:
    """An INSERT into `table` that skips a row whose `keys` (a unique index) are taken."""
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return make(table).on_conflict_do_nothing(index_elements=list(keys))
