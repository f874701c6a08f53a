"""Agents and groups: who works here, in which groups at what level, skills and capacity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.errors import Conflict, Invalid, NotFound
from contactcenter.model import DEFAULT_CAPACITY, Channel, Presence
from contactcenter.runtime.clock import now
from contactcenter.store.db import Database
from contactcenter.store.tables import agent_presence, agents, groups, memberships

GroupName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$", max_length=100)]
Skill = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,50}$")]


class Membership(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: int = Field(ge=1)
    level: int = Field(default=1, ge=1, le=10)


class AgentFields(BaseModel):
    """An agent as the API and the demo loader write it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    skills: list[Skill] = Field(default_factory=list, max_length=100)
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=50)]] = Field(default_factory=dict)
    voice_blocks_other: bool = True
    presence: Presence = Presence.OFFLINE
    groups: list[Membership] = Field(default_factory=list, max_length=100)
    # Where accepted calls are put through: a phone number in E.164, or a Twilio Client identity
    # (a softphone in the browser). The Client identity wins when both are set.
    phone: Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")] | None = None
    voice_client: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,100}$")] | None = (
        None
    )


class GroupFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GroupName
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


def _capacity(given: dict[Channel, int]) -> dict[str, int]:
    return {c.value: given.get(c, default) for c, default in DEFAULT_CAPACITY.items()}


async def record_presence(
    conn: AsyncConnection, agent_id: int, presence: Presence, at: datetime
) -> None:
    """One step of the agent's presence history (occupancy over time is read from it)."""
    await conn.execute(
        insert(agent_presence).values(agent_id=agent_id, presence=presence.value, at=at)
    )


class AgentDirectory:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- agents ----------------------------------------------------------------------------

    async def create_agent(self, fields: AgentFields) -> dict[str, Any]:
        try:
            async with self.db.begin() as conn:
                at = now()
                agent_id = (
                    await conn.execute(
                        insert(agents)
                        .values(
                            name=fields.name,
                            email=fields.email.lower() if fields.email else None,
                            skills=fields.skills,
                            capacity=_capacity(fields.capacity),
                            voice_blocks_other=fields.voice_blocks_other,
                            phone=fields.phone,
                            voice_client=fields.voice_client,
                            presence=fields.presence.value,
                            presence_since=at,
                            created_at=at,
                        )
                        .returning(agents.c.id)
                    )
                ).scalar_one()
                await record_presence(conn, agent_id, fields.presence, at)
                await self._set_groups(conn, agent_id, fields.groups)
                return await self._agent(conn, agent_id)
        except IntegrityError:
            raise Conflict(f"an agent with email {fields.email} exists already", "email") from None

    async def update_agent(self, agent_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply validated changes (a partial AgentFields dump in JSON mode)."""
        try:
            async with self.db.begin() as conn:
                current = await self._agent(conn, agent_id)
                values = {k: v for k, v in changes.items() if k != "groups"}
                if "capacity" in values:
                    values["capacity"] = current["capacity"] | values["capacity"]
                if values.get("email"):
                    values["email"] = values["email"].lower()
                if "presence" in values and values["presence"] != current["presence"]:
                    values["presence_since"] = now()
                    values["presence_reason"] = ""
                    await record_presence(
                        conn, agent_id, Presence(values["presence"]), values["presence_since"]
                    )
                if values:
                    await conn.execute(
                        update(agents).where(agents.c.id == agent_id).values(**values)
                    )
                if "groups" in changes:
                    await self._set_groups(
                        conn, agent_id, [Membership(**m) for m in changes["groups"]]
                    )
                return await self._agent(conn, agent_id)
        except IntegrityError:
            raise Conflict("an agent with that email exists already", "email") from None

    async def delete_agent(self, agent_id: int) -> None:
        async with self.db.begin() as conn:
            await self._agent(conn, agent_id)
            await conn.execute(delete(agents).where(agents.c.id == agent_id))

    async def get_agent(self, agent_id: int) -> dict[str, Any]:
        async with self.db.connect() as conn:
            return await self._agent(conn, agent_id)

    async def list_agents(self, group_id: int | None = None) -> list[dict[str, Any]]:
        stmt = select(agents).order_by(agents.c.id)
        if group_id is not None:
            stmt = stmt.join(memberships, memberships.c.agent_id == agents.c.id).where(
                memberships.c.group_id == group_id
            )
        async with self.db.connect() as conn:
            rows = (await conn.execute(stmt)).all()
            return await self._agents_json(conn, rows)

    async def _agent(self, conn: AsyncConnection, agent_id: int) -> dict[str, Any]:
        row = (await conn.execute(select(agents).where(agents.c.id == agent_id))).one_or_none()
        if row is None:
            raise NotFound("agent", agent_id)
        return (await self._agents_json(conn, [row]))[0]

    async def _agents_json(
        self, conn: AsyncConnection, rows: list[Row[Any]]
    ) -> list[dict[str, Any]]:
        ids = [row.id for row in rows]
        member: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            result = await conn.execute(
                select(memberships, groups.c.name)
                .join(groups, groups.c.id == memberships.c.group_id)
                .where(memberships.c.agent_id.in_(ids))
                .order_by(groups.c.name)
            )
            for m in result:
                member[m.agent_id].append(
                    {"group_id": m.group_id, "name": m.name, "level": m.level}
                )
        return [
            {
                "id": row.id,
                "name": row.name,
                "email": row.email,
                "skills": row.skills,
                "capacity": row.capacity,
                "voice_blocks_other": row.voice_blocks_other,
                "phone": row.phone,
                "voice_client": row.voice_client,
                "presence": row.presence,
                "presence_since": row.presence_since.isoformat(),
                "presence_reason": row.presence_reason,
                "groups": member[row.id],
                "created_at": row.created_at.isoformat(),
            }
            for row in rows
        ]

    async def _set_groups(
        self, conn: AsyncConnection, agent_id: int, wanted: list[Membership]
    ) -> None:
        ids = [m.group_id for m in wanted]
        if len(set(ids)) != len(ids):
            raise Invalid("a group is listed twice", "groups")
        if ids:
            found = set(
                (await conn.execute(select(groups.c.id).where(groups.c.id.in_(ids)))).scalars()
            )
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound("group", missing[0], "groups")
        await conn.execute(delete(memberships).where(memberships.c.agent_id == agent_id))
        if wanted:
            await conn.execute(
                insert(memberships),
                [{"agent_id": agent_id, "group_id": m.group_id, "level": m.level} for m in wanted],
            )

    # -- groups ----------------------------------------------------------------------------

    async def create_group(self, fields: GroupFields) -> dict[str, Any]:
        try:
            async with self.db.begin() as conn:
                group_id = (
                    await conn.execute(
                        insert(groups)
                        .values(**fields.model_dump(), created_at=now())
                        .returning(groups.c.id)
                    )
                ).scalar_one()
                return await self._group(conn, group_id)
        except IntegrityError:
            raise Conflict(f"a group named {fields.name} exists already", "name") from None

    async def update_group(self, group_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self.db.begin() as conn:
                await self._group(conn, group_id)
                if changes:
                    await conn.execute(
                        update(groups).where(groups.c.id == group_id).values(**changes)
                    )
                return await self._group(conn, group_id)
        except IntegrityError:
            raise Conflict(f"a group named {changes.get('name')} exists already", "name") from None

    async def delete_group(self, group_id: int) -> None:
        async with self.db.begin() as conn:
            await self._group(conn, group_id)
            await conn.execute(delete(groups).where(groups.c.id == group_id))

    async def get_group(self, group_id: int) -> dict[str, Any]:
        async with self.db.connect() as conn:
            return await self._group(conn, group_id)

    async def group_by_name(self, name: str) -> dict[str, Any] | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(select(groups).where(groups.c.name == name))).one_or_none()
            return None if row is None else await self._group(conn, row.id)

    async def list_groups(self) -> list[dict[str, Any]]:
        async with self.db.connect() as conn:
            ids = (await conn.execute(select(groups.c.id).order_by(groups.c.name))).scalars()
            return [await self._group(conn, i) for i in ids]

    async def _group(self, conn: AsyncConnection, group_id: int) -> dict[str, Any]:
        row = (await conn.execute(select(groups).where(groups.c.id == group_id))).one_or_none()
        if row is None:
            raise NotFound("group", group_id)
        members = await conn.execute(
            select(memberships.c.agent_id, memberships.c.level)
            .where(memberships.c.group_id == group_id)
            .order_by(memberships.c.agent_id)
        )
        return {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "members": [{"agent_id": m.agent_id, "level": m.level} for m in members],
            "created_at": row.created_at.isoformat(),
        }
