"""Several instances in one test process, each with its own connections to one PostgreSQL:
every test here runs on PostgreSQL only (SQLite is one process)."""

from __future__ import annotations

import asyncio

import pytest

from contactcenter.store.db import Database
from tests.conftest import _truncate


@pytest.fixture
def database_url(pg_database: str) -> str:
    """The session's PostgreSQL database, emptied (this folder's tests are not run on SQLite)."""
    asyncio.run(_truncate(pg_database))
    return pg_database


@pytest.fixture
def pg(db: Database) -> Database:
    return db
