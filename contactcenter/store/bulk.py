"""Bulk inserts for imports: PostgreSQL's COPY where available, multi-row INSERT elsewhere.

Both run inside the caller's transaction, so a batch is written whole or not at all.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_rows(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], *, return_ids: bool = False
) -> list[int]:
    """Insert `rows` (all with the same keys) and, if asked, return their new ids in order."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        return await _copy(conn, table, rows, return_ids)
    if return_ids:
        result = await conn.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return list(result.scalars())
    await conn.execute(insert(table), rows)
    return []


async def _copy(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], return_ids: bool
) -> list[int]:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    # COPY runs on the same asyncpg connection, inside the transaction SQLAlchemy began.
    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
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
    records = [
        tuple(json.dumps(row[c]) if c in json_columns else row[c] for c in columns) for row in rows
    ]
    if return_ids:
        records = [(ident, *record) for ident, record in zip(ids, records, strict=True)]
        columns = ["id", *columns]
    await driver.copy_records_to_table(table.name, records=records, columns=columns)
    return ids
