"""A flood of chat connections from one address, and how the bot answers everyone else.

`--connections` sockets from `--flood-address` each say hello with a new visitor id, then send
`--rate` frames a second (typing, or with `--messages` lines of text), reconnecting whenever
the service closes them, for `--seconds`. Meanwhile `--others` visitors from `--other-address`
ask the bot a question every half second and time its answer from send to the bot's line on
their socket. Run it against a running service (`--url`), or let it start one on SQLite with the
demo knowledge base (`--serve`). Prints what the flood met (refusals, closes by code) and the
others' answer times (p50, p99, max), and the service's CPU over the flood when it started it.

    .venv/bin/python -m bench.chat_flood --serve [--connections 300] [--rate 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import secrets
import socket
import statistics
import sys
import time
from dataclasses import dataclass, field

import aiohttp


@dataclass
class FloodTally:
    hellos: int = 0
    frames: int = 0
    refused: int = 0  # upgrades answered 429
    closes: collections.Counter[int] = field(default_factory=collections.Counter)

    def line(self) -> str:
        closes = ", ".join(f"{code}: {n}" for code, n in sorted(self.closes.items()))
        return (
            f"flood: {self.hellos} hellos, {self.frames} frames, {self.refused} upgrades "
            f"refused (429), closes by code {{{closes}}}"
        )


def connector(address: str) -> aiohttp.TCPConnector:
    """Connections from `address` (any of 127.0.0.0/8 on loopback), without a pool limit."""
    return aiohttp.TCPConnector(limit=0, local_addr=(address, 0), family=socket.AF_INET)


async def _flooder(
    session: aiohttp.ClientSession,
    url: str,
    rate: float,
    messages: bool,
    until: float,
    tally: FloodTally,
) -> None:
    frame = {"type": "message", "text": "junk"} if messages else {"type": "typing"}
    while time.monotonic() < until:
        try:
            async with session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=2)) as ws:
                draining = asyncio.create_task(_drain(ws))  # what the service says, unread
                await ws.send_json({"type": "hello", "visitor_id": f"v-{secrets.token_hex(8)}"})
                tally.hellos += 1
                with contextlib.suppress(ConnectionError):
                    while time.monotonic() < until and not ws.closed:
                        await ws.send_json(frame)
                        tally.frames += 1
                        await asyncio.sleep(1 / rate)
                await ws.close()
                draining.cancel()
                if ws.close_code is not None:
                    tally.closes[ws.close_code] += 1
        except aiohttp.WSServerHandshakeError as exc:
            tally.refused += exc.status == 429
            await asyncio.sleep(0.2)
        except (aiohttp.ClientError, ConnectionError, TimeoutError):
            await asyncio.sleep(0.2)


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def flood(
    url: str, *, connections: int, rate: float, seconds: float, address: str, messages: bool = False
) -> FloodTally:
    tally = FloodTally()
    until = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=connector(address)) as session:
        await asyncio.gather(
            *(_flooder(session, url, rate, messages, until, tally) for _ in range(connections))
        )
    return tally


async def _other(
    session: aiohttp.ClientSession,
    url: str,
    until: float,
    waits: list[float],
    unanswered: list[str],
) -> None:
    async with session.ws_connect(url) as ws:
        await ws.send_json({"type": "hello", "visitor_id": f"v-{secrets.token_hex(8)}"})
        while (await ws.receive_json(timeout=10))["type"] != "welcome":
            pass
        while time.monotonic() < until:
            asked = time.monotonic()
            await ws.send_json({"type": "message", "text": "I forgot my password"})
            try:
                async with asyncio.timeout(10):
                    while True:
                        frame = await ws.receive_json()
                        if frame["type"] == "line" and frame.get("author") == "bot":
                            break
                waits.append(time.monotonic() - asked)
            except TimeoutError:
                unanswered.append("no bot answer within 10 s")
            await asyncio.sleep(0.5)


async def others(
    url: str, *, count: int, seconds: float, address: str
) -> tuple[list[float], list[str]]:
    """Each visitor's bot answer times, and the questions left unanswered."""
    waits: list[float] = []
    unanswered: list[str] = []
    until = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=connector(address)) as session:
        await asyncio.gather(
            *(_other(session, url, until, waits, unanswered) for _ in range(count))
        )
    return waits, unanswered


def percentiles(waits: list[float]) -> str:
    if not waits:
        return "no answers"
    ordered = sorted(waits)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(ordered)} answers: p50 {statistics.median(ordered) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )


async def run(base: str, args: argparse.Namespace, service: object | None) -> None:
    url = base.rstrip("/") + "/chat/ws"
    if not args.flood_only:
        quiet, _ = await others(url, count=args.others, seconds=5, address=args.other_address)
        print(f"others before the flood: {percentiles(quiet)}")
    cpu = service.cpu_seconds() if service is not None else None  # type: ignore[attr-defined]
    started = time.monotonic()
    flooding = asyncio.create_task(
        flood(
            url,
            connections=args.connections,
            rate=args.rate,
            seconds=args.seconds,
            address=args.flood_address,
            messages=args.messages,
        )
    )
    if not args.flood_only:
        await asyncio.sleep(1)
        waits, unanswered = await others(
            url, count=args.others, seconds=args.seconds - 2, address=args.other_address
        )
        print(f"others during the flood: {percentiles(waits)}; {len(unanswered)} unanswered")
    tally = await flooding
    print(tally.line())
    if service is not None and cpu is not None:
        used = service.cpu_seconds() - cpu  # type: ignore[attr-defined]
        print(f"service CPU during the flood: {used:.1f} s over {time.monotonic() - started:.1f} s")
    print(
        json.dumps(
            {
                "hellos": tally.hellos,
                "frames": tally.frames,
                "refused": tally.refused,
                "closes": dict(tally.closes),
            }
        )
    )
    sys.stdout.flush()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="the service's base URL (http://127.0.0.1:8080)")
    parser.add_argument(
        "--serve",
        choices=["sqlite", "postgresql"],
        help="start `contactcenter serve --demo` on this backend",
    )
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="frames a second, each")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--messages", action="store_true", help="lines of text, not typing")
    parser.add_argument("--others", type=int, default=5)
    parser.add_argument("--flood-address", default="127.0.0.1")
    parser.add_argument("--other-address", default="127.0.0.2")
    parser.add_argument("--flood-only", action="store_true", help="no others; print the tally")
    args = parser.parse_args()
    if not args.serve:
        await run(args.url, args, None)
        return
    from bench.served import command, databases, served

    async for label, database_url in databases(args.serve, "chatflood"):
        print(
            f"chat_flood on {label}: {args.connections} connections x {args.rate:g} frames/s "
            f"for {args.seconds:g} s"
        )
        settings = {"CONTACTCENTER_SEMANTIC_SEARCH": "false"}
        async with served(
            database_url, settings, program=[command(), "serve", "--demo", "--port"]
        ) as service:
            await run(service.base, args, service)


if __name__ == "__main__":
    asyncio.run(main())
