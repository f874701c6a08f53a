"""Recovery: the routing engine rebuilt from the database, which is the truth.

Run on start, and whenever a write failed after the engine had moved. Waiting work keeps its
place and its overflow step; offers that were open are made again (to whoever is free now);
active work goes back to its agent; wrap-up, a timer that died with the old process, is over.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.interactions.records import InteractionRecords
from contactcenter.interactions.transitions import Move, apply_moves
from contactcenter.model import InteractionStatus
from contactcenter.queue.persistence import open_rows, store_decisions
from contactcenter.queue.translation import agent_spec, moment, row_work_item
from routing.engine import Engine
from routing.policy import Policy
from routing.types import Decision
from routing.types import Presence as RoutingPresence

log = structlog.get_logger(__name__)
S = InteractionStatus


async def rebuild(
    conn: AsyncConnection,
    policy: Policy,
    agents: list[dict[str, Any]],
    records: InteractionRecords,
    now: float,
) -> tuple[Engine, list[Decision], set[int]]:
    """A new engine from the `agents` (as `AgentDirectory.list_agents` gives them, read before
    the caller's transaction: one connection at a time) and the open interactions, the
    decisions it made (stored in the caller's transaction, to be published once it commits),
    and the callbacks waiting."""
    engine = Engine(policy)
    for agent in agents:
        spec = agent_spec(agent)
        engine.upsert_agent(spec, now)
        engine.set_presence(spec.id, RoutingPresence(agent["presence"]), now)
    rows = await open_rows(conn)
    moves: list[Move] = []
    decisions: list[Decision] = []
    callbacks = {row.id for row in rows if row.status == S.CALLBACK_SCHEDULED.value}
    for row in rows:
        status = S(row.status)
        if status is S.WRAP_UP:
            moves.append(Move(row.id, S.WRAP_UP, S.CLOSED))
            continue
        work = row_work_item(row)
        if status is S.ACTIVE and row.agent_id is not None:
            if str(row.agent_id) in engine.agents:
                engine.restore_active(work, str(row.agent_id), now)
            continue
        if status is S.OFFERED:
            moves.append(
                Move(row.id, S.OFFERED, S.QUEUED, {"reason": "restart"}, {"agent_id": None})
            )
        since = (row.routing_since or row.queued_at or row.created_at).timestamp()
        decisions += engine.enqueue(work, now, step=row.routing_step, step_since=since)
    # The moves first: an offer made again starts from the queued status they set.
    if moves:
        await apply_moves(conn, moves, moment(now))
    await store_decisions(conn, records, decisions, now, callbacks)
    log.info("queue.rebuilt", open=len(rows), waiting=engine.waiting())
    return engine, decisions, callbacks
