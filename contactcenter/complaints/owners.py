"""Who handled the interactions a complaint concerns, and their groups: what the policy's
owner rules read (`workflows/complaints.py: owner_of`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.errors import Invalid
from contactcenter.store.tables import groups, interactions, memberships


async def handling_agents(
    conn: AsyncConnection, customer_id: int, interaction_ids: list[int]
) -> list[int]:
    """The agents who handled the interactions (each must be the customer's)."""
    if not interaction_ids:
        return []
    rows = (
        await conn.execute(
            select(interactions.c.id, interactions.c.customer_id, interactions.c.agent_id).where(
                interactions.c.id.in_(interaction_ids)
            )
        )
    ).all()
    found = {row.id: row for row in rows}
    for n, interaction_id in enumerate(interaction_ids):
        row = found.get(interaction_id)
        if row is None or row.customer_id != customer_id:
            raise Invalid(
                f"interaction {interaction_id} is not one of customer {customer_id}'s",
                f"interaction_ids.{n}",
            )
    return [found[i].agent_id for i in interaction_ids if found[i].agent_id is not None]


async def groups_of(conn: AsyncConnection, agent_ids: list[int]) -> list[str]:
    """The groups of the first handling agent, the highest level first."""
    if not agent_ids:
        return []
    result = await conn.execute(
        select(groups.c.name)
        .join(memberships, memberships.c.group_id == groups.c.id)
        .where(memberships.c.agent_id == agent_ids[0])
        .order_by(memberships.c.level.desc(), groups.c.name)
    )
    return list(result.scalars())
