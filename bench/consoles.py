"""Consoles: how fast an event reaches every console, what a console that stops reading costs the
others, and how fast the console's page loads.

The service (`bench/consoles_service.py`: the app as `contactcenter serve` builds it) with 500
agents and 20 supervisors connected to /api/v1/events, each agent with their own token so that
each console hears what an agent's would, plus slow consoles: supervisors' sockets that stop
reading after the handshake.
- Fan-out: events published on the service's bus at `--rate` a second, one agent after another,
  each stamped when published; each is heard by the 20 supervisors and by that agent's console.
- End to end: agents' presence changes through the REST API at `--presence-rate` a second (each
  a stored transition), timed from the request's sending to each console's receipt.
Then the console's first page load in Debian's Chromium (a fresh browser context each time, so
nothing is cached), while events flow and with the service idle.

    .venv/bin/python -m bench.consoles [--agents 500] [--supervisors 20] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import socket
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.chat import PASSWORD, admin_token, make_agents, unlimited
from bench.served import Service, databases, served

SERVICE = [sys.executable, "-m", "bench.consoles_service"]

CHROMIUM = "/usr/bin/chromium"


def percentiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return f"n={len(samples)}"
    q = statistics.quantiles(samples, n=100)
    return (
        f"n={len(samples)} p50 {statistics.median(samples):.1f} ms, p95 {q[94]:.1f} ms, "
        f"p99 {q[98]:.1f} ms, max {max(samples):.1f} ms"
    )


@dataclass
class Sent:
    """Presence changes sent and not yet heard everywhere: agent id → (presence, sent at)."""

    changes: dict[int, tuple[str, float]] = field(default_factory=dict)
    measuring: bool = False


@dataclass
class Console:
    ws: aiohttp.ClientWebSocketResponse
    agent_id: int | None  # None: a supervisor's
    ticks: list[float] = field(default_factory=list)  # fan-out latencies, ms
    changes: list[float] = field(default_factory=list)  # end-to-end latencies, ms
    closed_with: int | None = None

    async def read(self, sent: Sent) -> None:
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            at, wall = time.perf_counter(), time.time()
            event = message.json()
            if not sent.measuring:
                continue
            if event["type"] == "bench.tick":
                self.ticks.append((wall - event["sent_at"]) * 1000)
            elif event["type"] == "agent.presence":
                change = sent.changes.get(event["agent_id"])
                if change is not None and change[0] == event["presence"]:
                    self.changes.append((at - change[1]) * 1000)
        self.closed_with = self.ws.close_code


async def slow_console(base: str, token: str) -> tuple[asyncio.StreamReader, Any]:
    """A supervisor's stream whose reader stops after the handshake: a small receive buffer,
    and nothing read until the end (asyncio stops reading at its buffer's limit)."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=16384)
    writer.write(
        (
            f"GET /api/v1/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head[:100]
    return reader, writer


async def slow_outcome(reader: asyncio.StreamReader) -> str:
    """What a slow console finds when it reads again: the overflow notice and the close."""
    data = b""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(10):
            while chunk := await reader.read(65536):
                data += chunk
    told = b'"stream.overflow"' in data
    closed = reader.at_eof()
    frames = data.count(b'{"type": ')
    return f"{frames} events then {'the overflow notice' if told else 'no notice'}" + (
        " and the close" if closed else ", still open"
    )


async def page_loads(base: str, count: int) -> list[dict[str, float]]:
    """`count` first loads of /console by agent0, each in a fresh browser context: the document,
    DOMContentLoaded, load, and the desk drawn from GET /api/v1/console."""
    from playwright.async_api import async_playwright

    out = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for _ in range(count):
            context = await browser.new_context()
            who = {"username": "agent0", "password": PASSWORD}
            login = await context.request.post(f"{base}/api/v1/auth/login", data=who)
            assert login.ok, await login.text()
            page = await context.new_page()
            await page.goto(f"{base}/console")
            await page.wait_for_selector("#load > *")
            timing = await page.evaluate("""() => {
                const n = performance.getEntriesByType('navigation')[0];
                return {document: n.responseEnd - n.startTime,
                        dom: n.domContentLoadedEventEnd - n.startTime,
                        load: n.loadEventEnd - n.startTime,
                        desk: performance.getEntriesByName('cc:desk-drawn')[0].startTime,
                        total: performance.now()};
            }""")
            out.append(timing)
            await context.close()
        await browser.close()
    return out


def load_figures(label: str, loads: list[dict[str, float]]) -> None:
    for key, name in (
        ("document", "HTML received"),
        ("dom", "DOMContentLoaded"),
        ("load", "load event"),
        ("desk", "desk drawn"),
    ):
        print(f"  first load, {label}, {name:<16} {percentiles([x[key] for x in loads])}")


@dataclass
class Plan:
    agents: int
    supervisors: int
    slow: int
    rate: float
    presence_rate: float
    seconds: float
    loads: int
    event_bytes: int


async def run(url: str, plan: Plan) -> None:
    token = await asyncio.to_thread(admin_token, url)
    async with served(url, {}, program=SERVICE) as service:
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(
            service.base, headers=headers, connector=unlimited()
        ) as api:
            started = time.perf_counter()
            tokens = await make_agents(api, plan.agents)
            print(f"  {plan.agents} agents made in {time.perf_counter() - started:.0f} s")
            await measure(service, api, token, tokens, plan)


def report(consoles: list[Console], what: str, expected: int) -> None:
    mine = [x for c in consoles if c.agent_id is not None for x in getattr(c, what)]
    bosses = [x for c in consoles if c.agent_id is None for x in getattr(c, what)]
    print(f"    deliveries {len(mine) + len(bosses)} of {expected} expected")
    print(f"    → the agent's console       {percentiles(mine)}")
    print(f"    → the supervisors' consoles {percentiles(bosses)}")
    print(f"    → every console             {percentiles(mine + bosses)}")


async def measure(
    service: Service, api: aiohttp.ClientSession, token: str, tokens: dict[int, str], plan: Plan
) -> None:
    sent = Sent()
    async with aiohttp.ClientSession(service.base, connector=unlimited()) as streams:
        consoles = []
        for agent_id, agent_token in tokens.items():
            mine = {"Authorization": f"Bearer {agent_token}"}
            ws = await streams.ws_connect("/api/v1/events", headers=mine)
            consoles.append(Console(ws, agent_id))
        for _ in range(plan.supervisors):
            ws = await streams.ws_connect(
                "/api/v1/events", headers={"Authorization": f"Bearer {token}"}
            )
            consoles.append(Console(ws, None))
        slowpokes = [await slow_console(service.base, token) for _ in range(plan.slow)]
        readers = [asyncio.create_task(c.read(sent)) for c in consoles]
        print(
            f"  {len(consoles)} consoles and {plan.slow} slow ones connected; service RSS "
            f"{service.rss_kib() // 1024} MiB"
        )
        ids = ",".join(str(i) for i in tokens)

        # Fan-out alone, then again while pages load (Chromium shares the machine's two cores).
        for phase in ("alone", "while pages load"):
            for c in consoles:
                c.ticks.clear()
            sent.measuring = True
            cpu = service.cpu_seconds()
            async with api.post(
                "/bench/publish",
                params={
                    "rate": str(plan.rate),
                    "seconds": str(plan.seconds),
                    "agents": ids,
                    "bytes": str(plan.event_bytes),
                },
            ) as started:
                assert started.status == 200, await started.text()
            began = time.perf_counter()
            during = []
            if phase != "alone":
                during = await page_loads(service.base, plan.loads) if plan.loads else []
            await asyncio.sleep(max(0.0, plan.seconds - (time.perf_counter() - began)) + 1)
            cpu = service.cpu_seconds() - cpu
            sent.measuring = False
            events = int(plan.rate * plan.seconds)
            print(
                f"  fan-out {phase}: {events} events of {plan.event_bytes} bytes in "
                f"{plan.seconds:.0f} s ({plan.rate:.0f}/s); service CPU "
                f"{cpu / plan.seconds:.0%} of a core"
            )
            report(consoles, "ticks", events * (1 + plan.supervisors))
            if phase == "alone":
                for n, (reader, writer) in enumerate(slowpokes):
                    print(f"    slow console {n + 1}: {await slow_outcome(reader)}")
                    writer.close()
                dropped = sum(1 for c in consoles if c.closed_with is not None)
                print(f"    consoles that read: {dropped} closed by the service")
            else:
                load_figures(f"{len(consoles)} consoles, {plan.rate:.0f} events/s", during)
            if not plan.loads:
                break

        if plan.presence_rate:
            changes = await presence_changes(api, sent, list(tokens), plan)
            report(consoles, "changes", changes * (1 + plan.supervisors))
        for c in consoles:
            await c.ws.close()
        for task in readers:
            task.cancel()
    if plan.loads:
        load_figures("service idle", await page_loads(service.base, plan.loads))


async def presence_changes(
    api: aiohttp.ClientSession, sent: Sent, ids: list[int], plan: Plan
) -> int:
    """Presence changes through the REST API, one agent after another; how many were made."""
    presence = dict.fromkeys(ids, "available")
    errors = 0

    async def change(agent_id: int) -> None:
        nonlocal errors
        to = "away" if presence[agent_id] == "available" else "available"
        presence[agent_id] = to
        sent.changes[agent_id] = (to, time.perf_counter())
        async with api.put(
            f"/api/v1/agents/{agent_id}/presence", json={"presence": to}
        ) as answered:
            errors += answered.status != 200

    tasks: set[asyncio.Task[None]] = set()
    n, begin = 0, time.perf_counter()
    sent.measuring = True
    while (elapsed := time.perf_counter() - begin) < plan.seconds:
        while n < int(elapsed * plan.presence_rate) + 1:
            task = asyncio.create_task(change(ids[n % len(ids)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        await asyncio.sleep(0.002)
    await asyncio.gather(*tasks)
    await asyncio.sleep(1)
    sent.measuring = False
    print(
        f"  end to end: {n} presence changes through the API in {plan.seconds:.0f} s "
        f"({plan.presence_rate:.0f}/s), {errors} refused"
    )
    return n


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--supervisors", type=int, default=20)
    parser.add_argument("--slow", type=int, default=3, help="consoles that stop reading")
    parser.add_argument("--rate", type=float, default=100.0, help="events a second (fan-out)")
    parser.add_argument(
        "--presence-rate",
        type=float,
        default=30.0,
        help="presence changes a second through the API (0: none)",
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--loads", type=int, default=20, help="page loads measured (0: none)")
    parser.add_argument(
        "--event-bytes",
        type=int,
        default=400,
        help="size of each published event (offers ~150, suggestions ~1500)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    plan = Plan(
        args.agents,
        args.supervisors,
        args.slow,
        args.rate,
        args.presence_rate,
        args.seconds,
        args.loads,
        args.event_bytes,
    )
    print(
        f"consoles: {plan.agents} agents, {plan.supervisors} supervisors, {plan.slow} slow, "
        f"{plan.rate:.0f} events/s for {plan.seconds:.0f} s; {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    async for label, url in databases(args.backend, "consoles"):
        print(label)
        await run(url, plan)


if __name__ == "__main__":
    asyncio.run(main())
