"""Bulk inserts for imports: PostgreSQL's COPY where available, multi-row INSERT elsewhere.

Both run inside the caller's transaction, so a batch is written whole or not at all. Rows come as
tuples in the order of `columns`, the cheapest form to build for a hundred thousand rows.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from sqlalchemy import JSON, Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_rows(
    conn: AsyncConnection,
    table: Table,
    columns: list[str],
    rows: list[tuple[Any, ...]],
    *,
    return_ids: bool = False,
) -> list[int]:
    """Insert `rows` and, if asked, return their new ids in the same order."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        return await _copy(conn, table, columns, rows, return_ids)
    dicts = [dict(zip(columns, row, strict=True)) for row in rows]
    if return_ids:
        result = await conn.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), dicts
        )
        return list(result.scalars())
    await conn.execute(insert(table), dicts)
    return []


async def _copy(
    conn: AsyncConnection,
    table: Table,
    columns: list[str],
    rows: list[tuple[Any, ...]],
    return_ids: bool,
) -> list[int]:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    # COPY runs on the same asyncpg connection, inside the transaction SQLAlchemy began.
    json_at = [n for n, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    if json_at:
        rows = [list(row) for row in rows]  # type: ignore[misc]
        for row in rows:
            for n in json_at:
                row[n] = json.dumps(row[n])  # type: ignore[index]
    ids: list[int] = []
    if return_ids:
        ids = [
            record[0]
            for record in await driver.fetch(
                "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
                table.name,
                len(rows),
            )
        ]
        rows = [(ident, *row) for ident, row in zip(ids, rows, strict=True)]
        columns = ["id", *columns]
    try:
        await driver.copy_records_to_table(table.name, records=rows, columns=columns)
    except asyncpg.IntegrityConstraintViolationError as exc:
        # The same exception SQLAlchemy raises for an INSERT, so callers handle one kind.
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc
    return ids
