"""REST: satisfaction figures for supervisors. (A survey is sent with `POST
/api/v1/interactions/{id}/survey`; customers answer on the survey page, `web/survey_page.py`.)"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from contactcenter.model import Role
from contactcenter.reports.surveys import survey_figures
from contactcenter.runtime.clock import now
from contactcenter.web.endpoints import Call, RouteTable

routes = RouteTable("surveys")


class WindowQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(default=30, ge=1, le=366, description="The window, ending now.")


@routes.route(
    "GET",
    "/api/v1/reports/surveys",
    summary="Satisfaction over the last `days`: CSAT % (4–5 of responses) and response rate, in "
    "all and by tier, channel, group and agent",
    role=Role.SUPERVISOR,
    query=WindowQuery,
)
async def survey_report(call: Call) -> web.Response:
    q: WindowQuery = call.query
    until = now()
    figures = await survey_figures(call.services.db, until - timedelta(days=q.days), until)
    return web.json_response(figures)
