"""CSV import and export of customers with their identities.

Columns (a header row is required; any subset in any order):
`id, name, organisation, tier, segment, lifecycle_stage, language, tags, account_manager,
verified, phone, fax, email, chat_visitor, external_crm`. `tags` and each identity column may hold
several values separated by ";". `account_manager` is the agent's email address.

A row is matched to an existing customer by `id` when given, else by any of its identities; a
matched customer gets the row's non-empty fields and any new identities, an unmatched row becomes
a new customer. A bad row (a bad value, identities of two different customers, an identity used
on an earlier line) is reported with its line number and skipped; the good rows are imported, in
batches of one transaction each.
"""

from __future__ import annotations

import asyncio
import csv
import os
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.customers.csv_rows import (
    COLUMNS,
    IDENTITY_COLUMNS,
    ParsedRow,
    RowError,
    parse_chunk,
)
from contactcenter.customers.identities import Identity
from contactcenter.customers.records import CustomerFields, CustomerRecords
from contactcenter.model import IdentityKind
from contactcenter.runtime.clock import now
from contactcenter.store.bulk import insert_rows
from contactcenter.store.tables import agents, customers, identities

BATCH = 2000
_WORKERS = max(1, min(4, (os.cpu_count() or 2) - 1))
# Chunks parsed ahead of the writer: enough that no worker waits for it (memory: a few chunks).
_AHEAD = _WORKERS + 2
_DEFAULTS = list(CustomerFields().model_dump(mode="json").items())
_CUSTOMER_COLUMNS = [name for name, _ in _DEFAULTS] + ["created_at", "updated_at"]
_PG_OWNERS = text(
    "SELECT v.value, (SELECT i.customer_id FROM identities i"
    " WHERE i.kind = :kind AND i.value = v.value)"
    " FROM unnest(CAST(:values AS varchar[])) AS v(value)"
)


class CsvFormatError(ValueError):
    """The file as a whole cannot be read (no header, unknown column)."""


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated


def _chunks(reader: Any, size: int) -> Iterator[list[tuple[int, list[str]]]]:
    """Rows of a csv.reader with their line numbers, `size` at a time (blank lines skipped)."""
    chunk: list[tuple[int, list[str]]] = []
    for record in reader:
        if not record:
            continue
        chunk.append((reader.line_num, record))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _unique(
    parsed: list[ParsedRow | RowError], seen: dict[Identity, int], report: ImportReport
) -> list[ParsedRow]:
    """The good rows, refusing any that repeats an identity of an earlier line of the file."""
    rows = []
    for item in parsed:
        if isinstance(item, RowError):
            report.errors.append((item.line, item.message))
            continue
        repeated = next((i for i in item.identities if i in seen), None)
        if repeated is not None:
            report.errors.append(
                (item.line, f"{repeated.kind} {repeated.value} is also on line {seen[repeated]}")
            )
            continue
        for ident in item.identities:
            seen[ident] = item.line
        rows.append(item)
    return rows


class CustomerCsv:
    """Imports and exports; files of more than one batch are parsed in worker processes
    (phone number validation is the costly part) while this process writes."""

    def __init__(self, *, records: CustomerRecords, batch: int = BATCH) -> None:
        self.records = records
        self.db = records.db
        self.batch = batch

    async def import_rows(self, lines: Iterable[str]) -> ImportReport:
        """Import CSV text given line by line (an open file works)."""
        reader = csv.reader(iter(lines))
        header = next(reader, None)
        if not header:
            raise CsvFormatError("the file is empty; the first line must name the columns")
        unknown = [name for name in header if name not in COLUMNS]
        if unknown:
            raise CsvFormatError(
                f"unknown column {unknown[0]!r} on line 1; known columns: {', '.join(COLUMNS)}"
            )
        managers = await self._agent_emails()
        report = ImportReport()
        seen: dict[Identity, int] = {}
        async with aclosing(self._parse_ahead(reader, header, managers)) as chunks:
            async for parsed in chunks:
                await self._write(_unique(parsed, seen, report), report)
        report.errors.sort()
        return report

    async def _parse_ahead(
        self, reader: Any, header: list[str], managers: dict[str, int]
    ) -> AsyncIterator[list[ParsedRow | RowError]]:
        """Parsed chunks in file order. A file of more than one chunk is parsed in worker
        processes, ahead of the writer; a small one here, with no process started."""
        loop = asyncio.get_running_loop()
        region = self.records.default_region
        pending: deque[asyncio.Future[list[ParsedRow | RowError]]] = deque()
        pool: ProcessPoolExecutor | None = None
        try:
            for chunk in _chunks(reader, self.batch):
                if pool is not None:
                    pending.append(
                        loop.run_in_executor(pool, parse_chunk, header, chunk, region, managers)
                    )
                else:
                    if len(chunk) == self.batch:
                        # A large file: start the workers now (an empty chunk makes them import
                        # the parser) and parse this first chunk here while they start.
                        pool = ProcessPoolExecutor(_WORKERS, mp_context=get_context("spawn"))
                        for _ in range(_WORKERS):
                            pool.submit(parse_chunk, header, [], region, managers)
                    pending.append(loop.create_future())
                    pending[-1].set_result(parse_chunk(header, chunk, region, managers))
                if len(pending) > _AHEAD:
                    yield await pending.popleft()
            while pending:
                yield await pending.popleft()
        finally:
            for future in pending:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    async def _agent_emails(self) -> dict[str, int]:
        async with self.db.connect() as conn:
            rows = await conn.execute(select(agents.c.email, agents.c.id))
            return {email: agent_id for email, agent_id in rows if email}

    async def _write(self, batch: list[ParsedRow], report: ImportReport) -> None:
        try:
            async with self.db.begin() as conn:
                created, updated, errors = await self._write_batch(conn, batch)
        except IntegrityError:
            # Something else wrote the same identities meanwhile: go row by row so that only
            # the clashing rows are refused.
            if len(batch) == 1:
                report.errors.append((batch[0].line, "an identity was taken while importing"))
                return
            for row in batch:
                await self._write([row], report)
            return
        report.created += created
        report.updated += updated
        report.errors.extend(errors)

    async def _write_batch(
        self, conn: AsyncConnection, batch: list[ParsedRow]
    ) -> tuple[int, int, list[tuple[int, str]]]:
        """Store one batch: optimistically as all new customers, which a fresh import is; if
        the unique index says some identities exist, match each row to its owner instead."""
        if all(row.customer_id is None for row in batch):
            # A unique violation rolls back to the savepoint and falls through to matching.
            with suppress(IntegrityError):
                async with conn.begin_nested():
                    await self._store(conn, batch, [], {})
                return len(batch), 0, []
        owners = await self._owners(conn, [i for row in batch for i in row.identities])
        ids = {row.customer_id for row in batch if row.customer_id is not None}
        live: set[int] = set()
        if ids:
            result = await conn.execute(
                select(customers.c.id).where(
                    customers.c.id.in_(ids), customers.c.merged_into_id.is_(None)
                )
            )
            live = set(result.scalars())
        errors: list[tuple[int, str]] = []
        new_rows: list[ParsedRow] = []
        updates: list[tuple[int, ParsedRow]] = []
        for row in batch:
            matched = {owners[i] for i in row.identities if i in owners}
            if row.customer_id is not None:
                if row.customer_id not in live:
                    errors.append((row.line, f"customer {row.customer_id} does not exist"))
                    continue
                matched.add(row.customer_id)
            if len(matched) > 1:
                errors.append(
                    (
                        row.line,
                        "identities belong to different customers "
                        + ", ".join(str(c) for c in sorted(matched)),
                    )
                )
                continue
            if matched:
                updates.append((matched.pop(), row))
            else:
                new_rows.append(row)
        await self._store(conn, new_rows, updates, owners)
        return len(new_rows), len(updates), errors

    async def _store(
        self,
        conn: AsyncConnection,
        new_rows: list[ParsedRow],
        updates: list[tuple[int, ParsedRow]],
        owners: dict[Identity, int],
    ) -> None:
        """Insert the new customers, update the matched ones, add identities not yet owned."""
        at = now()
        new_ids = await insert_rows(
            conn,
            customers,
            _CUSTOMER_COLUMNS,
            [(*[row.fields.get(c, d) for c, d in _DEFAULTS], at, at) for row in new_rows],
            return_ids=True,
        )
        pairs = list(zip(new_ids, new_rows, strict=True)) + updates
        for customer_id, row in updates:
            if row.fields:
                await conn.execute(
                    update(customers)
                    .where(customers.c.id == customer_id)
                    .values(**row.fields, updated_at=at)
                )
        await insert_rows(
            conn,
            identities,
            ["customer_id", "kind", "value", "verified", "created_at"],
            [
                (customer_id, kind.value, value, row.fields.get("verified", False), at)
                for customer_id, row in pairs
                for kind, value in row.identities
                if (kind, value) not in owners
            ],
        )

    async def _owners(self, conn: AsyncConnection, idents: list[Identity]) -> dict[Identity, int]:
        """Who owns each of `idents` already, looked up in the unique (kind, value) index."""
        by_kind: dict[IdentityKind, list[str]] = {}
        for ident in idents:
            by_kind.setdefault(ident.kind, []).append(ident.value)
        owners: dict[Identity, int] = {}
        for kind, values in by_kind.items():
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                if self.db.is_sqlite:
                    stmt = select(identities.c.value, identities.c.customer_id).where(
                        identities.c.kind == kind.value, identities.c.value.in_(chunk)
                    )
                    result = await conn.execute(stmt)
                else:
                    # A table that filled up during this import has no statistics yet, and
                    # PostgreSQL then plans a long IN list as a scan of the whole table; one
                    # equality lookup per value always takes the index.
                    result = await conn.execute(_PG_OWNERS, {"kind": kind.value, "values": chunk})
                for value, customer_id in result:
                    if customer_id is not None:
                        owners[Identity(kind, value)] = customer_id
        return owners

    async def export_rows(self) -> AsyncIterator[list[str]]:
        """The header, then one row per customer (merged ones left out), in id order."""
        yield COLUMNS
        emails = {agent_id: email for email, agent_id in (await self._agent_emails()).items()}
        after = 0
        while True:
            async with self.db.connect() as conn:
                rows = (
                    await conn.execute(
                        select(customers)
                        .where(customers.c.id > after, customers.c.merged_into_id.is_(None))
                        .order_by(customers.c.id)
                        .limit(BATCH)
                    )
                ).all()
                if not rows:
                    return
                owned: dict[int, dict[str, list[str]]] = {r.id: {} for r in rows}
                result = await conn.execute(
                    select(identities.c.customer_id, identities.c.kind, identities.c.value)
                    .where(identities.c.customer_id.in_(list(owned)))
                    .order_by(identities.c.id)
                )
                for customer_id, kind, value in result:
                    owned[customer_id].setdefault(kind, []).append(value)
            for r in rows:
                yield list(_export_row(r, owned[r.id], emails))
            after = rows[-1].id


def _export_row(r: Any, owned: dict[str, list[str]], emails: dict[int, str]) -> Iterator[str]:
    yield str(r.id)
    yield r.name
    yield r.organisation
    yield r.tier
    yield r.segment or ""
    yield r.lifecycle_stage or ""
    yield r.language or ""
    yield ";".join(r.tags or [])
    yield emails.get(r.account_manager_id, "") if r.account_manager_id else ""
    yield "true" if r.verified else "false"
    for kind in IDENTITY_COLUMNS:
        yield ";".join(owned.get(kind, []))
