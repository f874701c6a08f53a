"""Web chat at scale: many visitors connected to one `contactcenter serve`, each chat with an
agent, and the time a visitor's line takes to reach the agent and the agent's answer to come
back.

The benchmark starts the service (`bench/served.py`), makes agents through the API (three
chats each, the default capacity), connects `--chats` visitors over `/chat/ws` who each ask for
a person, and accepts every offer as its agent. Then each visitor writes `--rounds` lines,
spread over the chats at `--rate` lines a second; the benchmark hears each on a supervisor's
event stream (as an agent's console would) and answers it as that agent
(`POST /api/v1/interactions/{id}/chat`). A round trip runs from the visitor's send to the
answer's arrival on the visitor's socket. Memory per connection: the service's resident size
with every visitor connected and their chat active, less what it was before, over the chats.

    .venv/bin/python -m bench.chat [--chats 1000] [--rounds 2] [--rate 50] [--backend both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import statistics
import subprocess
import time

import aiohttp

from bench.served import Service, command, databases, served

PASSWORD = "benchmark-password"


def unlimited() -> aiohttp.TCPConnector:
    """A connector without aiohttp's 100 connections: every visitor holds one."""
    return aiohttp.TCPConnector(limit=0)


def admin_token(database_url: str) -> str:
    """An admin's API token, made with the command line before the service starts."""
    env = os.environ | {"DATABASE_URL": database_url}
    if database_url.startswith("postgresql"):
        subprocess.run([command(), "migrate"], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [command(), "createuser", "bench", "--role", "admin", "--token", "bench"],
        env=env,
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return made.stdout.strip().rsplit(" ", 1)[-1]


async def make_agents(api: aiohttp.ClientSession, count: int) -> dict[int, str]:
    """`count` available agents in the general group; their ids with their API tokens."""
    async with api.post("/api/v1/groups", json={"name": "general"}) as made:
        group = (await made.json())["id"]
    tokens: dict[int, str] = {}

    async def one(n: int) -> None:
        async with api.post(
            "/api/v1/agents", json={"name": f"agent {n}", "groups": [{"group_id": group}]}
        ) as made:
            agent = (await made.json())["id"]
        async with api.post(
            "/api/v1/users",
            json={
                "username": f"agent{n}",
                "password": PASSWORD,
                "role": "agent",
                "agent_id": agent,
            },
        ) as made:
            user = (await made.json())["id"]
        async with api.post("/api/v1/tokens", json={"user_id": user, "name": "bench"}) as made:
            tokens[agent] = (await made.json())["token"]
        async with api.put(
            f"/api/v1/agents/{agent}/presence", json={"presence": "available"}
        ) as made:
            assert made.status in (200, 204), await made.text()

    for start in range(0, count, 20):
        await asyncio.gather(*(one(n) for n in range(start, min(start + 20, count))))
    return tokens


class Outstanding:
    """Lines sent and not yet answered, across the visitors; `done` once none are left."""

    def __init__(self) -> None:
        self.count = 0
        self.done = asyncio.Event()

    def add(self) -> None:
        self.count += 1
        self.done.clear()

    def answered(self) -> None:
        self.count -= 1
        if self.count == 0:
            self.done.set()


class Visitor:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, outstanding: Outstanding) -> None:
        self.ws = ws
        self.outstanding = outstanding
        self.chat_id: int | None = None
        self.sent: dict[str, float] = {}  # line text: when it was sent
        self.trips: list[float] = []
        self.reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for message in self.ws:
            frame = message.json()
            if frame.get("type") != "line":
                continue
            self.chat_id = frame["chat_id"]
            if frame["author"] == "agent":
                asked = frame["text"].removeprefix("re: ")
                if asked in self.sent:
                    self.trips.append(time.perf_counter() - self.sent.pop(asked))
                    self.outstanding.answered()


async def run(url: str, chats: int, rounds: int, rate: float) -> None:
    token = await asyncio.to_thread(admin_token, url)
    # Every visitor comes from 127.0.0.1: the limit per address is raised for the run.
    settings = {
        "CONTACTCENTER_SEMANTIC_SEARCH": "false",
        "CONTACTCENTER_CHAT_FRAMES_PER_ADDRESS": "1000000",
    }
    async with served(url, settings) as service:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession(service.base, headers=headers) as api,
            aiohttp.ClientSession(service.base, connector=unlimited()) as visitors,
        ):
            agents = await make_agents(api, math.ceil(chats / 3))
            await measure(service, api, visitors, agents, chats, rounds, rate)


async def measure(
    service: Service,
    api: aiohttp.ClientSession,
    visitors: aiohttp.ClientSession,
    agents: dict[int, str],
    chats: int,
    rounds: int,
    rate: float,
) -> None:
    stream = await api.ws_connect("/api/v1/events", max_msg_size=0)
    holder: dict[int, int] = {}  # chat: its agent
    accepted = asyncio.Event()

    async def accept(chat: int, agent: int) -> None:
        async with api.post(
            f"/api/v1/interactions/{chat}/accept",
            headers={"Authorization": f"Bearer {agents[agent]}"},
        ) as done:
            if done.status == 200:
                holder[chat] = agent
                if len(holder) == chats:
                    accepted.set()

    async def answer(chat: int, text: str) -> None:
        async with api.post(
            f"/api/v1/interactions/{chat}/chat",
            json={"text": f"re: {text}"},
            headers={"Authorization": f"Bearer {agents[holder[chat]]}"},
        ) as done:
            assert done.status == 201, await done.text()

    tasks: set[asyncio.Task[None]] = set()

    async def listen() -> None:
        async for message in stream:
            event = message.json()
            kind = event.get("type")
            if kind == "routing.Offer":
                job = asyncio.create_task(accept(event["interaction_id"], event["agent_id"]))
            elif (
                kind == "chat.line"
                and event["line"]["author"] == "visitor"
                and event["line"]["text"].startswith("ping ")
            ):
                job = asyncio.create_task(answer(event["interaction_id"], event["line"]["text"]))
            else:
                continue
            tasks.add(job)
            job.add_done_callback(tasks.discard)

    listener = asyncio.create_task(listen())
    before = service.rss_kib()
    people: list[Visitor] = []
    outstanding = Outstanding()
    started = time.perf_counter()
    for n in range(chats):
        ws = await visitors.ws_connect("/chat/ws")
        await ws.send_json({"type": "hello"})
        await ws.send_json({"type": "message", "text": f"zzqx visitor {n} needs a person"})
        visitor = Visitor(ws, outstanding)
        visitor.reader = asyncio.create_task(visitor.read())
        people.append(visitor)
    await asyncio.wait_for(accepted.wait(), timeout=600)
    connected = service.rss_kib()
    per_chat = (connected - before) / chats
    print(
        f"  {chats} visitors connected, each chat with an agent, in "
        f"{time.perf_counter() - started:.1f} s; service memory {before / 1024:.1f} -> "
        f"{connected / 1024:.1f} MiB ({per_chat:.0f} KiB per chat)"
    )

    gap = 1 / rate
    for round_ in range(rounds):
        for n, visitor in enumerate(people):
            text = f"ping {round_}-{n}"
            visitor.sent[text] = time.perf_counter()
            outstanding.add()
            await visitor.ws.send_json({"type": "message", "text": text})
            await asyncio.sleep(gap)
    with contextlib.suppress(TimeoutError):  # what is still unanswered then is counted
        await asyncio.wait_for(outstanding.done.wait(), timeout=30)
    trips = sorted(t * 1000 for v in people for t in v.trips)
    lost = sum(len(v.sent) for v in people)
    p = lambda q: trips[min(len(trips) - 1, int(q * len(trips)))]  # noqa: E731
    print(
        f"  round trip visitor -> agent -> visitor over {len(trips)} lines at {rate:g}/s: "
        f"p50 {statistics.median(trips):.1f} ms, p95 {p(0.95):.1f} ms, p99 {p(0.99):.1f} ms, "
        f"max {trips[-1]:.1f} ms; unanswered {lost}"
    )
    listener.cancel()
    for visitor in people:
        await visitor.ws.close()
        if visitor.reader is not None:
            visitor.reader.cancel()
    await stream.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--rate",
        type=float,
        default=50.0,
        help="visitor lines a second (1,000 visitors writing every 20 s)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(
        f"chat: {args.chats} chats; {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    async for label, url in databases(args.backend, "chat"):
        print(label)
        await run(url, args.chats, args.rounds, args.rate)


if __name__ == "__main__":
    asyncio.run(main())
