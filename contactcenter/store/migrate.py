"""Schema migrations with Alembic, run on the service's own engine (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from contactcenter.store.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: instances that start together take turns at migrating PostgreSQL.
_PG_MIGRATION_LOCK = 7_263_001


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships no migrations"
    return head


async def migrate(db: Database) -> None:
    """Bring the schema up to the newest revision; a no-op when it is there already."""
    async with db.begin() as conn:
        if not db.is_sqlite:
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))


async def current_revision(db: Database) -> str | None:
    async with db.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
