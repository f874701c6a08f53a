"""Merging two customer records into one: everything moves to the survivor in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Row, and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.customers.record_events import add_event
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict, Invalid, NotFound
from contactcenter.model import TIER_RANK, Customer, IdentityKind, Tier
from contactcenter.runtime.clock import now
from contactcenter.store.tables import customer_events, customers, identities, interactions
from contactcenter.store.tables import notes as notes_table

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class MergeResult:
    survivor: Customer
    merged_id: int
    moved: dict[str, int]


async def merge_customers(
    records: CustomerRecords, survivor_id: int, merged_id: int
) -> MergeResult:
    """Move everything of `merged_id` to `survivor_id` in one transaction.

    The survivor keeps its own non-empty fields, takes the other's where its own are empty,
    the higher of the two tiers and the union of the tags. The merged id answers from then
    on with a redirect to the survivor. Two customers with different CRM ids are refused.
    """
    if survivor_id == merged_id:
        raise Invalid("a customer cannot be merged into itself", "merge_id")
    async with records.db.begin() as conn:
        rows = {}
        for cid, field in sorted([(survivor_id, "id"), (merged_id, "merge_id")]):
            stmt = select(customers).where(customers.c.id == cid)
            if not records.db.is_sqlite:
                stmt = stmt.with_for_update()
            row = (await conn.execute(stmt)).one_or_none()
            if row is None:
                raise NotFound("customer", cid, field)
            if row.merged_into_id is not None:
                raise Conflict(
                    f"customer {cid} was already merged into {row.merged_into_id}", field
                )
            rows[cid] = row
        keep, gone = rows[survivor_id], rows[merged_id]
        await _check_crm_ids(conn, survivor_id, merged_id)
        moved = {}
        for table in (identities, interactions, notes_table, customer_events):
            result = await conn.execute(
                update(table)
                .where(table.c.customer_id == merged_id)
                .values(customer_id=survivor_id)
            )
            moved[table.name] = result.rowcount
        await conn.execute(
            update(customers)
            .where(customers.c.merged_into_id == merged_id)
            .values(merged_into_id=survivor_id)
        )
        at = now()
        await conn.execute(
            update(customers)
            .where(customers.c.id == merged_id)
            .values(merged_into_id=survivor_id, updated_at=at)
        )
        await conn.execute(
            update(customers)
            .where(customers.c.id == survivor_id)
            .values(**_merged_fields(keep, gone), updated_at=at)
        )
        data = {"merged_id": merged_id, "merged_name": gone.name, "moved": moved}
        await add_event(conn, survivor_id, "customer.merged", data, at)
        survivor = await records.get(survivor_id, conn)
    log.info("customer.merged", customer_id=survivor_id, merged_id=merged_id, moved=moved)
    return MergeResult(survivor, merged_id, moved)


async def _check_crm_ids(conn: AsyncConnection, a: int, b: int) -> None:
    result = await conn.execute(
        select(identities.c.customer_id, identities.c.value).where(
            and_(
                identities.c.customer_id.in_([a, b]),
                identities.c.kind == IdentityKind.EXTERNAL_CRM.value,
            )
        )
    )
    crm: dict[int, set[str]] = {a: set(), b: set()}
    for customer_id, value in result:
        crm[customer_id].add(value)
    if crm[a] and crm[b] and crm[a] != crm[b]:
        raise Conflict(
            f"customers {a} and {b} have different CRM ids "
            f"({', '.join(sorted(crm[a]))} / {', '.join(sorted(crm[b]))}); not merged",
            "merge_id",
        )


def _merged_fields(keep: Row[Any], gone: Row[Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("name", "organisation", "segment", "lifecycle_stage", "language"):
        if not getattr(keep, name) and getattr(gone, name):
            fields[name] = getattr(gone, name)
    if keep.account_manager_id is None and gone.account_manager_id is not None:
        fields["account_manager_id"] = gone.account_manager_id
    if TIER_RANK[Tier(gone.tier)] > TIER_RANK[Tier(keep.tier)]:
        fields["tier"] = gone.tier
    tags = list(dict.fromkeys([*(keep.tags or []), *(gone.tags or [])]))
    if tags != list(keep.tags or []):
        fields["tags"] = tags
    if gone.verified and not keep.verified:
        fields["verified"] = True
    return fields
