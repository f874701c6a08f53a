"""REST: what agents do with the queue — presence, accept, reject, complete, transfer.

An agent acts as themselves (their login's agent); a supervisor may also set any agent's
presence. Actions the queue refuses (an offer that is not theirs, work that is not active) are
409 with the reason, and change nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contactcenter.model import Presence, Role
from contactcenter.people.agents import GroupName
from contactcenter.queue import InteractionQueue
from contactcenter.reports.stats import queue_stats
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.web.errors import ApiError

routes = RouteTable("queue")
INTERACTION = r"/api/v1/interactions/{interaction_id:\d+}"
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PresenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presence: Presence


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        None
    )
    outcome: Short | None = None
    complaint: bool = False
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    products: list[Short] = Field(default_factory=list, max_length=50)
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)] | None = None


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_group: GroupName | None = None
    to_agent: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if (self.to_group is None) == (self.to_agent is None):
            raise ValueError("give either to_group or to_agent")
        return self


async def target(call: Call) -> TransferIn:
    """The body's group or agent; an agent that does not exist is a 404."""
    body: TransferIn = call.body
    if body.to_agent is not None:
        await call.services.agents.get_agent(body.to_agent)
    return body


async def acted(
    call: Call, action: Callable[[InteractionQueue, int], Awaitable[None]]
) -> web.Response:
    """An action on the path's interaction through the queue, answered with the interaction
    as it now stands."""
    interaction_id = call.path_id("interaction_id")
    await action(call.services.queue, interaction_id)
    return web.json_response(await call.services.interactions.get(interaction_id))


def agent_of(call: Call) -> int:
    if call.user.agent_id is None:
        raise ApiError(403, "forbidden", "this login is not an agent's; it takes no work")
    return call.user.agent_id


@routes.route(
    "PUT",
    r"/api/v1/agents/{agent_id:\d+}/presence",
    summary="Set an agent's presence",
    role=Role.AGENT,
    body=PresenceIn,
    responses={200: "Set", 403: "Agents set only their own presence"},
)
async def set_presence(call: Call) -> web.Response:
    agent_id = call.path_id("agent_id")
    if not call.user.role.allows(Role.SUPERVISOR) and call.user.agent_id != agent_id:
        raise ApiError(403, "forbidden", "agents set only their own presence")
    queue = call.services.queue
    if not queue.knows_agent(agent_id):
        await call.services.agents.get_agent(agent_id)  # 404 for one that does not exist
    await queue.set_presence(agent_id, call.body.presence)
    return web.json_response({"agent_id": agent_id, "presence": call.body.presence.value})


@routes.route(
    "POST",
    INTERACTION + "/accept",
    summary="Accept an offer made to you",
    role=Role.AGENT,
    responses={200: "Accepted", 409: "Not offered to you"},
)
async def accept(call: Call) -> web.Response:
    return await acted(
        call, lambda queue, interaction_id: queue.accept(interaction_id, agent_of(call))
    )


@routes.route(
    "POST",
    INTERACTION + "/reject",
    summary="Decline an offer; it goes back at its place",
    role=Role.AGENT,
    responses={200: "Declined", 409: "Not offered to you"},
)
async def reject(call: Call) -> web.Response:
    return await acted(
        call, lambda queue, interaction_id: queue.reject(interaction_id, agent_of(call))
    )


@routes.route(
    "POST",
    INTERACTION + "/complete",
    summary="Finish your interaction with disposition, outcome, complaint flag and notes",
    role=Role.AGENT,
    body=CompleteIn,
    responses={200: "Completed", 409: "Not active with you"},
)
async def complete(call: Call) -> web.Response:
    """With the complaint flag, a complaint case is opened for the interaction (once, however
    often the wrap-up is sent); the answer names it in `complaint_case`. An email or fax is
    followed by its survey mail."""
    body: CompleteIn = call.body
    interaction_id = call.path_id("interaction_id")
    await call.services.queue.complete(
        interaction_id,
        agent_of(call),
        outcome=body.model_dump(exclude={"notes"}, exclude_none=True),
        note=body.notes,
        author_user_id=call.user.user_id,
    )
    answer = await call.services.interactions.get(interaction_id)
    if body.complaint:
        case = await call.services.complaints.from_wrap_up(interaction_id, call.user.user_id)
        answer["complaint_case"] = {"id": case.id, "reference": case.reference}
    # Email and fax: the first resolution is followed by a survey mail, when the policy says so.
    await call.services.survey_mail.after_resolution(interaction_id, str(call.request.url.origin()))
    return web.json_response(answer)


@routes.route(
    "POST",
    INTERACTION + "/transfer",
    summary="Hand your interaction to a group or an agent; it keeps its place in the queue",
    role=Role.AGENT,
    body=TransferIn,
    responses={200: "Transferred", 409: "Not active with you"},
)
async def transfer(call: Call) -> web.Response:
    to = await target(call)
    return await acted(
        call,
        lambda queue, interaction_id: queue.transfer(
            interaction_id, agent_of(call), to_group=to.to_group, to_agent=to.to_agent
        ),
    )


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_minutes: float = Field(default=30, gt=0, le=1440, description="Look back this far.")


@routes.route(
    "GET",
    "/api/v1/stats",
    summary="Queue statistics: waiting, longest wait, service level, ASA, AHT, abandonment",
    role=Role.AGENT,
    query=StatsQuery,
)
async def stats(call: Call) -> web.Response:
    queue = call.services.queue
    now = queue.now()
    window = timedelta(minutes=call.query.window_minutes)
    short = call.services.settings.short_abandon_seconds
    return web.json_response(
        await queue_stats(call.services.db, queue, queue.policy, now, window, short)
    )
