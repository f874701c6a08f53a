"""The shared customer record: identity resolution, create and update, search, and merge.

Every channel calls `resolve()` with what it knows of a contact (a caller's number, a sender's
address, a chat visitor id) and gets the one customer behind it. The timeline is read in
`timeline.py`; CSV import and export live in `csv_file.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Row, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.customers.identities import Identity, InvalidIdentity, candidates, normalize
from contactcenter.customers.record_events import add_event
from contactcenter.errors import Conflict, Invalid, Merged, NotFound
from contactcenter.model import (
    Customer,
    IdentityKind,
    IdentityRecord,
    LifecycleStage,
    Segment,
    Tier,
)
from contactcenter.runtime.clock import now
from contactcenter.store.db import Database
from contactcenter.store.tables import agents, customers, identities, interactions
from contactcenter.store.tables import notes as notes_table

log = structlog.get_logger(__name__)

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
# A BCP 47 tag, as long as its column (35, as BCP 47 advises).
Language = Annotated[
    str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)
]


# A lookup on the unique (kind, value) index, then the customer and all their identities by key.
# Built once: constructing the statement costs more than running it on SQLite.
_owner = identities.alias("owner")
_FIND_BY_IDENTITY = (
    select(customers, *[c.label(f"identity_{c.name}") for c in identities.c])
    .select_from(_owner)
    .join(customers, customers.c.id == _owner.c.customer_id)
    .join(identities, identities.c.customer_id == customers.c.id)
    .where(_owner.c.kind == bindparam("kind"), _owner.c.value == bindparam("value"))
    .order_by(identities.c.kind, identities.c.id)
)


class CustomerFields(BaseModel):
    """The editable fields of a customer; the API and the CSV import validate with this."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    organisation: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    tier: Tier = Tier.TRANSACTIONAL
    segment: Segment | None = None
    lifecycle_stage: LifecycleStage | None = None
    account_manager_id: int | None = Field(default=None, ge=1)
    language: Language | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    verified: bool = False


@dataclass(frozen=True, slots=True)
class Resolution:
    """What `resolve()` found: the customer, and whether it was created just now."""

    customer: Customer
    created: bool
    identity: Identity


def _customer(row: Row[Any], idents: Sequence[IdentityRecord] = ()) -> Customer:
    return Customer(
        id=row.id,
        name=row.name,
        organisation=row.organisation,
        tier=Tier(row.tier),
        segment=Segment(row.segment) if row.segment else None,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage) if row.lifecycle_stage else None,
        account_manager_id=row.account_manager_id,
        language=row.language,
        tags=list(row.tags or []),
        verified=row.verified,
        created_at=row.created_at,
        updated_at=row.updated_at,
        identities=list(idents),
        last_order_at=row.last_order_at,
    )


def _identity(row: Row[Any]) -> IdentityRecord:
    return IdentityRecord(
        id=row.id,
        kind=IdentityKind(row.kind),
        value=row.value,
        verified=row.verified,
        created_at=row.created_at,
    )


class CustomerRecords:
    """Reads and writes customers; every method that writes does so in one transaction."""

    def __init__(self, *, db: Database, default_region: str = "US") -> None:
        self.db = db
        self.default_region = default_region

    def normalize(self, kind: IdentityKind | str, raw: str, field: str = "identity") -> Identity:
        try:
            return normalize(kind, raw, self.default_region)
        except InvalidIdentity as exc:
            raise Invalid(str(exc), field) from None

    # -- reading ---------------------------------------------------------------------------

    async def get(
        self, customer_id: int, conn: AsyncConnection | None = None, *, identities: bool = True
    ) -> Customer:
        """The customer; raises Merged (naming the survivor) for a merged id, NotFound if none.
        Without `identities` its identity list is left empty: one statement fewer, for callers
        that route or answer by tier and language (the phone channel)."""
        if conn is None:
            async with self.db.connect() as conn:
                return await self.get(customer_id, conn, identities=identities)
        row = (
            await conn.execute(select(customers).where(customers.c.id == customer_id))
        ).one_or_none()
        if row is None:
            raise NotFound("customer", customer_id)
        if row.merged_into_id is not None:
            raise Merged(customer_id, row.merged_into_id)
        if not identities:
            return _customer(row)
        return (await self.with_identities(conn, [row]))[0]

    async def survivor(self, customer_id: int) -> Customer:
        """The customer, or the one a merged customer lives on in (merges may chain)."""
        for _ in range(20):
            try:
                return await self.get(customer_id)
            except Merged as merged:
                customer_id = merged.survivor_id
        raise Conflict(f"customer {customer_id} is merged too many times over", "customer_id")

    async def with_identities(
        self, conn: AsyncConnection, rows: Sequence[Row[Any]]
    ) -> list[Customer]:
        """Customer rows as customers, with all their identities in one query."""
        if not rows:
            return []
        ids = [row.id for row in rows]
        found: dict[int, list[IdentityRecord]] = {i: [] for i in ids}
        result = await conn.execute(
            select(identities)
            .where(identities.c.customer_id.in_(ids))
            .order_by(identities.c.kind, identities.c.id)
        )
        for ident in result:
            found[ident.customer_id].append(_identity(ident))
        return [_customer(row, found[row.id]) for row in rows]

    async def find(self, identity: Identity, conn: AsyncConnection) -> Customer | None:
        """The customer who owns `identity`, with all their identities, in one query."""
        params = {"kind": identity.kind.value, "value": identity.value}
        rows = (await conn.execute(_FIND_BY_IDENTITY, params)).all()
        if not rows:
            return None
        return _customer(
            rows[0],
            [
                IdentityRecord(
                    id=row.identity_id,
                    kind=IdentityKind(row.identity_kind),
                    value=row.identity_value,
                    verified=row.identity_verified,
                    created_at=row.identity_created_at,
                )
                for row in rows
            ],
        )

    async def owner(self, kind: IdentityKind | str, raw: str) -> Customer | None:
        """The customer behind a contact, or None: unlike `resolve`, nobody is created."""
        identity = self.normalize(kind, raw)
        async with self.db.connect() as conn:
            return await self.find(identity, conn)

    async def resolve(self, kind: IdentityKind | str, raw: str) -> Resolution:
        """The customer behind a contact; an unknown contact gets a new unverified customer.
        For many contacts at once, `customer_resolve.resolve_many`."""
        identity = self.normalize(kind, raw)
        async with self.db.connect() as conn:
            found = await self.find(identity, conn)
        if found is not None:
            return Resolution(found, created=False, identity=identity)
        try:
            customer = await self.create(CustomerFields(), [identity])
        except Conflict:
            # Another request created the same contact between our lookup and insert.
            async with self.db.connect() as conn:
                found = await self.find(identity, conn)
            if found is None:
                raise
            return Resolution(found, created=False, identity=identity)
        log.info("customer.created_from_contact", customer_id=customer.id, kind=identity.kind)
        return Resolution(customer, created=True, identity=identity)

    async def search(
        self,
        q: str | None = None,
        tier: Tier | None = None,
        segment: Segment | None = None,
        after_id: int | None = None,
        limit: int = 50,
    ) -> list[Customer]:
        """Customers whose name or organisation contains `q`, or who own `q` as any identity."""
        stmt = select(customers).where(customers.c.merged_into_id.is_(None))
        if q:
            pattern = "%" + _escape_like(q.strip().lower()) + "%"
            matches: list[Any] = [
                func.lower(customers.c.name).like(pattern, escape="\\"),
                func.lower(customers.c.organisation).like(pattern, escape="\\"),
            ]
            for ident in candidates(q, self.default_region):
                matches.append(
                    exists().where(
                        identities.c.customer_id == customers.c.id,
                        identities.c.kind == ident.kind.value,
                        identities.c.value == ident.value,
                    )
                )
            stmt = stmt.where(or_(*matches))
        if tier is not None:
            stmt = stmt.where(customers.c.tier == tier.value)
        if segment is not None:
            stmt = stmt.where(customers.c.segment == segment.value)
        if after_id is not None:
            stmt = stmt.where(customers.c.id > after_id)
        stmt = stmt.order_by(customers.c.id).limit(limit)
        async with self.db.connect() as conn:
            rows = (await conn.execute(stmt)).all()
            return await self.with_identities(conn, rows)

    # -- writing ---------------------------------------------------------------------------

    async def create(self, fields: CustomerFields, idents: Iterable[Identity] = ()) -> Customer:
        """A new customer with its identities; Conflict if an identity belongs to someone."""
        idents = list(dict.fromkeys(idents))
        try:
            async with self.db.begin() as conn:
                await self._check_account_manager(conn, fields.account_manager_id)
                at = now()
                row = (
                    await conn.execute(
                        insert(customers)
                        .values(**fields.model_dump(mode="json"), created_at=at, updated_at=at)
                        .returning(*customers.c)
                    )
                ).one()
                stored = [
                    await self._insert_identity(conn, row.id, ident, fields.verified, at)
                    for ident in idents
                ]
                # Identities in the order `get` lists them.
                stored.sort(key=lambda ident: (ident.kind.value, ident.id))
                return _customer(row, stored)
        except IntegrityError:
            async with self.db.connect() as conn:
                await self._raise_taken(conn, idents)
            raise

    async def update(
        self, customer_id: int, changes: dict[str, Any], by_user_id: int | None = None
    ) -> Customer:
        """Change some fields; `changes` was validated against CustomerFields by the caller.
        A changed tier or lifecycle stage is also an event on the timeline, naming who."""
        unknown = set(changes) - set(CustomerFields.model_fields)
        if unknown:
            raise Invalid(f"unknown field {sorted(unknown)[0]!r}", sorted(unknown)[0])
        async with self.db.begin() as conn:
            before = await self.get(customer_id, conn, identities=False)
            if "account_manager_id" in changes:
                await self._check_account_manager(conn, changes["account_manager_id"])
            values = {k: getattr(v, "value", v) for k, v in changes.items()}
            at = now()
            await conn.execute(
                update(customers)
                .where(customers.c.id == customer_id)
                .values(**values, updated_at=at)
            )
            for field, kind in (("tier", "tier_changed"), ("lifecycle_stage", "lifecycle_changed")):
                old = getattr(getattr(before, field), "value", None)
                if field in values and values[field] != old:
                    data = {
                        "from": old,
                        "to": values[field],
                        "reason": "changed on the record",
                        "by_user_id": by_user_id,
                    }
                    await add_event(conn, customer_id, kind, data, at)
            return await self.get(customer_id, conn)

    async def name_unnamed(self, names: dict[int, str]) -> None:
        """Give unverified customers that have no name the name a contact gave (a mail's From
        display name), many in one statement; named or verified customers keep theirs."""
        if not names:
            return
        async with self.db.begin() as conn:
            await conn.execute(
                update(customers)
                .where(
                    customers.c.id == bindparam("b_id"),
                    customers.c.name == "",
                    customers.c.verified.is_(False),
                )
                .values(name=bindparam("b_name"), updated_at=now()),
                [{"b_id": i, "b_name": name} for i, name in names.items()],
            )

    async def add_identity(
        self, customer_id: int, kind: IdentityKind | str, raw: str, verified: bool = False
    ) -> Customer:
        identity = self.normalize(kind, raw, "value")
        try:
            async with self.db.begin() as conn:
                await self.get(customer_id, conn)
                await self._insert_identity(conn, customer_id, identity, verified, now())
                await conn.execute(
                    update(customers).where(customers.c.id == customer_id).values(updated_at=now())
                )
                return await self.get(customer_id, conn)
        except IntegrityError:
            async with self.db.connect() as conn:
                await self._raise_taken(conn, [identity], field="value")
            raise

    async def add_note(
        self,
        customer_id: int,
        body: str,
        author_user_id: int | None,
        interaction_id: int | None = None,
        conn: AsyncConnection | None = None,
    ) -> int:
        """A note on the customer's record, about one of their interactions if given."""
        if conn is None:
            async with self.db.begin() as conn:
                return await self.add_note(customer_id, body, author_user_id, interaction_id, conn)
        await self.get(customer_id, conn)
        if interaction_id is not None:
            owner = (
                await conn.execute(
                    select(interactions.c.customer_id).where(interactions.c.id == interaction_id)
                )
            ).scalar_one_or_none()
            if owner != customer_id:
                raise Invalid(
                    f"interaction {interaction_id} is not one of customer {customer_id}'s",
                    "interaction_id",
                )
        return (
            await conn.execute(
                insert(notes_table)
                .values(
                    customer_id=customer_id,
                    interaction_id=interaction_id,
                    author_user_id=author_user_id,
                    body=body,
                    created_at=now(),
                )
                .returning(notes_table.c.id)
            )
        ).scalar_one()

    # -- helpers ---------------------------------------------------------------------------

    async def _insert_identity(
        self,
        conn: AsyncConnection,
        customer_id: int,
        identity: Identity,
        verified: bool,
        at: datetime,
    ) -> IdentityRecord:
        identity_id = (
            await conn.execute(
                insert(identities)
                .values(
                    customer_id=customer_id,
                    kind=identity.kind.value,
                    value=identity.value,
                    verified=verified,
                    created_at=at,
                )
                .returning(identities.c.id)
            )
        ).scalar_one()
        return IdentityRecord(
            id=identity_id,
            kind=identity.kind,
            value=identity.value,
            verified=verified,
            created_at=at,
        )

    async def _raise_taken(
        self, conn: AsyncConnection, idents: Iterable[Identity], field: str = "identities"
    ) -> None:
        for ident in idents:
            owner = await self.find(ident, conn)
            if owner is not None:
                raise Conflict(
                    f"{ident.kind} {ident.value} already belongs to customer {owner.id}", field
                )

    async def _check_account_manager(self, conn: AsyncConnection, agent_id: int | None) -> None:
        if agent_id is None:
            return
        found = (
            await conn.execute(select(agents.c.id).where(agents.c.id == agent_id))
        ).scalar_one_or_none()
        if found is None:
            raise NotFound("agent", agent_id, "account_manager_id")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
