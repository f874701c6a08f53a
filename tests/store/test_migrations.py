"""Migrations build exactly the schema the code declares, from empty, on both backends."""

import uuid
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Invalid
from contactcenter.interactions.records import InteractionRecords
from contactcenter.model import Channel, InteractionStatus
from contactcenter.store.db import Database
from contactcenter.store.migrate import current_revision, head_revision, migrate
from contactcenter.store.tables import SEARCH_TABLES, metadata
from tests.conftest import asyncpg_dsn


async def test_migrated_schema_matches_the_tables(db: Database) -> None:
    assert await current_revision(db) == head_revision()
    async with db.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(
                    sync,
                    opts={
                        "compare_type": True,
                        # Each backend's own search indexes (FTS5 and their shadow tables).
                        "include_name": lambda name, kind, _: (
                            kind != "table" or not any(name.startswith(t) for t in SEARCH_TABLES)
                        ),
                    },
                ),
                metadata,
            )
        )
    assert diff == []


async def test_sqlite_from_an_empty_file(tmp_path: Path) -> None:
    db = Database(url=f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'cc.db'}")
    try:
        assert await current_revision(db) is None
        await migrate(db)
        await migrate(db)
        assert await current_revision(db) == head_revision()
        async with db.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert {t.name for t in metadata.sorted_tables} <= tables
    finally:
        await db.dispose()


async def test_postgresql_from_an_empty_database(pg_database: str) -> None:
    admin_dsn = asyncpg_dsn(pg_database)
    name = f"cc_empty_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    db = Database(url=make_url(pg_database).set(database=name).render_as_string(False))
    try:
        assert await current_revision(db) is None
        await migrate(db)
        await migrate(db)
        assert await current_revision(db) == head_revision()
        async with db.connect() as sa_conn:
            tables = await sa_conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert tables == {t.name for t in metadata.sorted_tables} | {
            "alembic_version",
            "kb_search",
            "kb_lexemes",
        }
    finally:
        await db.dispose()
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.close()


async def test_a_chat_with_the_bot_is_stored_and_moves_on(
    db: Database, interaction_records: InteractionRecords, records: CustomerRecords
) -> None:
    """Migration 0011: `bot` is a status both backends keep; from it a chat is queued, served
    by an article, or left; and nothing else (it never skips to an agent)."""
    customer = (await records.resolve("chat_visitor", "visitor-0011")).customer
    for ending in (
        InteractionStatus.QUEUED,
        InteractionStatus.SELF_SERVED,
        InteractionStatus.ABANDONED,
    ):
        chat = await interaction_records.open(
            customer.id, Channel.CHAT, status=InteractionStatus.BOT
        )
        assert (await interaction_records.get(chat))["status"] == "bot"
        await interaction_records.transition(chat, ending)
        assert (await interaction_records.get(chat))["status"] == ending.value
    chat = await interaction_records.open(customer.id, Channel.CHAT, status=InteractionStatus.BOT)
    with pytest.raises(Invalid, match="cannot go from bot to active"):
        await interaction_records.transition(chat, InteractionStatus.ACTIVE)
