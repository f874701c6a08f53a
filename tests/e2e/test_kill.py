"""Recovery: `contactcenter serve` killed with SIGKILL in the middle of traffic loses nothing.

Chats arrive through the API with the caller's own references while agents accept and complete
them; the process is killed without warning, started again, and every reference is sent again.
Then every interaction the service acknowledged exists exactly once, each is queued, offered,
active or closed, no agent holds more than their capacity, and every interaction's history is an
unbroken chain of transitions.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from contactcenter.store.db import Database
from contactcenter.store.tables import interaction_events, interactions

from .test_serve import COMMAND, _env, _free_port, _run, _wait_healthy

pytestmark = pytest.mark.slow
CHATS = 120
AGENTS = 3


def _start(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [COMMAND, "serve", "--port", str(port)],
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_healthy(port, process)
    return process


async def _json(
    session: aiohttp.ClientSession, method: str, url: str, token: str, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.request(method, url, headers=headers, **kwargs) as response:
        return response.status, await response.json()


async def _set_up(base: str, admin: str) -> list[tuple[int, str]]:
    """A group, agents with their own logins and tokens, all available."""
    agents = []
    async with aiohttp.ClientSession(base) as s:
        _, group = await _json(s, "POST", "/api/v1/groups", admin, json={"name": "general"})
        for n in range(AGENTS):
            _, agent = await _json(
                s,
                "POST",
                "/api/v1/agents",
                admin,
                json={"name": f"agent {n}", "groups": [{"group_id": group["id"]}]},
            )
            _, user = await _json(
                s,
                "POST",
                "/api/v1/users",
                admin,
                json={
                    "username": f"agent{n}",
                    "password": "a long password",
                    "role": "agent",
                    "agent_id": agent["id"],
                },
            )
            _, token = await _json(
                s,
                "POST",
                "/api/v1/tokens",
                admin,
                json={"user_id": user["id"], "name": "kill test"},
            )
            agents.append((agent["id"], token["token"]))
            await _json(
                s,
                "PUT",
                f"/api/v1/agents/{agent['id']}/presence",
                token["token"],
                json={"presence": "available"},
            )
    return agents


async def _traffic(
    base: str,
    admin: str,
    agents: list[tuple[int, str]],
    acknowledged: dict[str, int],
    half: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    """Chats arrive; agents accept what is offered to them and complete half of it."""

    async def arrive(s: aiohttp.ClientSession) -> None:
        for n in range(CHATS):
            if stop.is_set():
                return
            ref = f"chat-{n}"
            body = {
                "identity": {"kind": "chat_visitor", "value": f"visitor-{n % 40}"},
                "channel": "chat",
                "external_ref": ref,
            }
            status, made = await _json(s, "POST", "/api/v1/interactions", admin, json=body)
            if status in (200, 201):
                acknowledged[ref] = made["id"]
                if len(acknowledged) >= CHATS // 2:
                    half.set()

    async def work(s: aiohttp.ClientSession, agent_id: int, token: str) -> None:
        done = 0
        while not stop.is_set():
            _, page = await _json(s, "GET", "/api/v1/interactions?status=offered&limit=50", token)
            for item in page["interactions"]:
                if item["agent_id"] != agent_id:
                    continue
                status, _ = await _json(
                    s, "POST", f"/api/v1/interactions/{item['id']}/accept", token
                )
                if status == 200 and done % 2 == 0:
                    await _json(
                        s,
                        "POST",
                        f"/api/v1/interactions/{item['id']}/complete",
                        token,
                        json={"disposition": "resolved"},
                    )
                done += 1
            await asyncio.sleep(0.01)

    async with aiohttp.ClientSession(base) as s:
        tasks = [asyncio.create_task(arrive(s))]
        tasks += [asyncio.create_task(work(s, a, t)) for a, t in agents]
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(
            result, (aiohttp.ClientError, asyncio.CancelledError)
        ):
            raise result


async def test_sigkill_mid_traffic_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, database_url: str
) -> None:
    env = _env(tmp_path, database_url)
    if "postgresql" in database_url:
        assert _run(env, "migrate").returncode == 0
    made = _run(
        env,
        "createuser",
        "ops",
        "--role",
        "admin",
        "--token",
        "kill",
        stdin="a long enough password\n",
    )
    admin = made.stdout.strip().rsplit(" ", 1)[-1]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = _start(env, port)
    acknowledged: dict[str, int] = {}
    try:
        agents = await _set_up(base, admin)
        half, stop = asyncio.Event(), asyncio.Event()
        traffic = asyncio.create_task(_traffic(base, admin, agents, acknowledged, half, stop))
        async with asyncio.timeout(60):
            await half.wait()
        process.send_signal(signal.SIGKILL)  # no warning, no shutdown
        process.wait(timeout=10)
        stop.set()
        await traffic
    finally:
        if process.poll() is None:
            process.kill()
    before = dict(acknowledged)

    process = _start(env, port)  # the same data, a new process
    try:
        resent: dict[str, int] = {}
        async with aiohttp.ClientSession(base) as s:
            for n in range(CHATS):
                ref = f"chat-{n}"
                body = {
                    "identity": {"kind": "chat_visitor", "value": f"visitor-{n % 40}"},
                    "channel": "chat",
                    "external_ref": ref,
                }
                status, made = await _json(s, "POST", "/api/v1/interactions", admin, json=body)
                assert status in (200, 201), made
                resent[ref] = made["id"]
        assert all(resent[ref] == id_ for ref, id_ in before.items())  # nothing lost
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

    db = Database(url=database_url)
    try:
        async with db.connect() as conn:
            rows = (await conn.execute(select(interactions))).all()
            events = (
                await conn.execute(select(interaction_events).order_by(interaction_events.c.id))
            ).all()
    finally:
        await db.dispose()
    assert len(rows) == CHATS  # exactly one interaction per reference
    assert Counter(r.external_ref for r in rows).most_common(1)[0][1] == 1
    assert {r.status for r in rows} <= {"queued", "offered", "active", "closed"}
    held = Counter(r.agent_id for r in rows if r.status in ("offered", "active"))
    assert max(held.values(), default=0) <= 3  # chat capacity
    history: dict[int, list[Any]] = {}
    for event in events:
        if event.to_status is not None:
            history.setdefault(event.interaction_id, []).append(event)
    for row in rows:
        chain = history[row.id]
        assert chain[0].type == "created"
        for earlier, later in itertools.pairwise(chain):
            assert later.from_status == earlier.to_status, (row.id, later.type)
        assert chain[-1].to_status == row.status
