"""Benchmark: how long the queue goes unrouted when the routing instance is killed.

    .venv/bin/python bench/failover.py [--kills 10] [--instances 3] [--rate 40]

Three `contactcenter serve` on one new PostgreSQL database. Through the instances that do not
route, chats arrive at `--rate` a second (with their own references) and six agents accept and
complete what is offered to them, so that there is always work to offer. Then, `--kills` times:
the routing instance is killed with SIGKILL, and the benchmark measures
- **routes**: from the kill to the first /readyz of another instance that says `"routes": true`;
- **first offer**: from the kill to the first offer stored by the new router (the earliest
  `offered` event after the kill);
and the killed instance is started again (as one that does not route) before the next kill.
It prints the median and the maximum of both, and how many arrivals failed (none should).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import statistics
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
from served import command, databases, free_port

AGENTS = 6


class Instance:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.process = await asyncio.create_subprocess_exec(
            command(),
            "serve",
            "--port",
            str(self.port),
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{self.base}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError("an instance did not start")

    async def routes(self, session: aiohttp.ClientSession) -> bool:
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with session.get(f"{self.base}/readyz", timeout=aiohttp.ClientTimeout(1)) as r:
                return bool((await r.json()).get("routes"))
        return False


async def call(
    session: aiohttp.ClientSession, method: str, url: str, token: str, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.request(method, url, headers=headers, **kwargs) as response:
        return response.status, await response.json()


async def set_up(session: aiohttp.ClientSession, base: str, admin: str) -> list[tuple[int, str]]:
    _, group = await call(session, "POST", f"{base}/api/v1/groups", admin, json={"name": "general"})
    agents = []
    for n in range(AGENTS):
        _, agent = await call(
            session,
            "POST",
            f"{base}/api/v1/agents",
            admin,
            json={"name": f"agent {n}", "groups": [{"group_id": group["id"]}]},
        )
        _, user = await call(
            session,
            "POST",
            f"{base}/api/v1/users",
            admin,
            json={
                "username": f"a{n}",
                "password": "a long password",
                "role": "agent",
                "agent_id": agent["id"],
            },
        )
        _, token = await call(
            session,
            "POST",
            f"{base}/api/v1/tokens",
            admin,
            json={"user_id": user["id"], "name": "b"},
        )
        agents.append((agent["id"], token["token"]))
    return agents


class Load:
    def __init__(self, admin: str, agents: list[tuple[int, str]], rate: float) -> None:
        self.admin, self.agents, self.rate = admin, agents, rate
        self.sent = self.failed = 0
        self.stop = asyncio.Event()

    async def run(self, session: aiohttp.ClientSession, targets: list[Instance]) -> None:
        await asyncio.gather(
            self._arrive(session, targets),
            *(self._work(session, targets, n, a, t) for n, (a, t) in enumerate(self.agents)),
        )

    async def _arrive(self, session: aiohttp.ClientSession, targets: list[Instance]) -> None:
        pending: set[asyncio.Task[None]] = set()
        while not self.stop.is_set():
            task = asyncio.create_task(self._one(session, targets[self.sent % len(targets)]))
            pending.add(task)
            task.add_done_callback(pending.discard)
            self.sent += 1
            await asyncio.sleep(1 / self.rate)
        await asyncio.gather(*pending)

    async def _one(self, session: aiohttp.ClientSession, target: Instance) -> None:
        body = {
            "identity": {"kind": "chat_visitor", "value": f"visitor-{self.sent % 300}"},
            "channel": "chat",
            "external_ref": f"bench-{self.sent}",
        }
        try:
            status, _ = await call(
                session, "POST", f"{target.base}/api/v1/interactions", self.admin, json=body
            )
        except aiohttp.ClientError:
            status = 0
        if status not in (200, 201):
            self.failed += 1

    async def _work(
        self,
        session: aiohttp.ClientSession,
        targets: list[Instance],
        n: int,
        agent_id: int,
        token: str,
    ) -> None:
        base = lambda: targets[n % len(targets)].base  # noqa: E731 (targets change)
        with contextlib.suppress(aiohttp.ClientError):
            await call(
                session,
                "PUT",
                f"{base()}/api/v1/agents/{agent_id}/presence",
                token,
                json={"presence": "available"},
            )
        while not self.stop.is_set():
            with contextlib.suppress(aiohttp.ClientError, KeyError):
                _, page = await call(
                    session, "GET", f"{base()}/api/v1/interactions?status=offered&limit=20", token
                )
                for item in page["interactions"]:
                    if item["agent_id"] != agent_id:
                        continue
                    url = f"{base()}/api/v1/interactions/{item['id']}"
                    status, _ = await call(session, "POST", f"{url}/accept", token)
                    if status == 200:
                        await call(
                            session,
                            "POST",
                            f"{url}/complete",
                            token,
                            json={"disposition": "resolved"},
                        )
            await asyncio.sleep(0.05)


async def first_offer_after(dsn: str, moment: float) -> float | None:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchval(
            "SELECT min(at) FROM interaction_events WHERE to_status = 'offered' AND at > $1",
            datetime.fromtimestamp(moment, UTC),
        )
    finally:
        await conn.close()
    return None if found is None else found.timestamp()


async def bench(url: str, args: argparse.Namespace) -> None:
    dsn = url
    with tempfile.TemporaryDirectory() as data:
        env = os.environ | {
            "DATABASE_URL": url,
            "CONTACTCENTER_DATA_DIR": data,
            "CONTACTCENTER_LOG_LEVEL": "warning",
            "CONTACTCENTER_SEMANTIC_SEARCH": "false",
        }
        migrate = await asyncio.create_subprocess_exec(command(), "migrate", env=env)
        assert await migrate.wait() == 0
        made = await asyncio.create_subprocess_exec(
            command(),
            "createuser",
            "ops",
            "--role",
            "admin",
            "--token",
            "b",
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await made.communicate(b"a long password\n")
        admin = out.decode().strip().rsplit(" ", 1)[-1]
        instances = [Instance(env) for _ in range(args.instances)]
        routes_after: list[float] = []
        offer_after: list[float] = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:
            try:
                for instance in instances:
                    await instance.start(session)
                agents = await set_up(session, instances[-1].base, admin)
                for _ in range(args.kills):
                    routing = [i for i in instances if await i.routes(session)]
                    assert len(routing) == 1, f"{len(routing)} instances route"
                    leader = routing[0]
                    others = [i for i in instances if i is not leader]
                    load = Load(admin, agents, args.rate)
                    running = asyncio.create_task(load.run(session, others))
                    await asyncio.sleep(3.0)
                    assert leader.process is not None
                    killed = time.time()
                    leader.process.send_signal(signal.SIGKILL)
                    await leader.process.wait()
                    while not any([await o.routes(session) for o in others]):  # noqa: ASYNC110
                        await asyncio.sleep(0.01)  # another process's state, asked over HTTP
                    routes_after.append(time.time() - killed)
                    await asyncio.sleep(2.0)
                    load.stop.set()
                    await running
                    offered = await first_offer_after(dsn, killed)
                    if offered is not None:
                        offer_after.append(offered - killed)
                    print(
                        f"kill: another routes after {routes_after[-1] * 1000:.0f} ms, first "
                        f"offer after {(offered or float('nan')) - killed:.3f} s; "
                        f"{load.sent} arrivals sent, {load.failed} failed"
                    )
                    await leader.start(session)
            finally:
                for instance in instances:
                    if instance.process is not None and instance.process.returncode is None:
                        instance.process.terminate()
                        await instance.process.wait()
        print(
            f"[failover, {args.instances} instances, {args.kills} kills] routes again after "
            f"p50 {statistics.median(routes_after) * 1000:.0f} ms, max "
            f"{max(routes_after) * 1000:.0f} ms; first offer by the new router after p50 "
            f"{statistics.median(offer_after) * 1000:.0f} ms, max {max(offer_after) * 1000:.0f} ms"
        )


async def main_async(args: argparse.Namespace) -> None:
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    async for _, url in databases("postgresql", "failover"):
        await bench(url, args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--rate", type=float, default=40.0, help="arrivals a second")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
