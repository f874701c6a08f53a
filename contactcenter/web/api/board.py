"""REST for the consoles: an agent's desk, the supervisor's board, moving waiting work, and the
day's chart and CSV. Each page loads with one request and then follows the event stream."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from contactcenter.model import Role
from contactcenter.people.accounts import Principal
from contactcenter.reports import sl_chart
from contactcenter.reports.board import (
    agent_load,
    agents_now,
    escalations_since,
    held_work,
    sla_state,
    waiting_work,
)
from contactcenter.reports.complaints import complaints_now
from contactcenter.reports.day_report import (
    csv_text,
    day_rows,
    day_start,
    hourly,
    hours_in_day,
    live_targets,
    stats_row,
)
from contactcenter.reports.stats import queue_stats_over
from contactcenter.web.api.queue import INTERACTION, TransferIn, acted, target
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.wiring import Services

routes = RouteTable("consoles")


def _now(services: Services) -> datetime:
    return services.queue.now()


@routes.route(
    "GET",
    "/api/v1/console",
    summary="The agent's desk: their presence, capacity and load, open offers (with when each "
    "lapses) and the work they hold",
    role=Role.AGENT,
)
async def console(call: Call) -> web.Response:
    return web.json_response(await desk(call.services, call.user))


async def desk(services: Services, user: Principal) -> dict[str, Any]:
    """The agent's desk as `GET /api/v1/console` answers it (the console page carries it too)."""
    agent_id = user.agent_id
    now = _now(services)
    if agent_id is None:
        return {"user": user.json(), "agent": None, "offers": [], "work": []}
    agent = await services.agents.get_agent(agent_id)
    agent["load"] = agent_load(services.queue, agent)
    held = await held_work(services.db, now, agent_id)
    offers = [
        w | {"expires_at": services.queue.offer_expires(w["id"])}
        for w in held
        if w["status"] == "offered"
    ]
    return {
        "user": user.json(),
        "agent": agent,
        "offers": offers,
        "work": [w for w in held if w["status"] != "offered"],
        "offer_seconds": services.queue.policy.offer_timeout,
        "groups": sorted(services.queue.policy.groups),
    }


@routes.route(
    "GET",
    "/api/v1/board",
    summary="The supervisor's board: service levels over the last 30 minutes and today, waiting "
    "work with its service-level state, and every agent with their work",
    role=Role.SUPERVISOR,
)
async def board(call: Call) -> web.Response:
    services = call.services
    queue, settings = services.queue, services.settings
    now = _now(call.services)
    start = day_start(now, settings.timezone)
    short = settings.short_abandon_seconds
    windows = [timedelta(minutes=30), max(now - start, timedelta(seconds=1))]
    recent, today = await queue_stats_over(services.db, queue, queue.policy, now, windows, short)
    waiting = [
        w | sla_state(queue.policy, w, now) for w in await waiting_work(services.db, queue, now)
    ]
    return web.json_response(
        {
            "generated_at": now.isoformat(),
            "day_start": start.isoformat(),
            "timezone": settings.timezone,
            "recent": recent,
            "today": today,
            "waiting": waiting,
            "agents": await agents_now(
                services.db, queue, await services.agents.list_agents(), now
            ),
            "groups": sorted(queue.policy.groups),
            "complaints": await complaints_now(services.db, now),
            "escalations": await escalations_since(services.db, start),
        }
    )


@routes.route(
    "POST",
    INTERACTION + "/move",
    summary="Send waiting work to another group or agent; it keeps its place in the queue",
    role=Role.SUPERVISOR,
    body=TransferIn,
    responses={200: "Moved", 409: "Not waiting (offered, held, over, or a callback)"},
)
async def move(call: Call) -> web.Response:
    to = await target(call)
    return await acted(
        call,
        lambda queue, interaction_id: queue.move(
            interaction_id, to_group=to.to_group, to_agent=to.to_agent, by_user=call.user.user_id
        ),
    )


@routes.route(
    "GET",
    "/api/v1/reports/today.csv",
    summary="Every interaction queued today (in CONTACTCENTER_TIMEZONE) with its wait, handle "
    "time and whether it met its target, as CSV",
    role=Role.SUPERVISOR,
    content_type="text/csv",
)
async def today_csv(call: Call) -> web.Response:
    now = _now(call.services)
    start = day_start(now, call.services.settings.timezone)
    rows = await day_rows(call.services.db, start, now + timedelta(seconds=1))
    name = f"interactions-{start.date().isoformat()}.csv"
    return web.Response(
        text=csv_text(rows, call.services.queue.policy, now),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@routes.route(
    "GET",
    "/api/v1/reports/today/service-level.svg",
    summary="A chart of today's service level by tier, hour by hour, as SVG",
    role=Role.SUPERVISOR,
    content_type="image/svg+xml",
)
async def today_chart(call: Call) -> web.Response:
    now = _now(call.services)
    policy = call.services.queue.policy
    start = day_start(now, call.services.settings.timezone)
    rows = [stats_row(r) for r in await day_rows(call.services.db, start, now)]
    svg = sl_chart.render(
        hourly(rows, policy, start, now),
        hours_in_day(start),
        live_targets(policy),
        start.date().isoformat(),
    )
    return web.Response(
        text=svg, content_type="image/svg+xml", headers={"Cache-Control": "no-store"}
    )
