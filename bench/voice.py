"""Benchmark: the phone webhooks with 200 calls in progress at once.

    .venv/bin/python bench/voice.py [--calls 200] [--ramp 20] [--hold 30] [--poll-every 5]
                                    [--rates 5,10,20] [--backend sqlite|postgresql|both]
                                    [--profile PREFIX] [--workers N] [--floor]

A real `contactcenter serve` runs as a subprocess with a Twilio auth token set. Each simulated
call (the tests' call simulator: signed form posts, as Twilio sends them) goes incoming
(greeting and menu) → a menu key (into the queue and Twilio's hold) → the hold's waitUrl every
`--poll-every` seconds for `--hold` seconds → hang-up (the hold's action and the status
callback). Calls start evenly over `--ramp` seconds (200 over 20 s: 10 new calls a second, a
very busy line), and each holds longer than the ramp, so that all of them are in progress at
once at its end. Twilio asks the waitUrl again when the last hold round ends, about every 30 s
with a clip of hold music; polling every 5 s is six times that. No agent is available, so every
call holds. Latency is measured at the client, from sending a request to having read its TwiML,
and printed per webhook and over all of them, with the service's CPU (user + system, from
/proc) per call and per webhook. `--rates 5,10,20 --hold 15` runs the shape of a busy line at
each rate in turn (open loop: calls start on time whatever the answers do): incoming, a menu
key, three hold polls, the hold's action and the status callback.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import aiohttp
from served import databases, free_port, served

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token-0123456789abcdef"


@functools.cache
def _simulator():  # type: ignore[no-untyped-def]
    """The tests' call simulator, loaded from its file once (its CallSids count up)."""
    path = ROOT / "tests" / "channels" / "call_simulator.py"
    spec = importlib.util.spec_from_file_location("call_simulator", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def run_calls(base: str, args: argparse.Namespace) -> dict[str, list[float]]:
    sim = _simulator()
    timings: dict[str, list[float]] = defaultdict(list)

    async def one(n: int, session: aiohttp.ClientSession) -> None:
        await asyncio.sleep(args.ramp * n / args.calls)
        call = sim.Call(session, TOKEN, base, base, caller=f"+1617555{n:04d}")
        original = call.post

        async def timed(url: str, params: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            answer = await original(url, params, **kwargs)
            hook = url.removeprefix(base).split("?")[0].rsplit("/", 1)[-1]
            timings[hook].append(time.perf_counter() - start)
            assert answer.status == 200, (url, answer.status)
            return answer

        call.post = timed
        await call.dial()
        await call.press("2")
        for _ in range(int(args.hold / args.poll_every)):
            await call.hold()
            await asyncio.sleep(args.poll_every)
        await call.hang_up()

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(one(n, session) for n in range(args.calls)))
    return timings


def report(
    label: str,
    timings: dict[str, list[float]],
    elapsed: float,
    cpu: float,
    calls: int,
    kernel: float,
) -> None:
    every = [t for values in timings.values() for t in values]
    print(
        f"[{label}] {calls} calls, {len(every)} webhooks in {elapsed:.1f} s "
        f"({len(every) / elapsed:.0f}/s); service CPU {cpu / calls * 1000:.1f} ms per call "
        f"({kernel / cpu:.0%} in the kernel), {cpu / len(every) * 1000:.2f} ms per webhook"
    )
    for hook, values in [*sorted(timings.items()), ("all", every)]:
        q = statistics.quantiles(values, n=100)
        p50, p99, top = statistics.median(values) * 1000, q[98] * 1000, max(values) * 1000
        print(
            f"[{label}]   {hook:9s} n={len(values):5d}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
            f"  max {top:6.1f} ms"
        )


async def floor(service, label: str, seconds: float = 5.0, clients: int = 10) -> None:  # type: ignore[no-untyped-def]
    """The fixed cost of a request, as a client sees it: CPU per `GET /healthz` (no database),
    and per signed status callback for a call the service never saw (the form, its signature,
    one SELECT and an empty TwiML answer): what every webhook costs before its own work."""
    validator = _simulator().RequestValidator(TOKEN)
    form = {"CallSid": "CA" + "f" * 32, "CallStatus": "completed"}
    url = f"{service.base}/twilio/voice/status"
    signature = validator.compute_signature(url, form)
    async with aiohttp.ClientSession() as session:

        async def health() -> None:
            async with session.get(f"{service.base}/healthz") as response:
                await response.read()

        async def webhook() -> None:
            headers = {"X-Twilio-Signature": signature}
            async with session.post(url, data=form, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status

        for name, request in (("GET /healthz", health), ("signed webhook, 1 SELECT", webhook)):
            done = 0

            async def client(request=request) -> None:  # type: ignore[no-untyped-def]
                nonlocal done
                end = time.perf_counter() + seconds
                while time.perf_counter() < end:
                    await request()
                    done += 1

            before = service.cpu_seconds()
            await asyncio.gather(*(client() for _ in range(clients)))
            cpu = service.cpu_seconds() - before
            print(f"[{label}, floor] {name}: {done} requests, {cpu / done * 1000:.3f} ms CPU each")


async def bench(label: str, database_url: str, args: argparse.Namespace) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {
        "CONTACTCENTER_TWILIO_AUTH_TOKEN": TOKEN,
        "CONTACTCENTER_PUBLIC_URL": base,
    }
    async with served(database_url, settings, port, workers=args.workers) as service:
        if args.floor:
            await floor(service, label)
        for rate in args.rates or [args.calls / args.ramp]:
            calls = round(rate * args.ramp)
            run = argparse.Namespace(**{**vars(args), "calls": calls})
            out = f"{args.profile}-{label}-{rate:g}.txt" if args.profile else None
            async with service.profiled(out, args.ramp):
                workers = args.workers > 1
                (user, system) = service.cpu_split(workers=workers)
                start = time.perf_counter()
                timings = await run_calls(service.base, run)
                after = service.cpu_split(workers=workers)
                cpu, kernel = after[0] - user + after[1] - system, after[1] - system
            elapsed = time.perf_counter() - start
            shape = f"{label}, {args.workers} workers" if args.workers > 1 else label
            report(f"{shape}, {rate:g} calls/s", timings, elapsed, cpu, calls, kernel)


async def main_async(args: argparse.Namespace) -> None:
    async for label, url in databases(args.backend, "voice"):
        await bench(label, url, args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--ramp", type=float, default=20.0, help="seconds over which calls start")
    parser.add_argument("--hold", type=float, default=30.0, help="seconds each call holds")
    parser.add_argument("--poll-every", type=float, default=5.0, help="seconds between waitUrl")
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        help="new calls a second, one run each over --ramp seconds (e.g. 5,10,20); "
        "instead of --calls",
    )
    parser.add_argument(
        "--profile", metavar="PREFIX", help="py-spy samples the service: PREFIX-BACKEND-RATE.txt"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--workers", type=int, default=1, help="serve --workers N (PostgreSQL; CPU of them all)"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="first, the CPU of a request with no work and of a webhook with one SELECT",
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.calls} calls started over {args.ramp:g} s, "
        f"each holding {args.hold:g} s with a waitUrl every {args.poll_every:g} s"
    )
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
