"""Resolving many contacts of one kind at once (a batch of mails' senders): `resolve()` for a
batch, in one lookup and, for the contacts not known yet, one transaction that creates them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contactcenter.customers.identities import Identity
from contactcenter.customers.records import CustomerFields, CustomerRecords, Resolution
from contactcenter.errors import Invalid
from contactcenter.model import Customer, IdentityKind
from contactcenter.runtime.clock import now
from contactcenter.store.bulk import insert_rows
from contactcenter.store.tables import customers, identities

_NEW = CustomerFields().model_dump(mode="json")


async def resolve_many(
    records: CustomerRecords, kind: IdentityKind, raws: Sequence[str]
) -> list[Resolution | Invalid]:
    """For each raw contact, in order: its customer (created when unknown, unverified), or the
    Invalid that says why it is not a contact of that kind."""
    wanted: list[Identity | Invalid] = []
    for raw in raws:
        try:
            wanted.append(records.normalize(kind, raw))
        except Invalid as exc:
            wanted.append(exc)
    values = list(dict.fromkeys(w.value for w in wanted if isinstance(w, Identity)))
    known = await _owners(records, kind, values)
    missing = [v for v in values if v not in known]
    created: set[str] = set()
    if missing:
        try:
            await _create(records, kind, missing)
            created = set(missing)
        except IntegrityError:  # another request created one of them meanwhile
            for value in missing:
                found = await records.resolve(kind, value)
                known[value] = found.customer
                created |= {value} if found.created else set()
        known |= await _owners(records, kind, [v for v in missing if v not in known])
    return [
        w if isinstance(w, Invalid) else Resolution(known[w.value], w.value in created, w)
        for w in wanted
    ]


async def _owners(
    records: CustomerRecords, kind: IdentityKind, values: list[str]
) -> dict[str, Customer]:
    if not values:
        return {}
    async with records.db.connect() as conn:
        found = await conn.execute(
            select(identities.c.value, identities.c.customer_id).where(
                identities.c.kind == kind.value, identities.c.value.in_(values)
            )
        )
        owners = {value: customer_id for value, customer_id in found}
        rows = (
            await conn.execute(select(customers).where(customers.c.id.in_(set(owners.values()))))
        ).all()
        by_id = {c.id: c for c in await records.with_identities(conn, rows)}
    return {value: by_id[customer_id] for value, customer_id in owners.items()}


async def _create(records: CustomerRecords, kind: IdentityKind, values: list[str]) -> None:
    at = now()
    columns = [*_NEW, "created_at", "updated_at"]
    async with records.db.begin() as conn:
        ids = await insert_rows(
            conn, customers, columns, [(*_NEW.values(), at, at)] * len(values), return_ids=True
        )
        await insert_rows(
            conn,
            identities,
            ["customer_id", "kind", "value", "verified", "created_at"],
            [(cid, kind.value, value, False, at) for cid, value in zip(ids, values, strict=True)],
        )
