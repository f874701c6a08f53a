"""An agent whose console is gone is set away after the grace period, with the reason shown on
the dashboard; a console back within it (a reload) changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from contactcenter.settings import Settings, load_settings
from tests.conftest import Api


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {}, database_url=database_url, data_dir=tmp_path / "data", console_grace_seconds=0.3
    )


async def _ana(api: Api, team: dict[str, Any]) -> dict[str, Any]:
    board = await api.json("GET", "/api/v1/board", "supervisor")
    return next(a for a in board["agents"] if a["id"] == team["ana"])


async def test_an_agent_whose_console_is_gone_is_set_away_after_the_grace(
    api: Api, team: dict[str, Any]
) -> None:
    await api.json(
        "PUT", f"/api/v1/agents/{team['ana']}/presence", "ana", json={"presence": "available"}
    )
    console = await api.client.ws_connect("/api/v1/events", headers=api.headers("ana"))
    await console.close()
    reload = await api.client.ws_connect("/api/v1/events", headers=api.headers("ana"))
    await asyncio.sleep(0.5)  # a reload within the grace: still available
    assert (await _ana(api, team))["presence"] == "available"
    await reload.close()
    await asyncio.sleep(0.6)
    ana = await _ana(api, team)
    assert (ana["presence"], ana["presence_reason"]) == ("away", "console closed")
    await api.json(
        "PUT", f"/api/v1/agents/{team['ana']}/presence", "ana", json={"presence": "available"}
    )
    assert (await _ana(api, team))["presence_reason"] == ""  # the agent's own choice


async def test_an_agent_without_a_console_is_left_alone(api: Api, team: dict[str, Any]) -> None:
    await api.json(
        "PUT", f"/api/v1/agents/{team['bo']}/presence", "bo", json={"presence": "available"}
    )
    await asyncio.sleep(0.5)
    board = await api.json("GET", "/api/v1/board", "supervisor")
    assert next(a for a in board["agents"] if a["id"] == team["bo"])["presence"] == "available"
