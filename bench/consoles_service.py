"""The service for bench/consoles.py: the app exactly as `contactcenter serve` builds it, plus one
route of the benchmark's own, `POST /bench/publish`, which publishes events on the service's
event bus at a steady rate, each stamped with the time it was published. Consoles then measure
the fan-out alone (bus → outlets → sockets → consoles), apart from what producing an event costs.

    python -m bench.consoles_service PORT     (settings from the environment, as for serve)
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import ClassVar

from aiohttp import web

from contactcenter.app import create_app
from contactcenter.cli import _ensure_schema
from contactcenter.events import Event
from contactcenter.runtime.gc_tuning import tune_gc
from contactcenter.runtime.logs import configure
from contactcenter.settings import load_settings
from contactcenter.web.endpoints import SERVICES
from contactcenter.wiring import Services

RUNNING: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("bench_running")


@dataclass(frozen=True, kw_only=True)
class Tick(Event):
    """The benchmark's own event: for one agent, stamped when published."""

    type: ClassVar[str] = "bench.tick"
    agent_id: int
    n: int
    padding: str
    sent_at: float


async def publish(request: web.Request) -> web.Response:
    """?rate=100&seconds=20&agents=1,2,3&bytes=400: one event at a time for each agent in
    turn, padded to about `bytes` when encoded."""
    rate, seconds = float(request.query["rate"]), float(request.query["seconds"])
    padding = "x" * max(0, int(request.query.get("bytes", "0")) - 110)
    agents = [int(a) for a in request.query["agents"].split(",")]
    bus = request.app[SERVICES].bus

    async def run() -> None:
        n, begin = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - begin) < seconds:
            while n < int(elapsed * rate) + 1:
                bus.publish(
                    Tick(
                        agent_id=agents[n % len(agents)],
                        n=n,
                        padding=padding,
                        sent_at=time.time(),
                    )
                )
                n += 1
            await asyncio.sleep(0.002)

    task = asyncio.create_task(run())
    request.app[RUNNING].add(task)
    task.add_done_callback(request.app[RUNNING].discard)
    return web.json_response({"publishing": rate * seconds})


async def main(port: int) -> None:
    settings = load_settings()
    configure(settings.log_level)
    services = Services.build(settings)
    await _ensure_schema(services)
    app = create_app(settings, services)
    app[RUNNING] = set()
    app.router.add_post("/bench/publish", publish)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    tune_gc()
    asyncio.run(main(int(sys.argv[1])))
