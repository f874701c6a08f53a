"""Fixtures: a migrated database on each backend, the records built on it, and the web app.

PostgreSQL comes from CONTACTCENTER_TEST_DATABASE_URL (default: postgres@127.0.0.1:5432/postgres);
the suite makes its own database beside that one and drops it at the end. When PostgreSQL cannot
be reached its tests are skipped, except with CI=true, where that fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url

from contactcenter.app import create_app
from contactcenter.customers.records import CustomerRecords
from contactcenter.interactions.records import InteractionRecords
from contactcenter.model import Role
from contactcenter.people.agents import AgentFields, GroupFields
from contactcenter.settings import Settings, load_settings, normalize_database_url
from contactcenter.store.blobs import BlobStore
from contactcenter.store.db import Database
from contactcenter.store.migrate import migrate
from contactcenter.store.tables import SEARCH_TABLES, metadata
from contactcenter.wiring import Services

PG_URL = os.environ.get(
    "CONTACTCENTER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def asyncpg_dsn(url: str) -> str:
    return (
        make_url(normalize_database_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


async def _migrated(url: str) -> None:
    db = Database(url=url)
    try:
        await migrate(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrated(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    admin_dsn = asyncpg_dsn(PG_URL)
    name = f"cc_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL at {PG_URL} is not reachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = normalize_database_url(
        make_url(normalize_database_url(PG_URL)).set(database=name).render_as_string(False)
    )
    asyncio.run(_migrated(url))
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "contactcenter.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_truncate(url))
    return url


async def _truncate(url: str) -> None:
    db = Database(url=url)
    try:
        # The search tables live beside the declared ones (`SEARCH_TABLES`); the vocabulary
        # has no foreign key for TRUNCATE ... CASCADE to follow.
        tables = [t.name for t in metadata.sorted_tables] + sorted(SEARCH_TABLES)
        names = ", ".join(f'"{name}"' for name in tables)
        async with db.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(url=database_url)
    yield database
    await database.dispose()


@pytest.fixture
def records(db: Database) -> CustomerRecords:
    return CustomerRecords(db=db, default_region="US")


@pytest.fixture
def interaction_records(db: Database, tmp_path: Path) -> InteractionRecords:
    return InteractionRecords(db=db, blobs=BlobStore(tmp_path / "blobs"))


@dataclass
class Api:
    """A test client with one API token per role."""

    client: TestClient
    tokens: dict[str, str]
    services: Services

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    async def call(
        self, method: str, path: str, role: str | None = "admin", **kwargs: Any
    ) -> ClientResponse:
        headers = self.headers(role) | kwargs.pop("headers", {})
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def json(
        self, method: str, path: str, role: str | None = "admin", status: int = 200, **kwargs: Any
    ) -> Any:
        response = await self.call(method, path, role, **kwargs)
        body = None if response.status == 204 else await response.json()
        assert response.status == status, body
        return body


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings({}, database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    services = Services.build(settings)
    tokens = {}
    for role in Role:
        user = await services.accounts.create_user(f"{role.value}-user", "password-" * 2, role)
        tokens[role.value], _ = await services.accounts.create_token(user["id"], "tests")
    client = TestClient(TestServer(create_app(settings, services)))
    await client.start_server()
    yield Api(client, tokens, services)
    await client.close()


@pytest.fixture
async def team(api: Api) -> dict[str, Any]:
    """Two agents in `general` with their own logins, and a supervisor-only group `senior`."""
    services = api.services
    general = (await services.agents.create_group(GroupFields(name="general")))["id"]
    senior = (await services.agents.create_group(GroupFields(name="senior")))["id"]
    people: dict[str, Any] = {"groups": {"general": general, "senior": senior}}
    for name, group in (("ana", general), ("bo", general), ("sue", senior)):
        agent = await services.agents.create_agent(
            AgentFields.model_validate({"name": name, "groups": [{"group_id": group}]})
        )
        user = await services.accounts.create_user(name, "password-" * 2, Role.AGENT, agent["id"])
        token, _ = await services.accounts.create_token(user["id"], "team")
        api.tokens[name] = token
        people[name] = agent["id"]
    return people
