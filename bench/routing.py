"""Benchmark: the routing engine alone (pure, no I/O).

    .venv/bin/python bench/routing.py [--agents 10000] [--groups 50]

Agents are spread over the groups (each agent in one group, every fifth in a second), with voice,
chat and email work routed by tier and by a `team` attribute to one group each. Two figures:

1. assignments per second at steady state: agents complete interactions, the engine offers the
   next waiting ones, they are accepted, new interactions are queued to keep the depth, and the
   engine's timers run (overflows, SLA warnings, offer timeouts) as the service runs them; the
   time covers all of it;
2. time per assignment with 1,000, 10,000 and 100,000 interactions queued (kept at that depth),
   to show how it grows with queue depth. The simulated clock moves so that work waits 20 s on
   average at every depth (Little's law: wait = depth / assignments per second), so that each
   interaction meets the same timers and only the depth changes.

3. through the service, on SQLite and PostgreSQL: interactions enqueued the way channels enqueue
   them (`InteractionQueue.enqueue`: stored as queued, routed, the offer stored and published),
   with 50 agents available; enqueued and offered per second by one producer and by 50 at once
   (arrivals that come together are stored together), and the enqueue-to-offer latency at 200
   interactions per second, each arriving on its own on a fixed schedule (from each one's slot to
   its published offer, so a queue that falls behind shows it). This part runs with the
   collector thresholds `contactcenter serve` sets.

    .venv/bin/python bench/routing.py [--part engine|service|both]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time

# This file is named like the package it measures; drop its own folder from the import path so
# that `routing` is the installed engine, not this script.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import asyncio  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from contactcenter.customers.records import CustomerRecords  # noqa: E402
from contactcenter.events import EventBus, Offered  # noqa: E402
from contactcenter.interactions.records import InteractionRecords  # noqa: E402
from contactcenter.model import Channel  # noqa: E402
from contactcenter.model import Presence as AgentPresence  # noqa: E402
from contactcenter.people.agents import AgentDirectory, AgentFields, GroupFields  # noqa: E402
from contactcenter.queue.core import InteractionQueue  # noqa: E402
from contactcenter.runtime import logs  # noqa: E402
from contactcenter.runtime.gc_tuning import GC_THRESHOLDS  # noqa: E402
from contactcenter.settings import normalize_database_url  # noqa: E402
from contactcenter.store.db import Database  # noqa: E402
from contactcenter.store.migrate import migrate  # noqa: E402
from routing.engine import Engine  # noqa: E402
from routing.policy import load_policy, parse_policy  # noqa: E402
from routing.types import AgentSpec, Decision, Offer, Presence, WorkItem  # noqa: E402

CHANNELS = ["voice", "chat", "email"]
DRAW_MASK = (1 << 16) - 1
MEAN_WAIT = 20.0  # seconds, simulated


def policy_text(groups: int) -> str:
    names = [f"g{n}" for n in range(groups)]
    rules = "\n".join(
        f"  - match: {{team: {name}}}\n    targets:\n"
        f"      - {{group: {name}, min_level: 2, timeout: 60}}\n      - {{group: {name}}}"
        for name in names
    )
    return f"""
aging: {{points_per_minute: 2}}
offers: {{timeout_seconds: {{voice: 20, chat: 30, email: 120, fax: 120}}}}
groups: [{", ".join(names)}]
tiers:
  key_account: {{priority: 200, sla: {{voice: {{percent: 90, seconds: 20}}}}}}
  relationship: {{priority: 100}}
  transactional: {{priority: 0}}
rules:
{rules}
  - targets: [{{group: g0}}]
"""


class Run:
    def __init__(self, agents: int, groups: int, seed: int = 3) -> None:
        self.rng = random.Random(seed)
        self.groups = groups
        self.engine = Engine(parse_policy(policy_text(groups), "bench"))
        self.now = 0.0
        self.step = 0.001  # simulated seconds per assignment; set by `fill`
        self.count = 0
        self.active: list[str] = []  # accepted items
        self.assigned = 0  # offers made (and accepted)
        # Random draws made up front, so that the timed part is the engine's work, not the RNG.
        tiers = ["key_account", "relationship", "transactional", "transactional"]
        self.draws = [
            (
                self.rng.choice(tiers),
                self.rng.choice(CHANNELS),
                {"team": f"g{self.rng.randrange(groups)}"},
            )
            for _ in range(DRAW_MASK + 1)
        ]
        self.picks = [self.rng.random() for _ in range(DRAW_MASK + 1)]
        self.cycles = 0
        for n in range(agents):
            home = n % groups
            member = {f"g{home}": 1 + n % 3}
            if n % 5 == 0:
                member[f"g{(home + 1) % groups}"] = 1
            spec = AgentSpec(str(n), member, frozenset(), {"voice": 1, "chat": 2, "email": 3})
            self.engine.upsert_agent(spec, self.now)

    def work(self) -> WorkItem:
        self.count += 1
        tier, channel, attributes = self.draws[self.count & DRAW_MASK]
        return WorkItem(str(self.count), channel, tier, self.now, attributes)

    def accept_all(self, decisions: list[Decision]) -> None:
        for d in decisions:
            if isinstance(d, Offer):
                self.engine.accept(d.item_id, d.agent_id, self.now)
                self.active.append(d.item_id)
                self.assigned += 1

    def fill(self, queued: int) -> None:
        """Every agent available and busy, then `queued` interactions waiting, arriving as
        fast as they are served later."""
        self.step = MEAN_WAIT / queued
        for agent_id in list(self.engine.agents):
            self.accept_all(self.engine.set_presence(agent_id, Presence.AVAILABLE, self.now))
        while self.engine.waiting() < queued:
            self.now += self.step
            self.accept_all(self.engine.enqueue(self.work(), self.now))

    def cycle(self, depth: int) -> None:
        """One agent completes; the next waiting work is offered and accepted; new work queues
        until `depth` items wait again (one, or more when some was offered at once)."""
        self.cycles += 1
        index = int(self.picks[self.cycles & DRAW_MASK] * len(self.active))
        self.active[index], self.active[-1] = self.active[-1], self.active[index]
        item_id = self.active.pop()
        self.now += self.step
        self.accept_all(self.engine.complete(item_id, self.now))
        self.accept_all(self.engine.tick(self.now))  # as the service does when timers are due
        while self.engine.waiting() < depth:
            self.accept_all(self.engine.enqueue(self.work(), self.now))


def per_assignment(agents: int, groups: int, queued: int, cycles: int) -> list[float]:
    """Time per assignment, cycle by cycle (a cycle's time over the offers it made)."""
    run = Run(agents, groups)
    run.fill(queued)
    gc.collect()
    samples = []
    carried = 0.0  # time of cycles that made no offer, charged to the next that does
    for _ in range(cycles):
        before = run.assigned
        start = time.perf_counter()
        run.cycle(queued)
        carried += time.perf_counter() - start
        made = run.assigned - before
        if made:
            samples.extend([carried / made] * made)
            carried = 0.0
    return samples


async def prepare(url: str, agents: int) -> tuple[InteractionQueue, list, EventBus, Database]:
    db = Database(url=url)
    await migrate(db)
    directory = AgentDirectory(db)
    group = (await directory.create_group(GroupFields(name="general")))["id"]
    bus = EventBus(subscriber_limit=100_000)
    queue = InteractionQueue(
        db=db,
        interactions=InteractionRecords(db=db),
        agents=directory,
        policy=load_policy(),
        bus=bus,
    )
    await queue.start()
    for n in range(agents):
        agent = await directory.create_agent(
            AgentFields.model_validate(
                {"name": f"agent {n}", "groups": [{"group_id": group}], "capacity": {"email": 50}}
            )
        )
        await queue.set_presence(agent["id"], AgentPresence.AVAILABLE)
    records = CustomerRecords(db=db)
    customers = [(await records.resolve("email", f"c{n}@example.com")).customer for n in range(200)]
    return queue, customers, bus, db


async def free_room(queue: InteractionQueue, made: list[int]) -> None:
    """Take the offered work off the agents again, for the next figure."""
    for interaction in made:
        found = queue.routed(interaction)
        if found and found.state == "offered":
            await queue.abandon(interaction)


async def back_to_back(
    label: str, queue: InteractionQueue, customers: list, count: int, producers: int
) -> None:
    """`producers` channels enqueue at once, each as fast as its enqueues return."""

    async def produce(first: int) -> list[int]:
        return [
            await queue.enqueue(customers[n % len(customers)], Channel.EMAIL)
            for n in range(first, count, producers)
        ]

    start = time.perf_counter()
    made = [i for batch in await asyncio.gather(*map(produce, range(producers))) for i in batch]
    elapsed = time.perf_counter() - start
    await free_room(queue, made)
    print(
        f"[{label}] {count} enqueued and offered by {producers} producer(s) in {elapsed:.2f} s"
        f" = {count / elapsed:,.0f}/s"
    )


async def run_service(label: str, url: str, count: int, producers: int) -> None:
    queue, customers, bus, db = await prepare(url, 50)  # room for 2,500 at once
    for many in (1, producers):
        await back_to_back(label, queue, customers, count, many)

    rate, seconds = 200, 5
    offered_at: dict[int, float] = {}
    async with bus.subscribe() as events:

        async def listen() -> None:
            async for event in events:
                if isinstance(event, Offered):
                    offered_at[event.interaction_id] = time.perf_counter()

        listener = asyncio.create_task(listen())
        due: dict[int, float] = {}

        async def arrive(n: int, slot: float) -> None:
            due[await queue.enqueue(customers[n % len(customers)], Channel.EMAIL)] = slot

        arrivals = []
        begin = time.perf_counter()
        for n in range(rate * seconds):  # each arrival on its own, as webhooks come
            slot = begin + n / rate
            delay = slot - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            arrivals.append(asyncio.create_task(arrive(n, slot)))
        await asyncio.gather(*arrivals)
        await asyncio.sleep(0.2)
        listener.cancel()
    latencies = sorted(offered_at[i] - slot for i, slot in due.items() if i in offered_at)
    q = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies) * 1000, q[98] * 1000
    print(
        f"[{label}] at {rate}/s for {seconds} s: {len(latencies)} offered, "
        f"enqueue-to-offer p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    await queue.stop()
    await db.dispose()


async def service(count: int, producers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = f"sqlite+aiosqlite:///{Path(tmp) / 'q.db'}"
        await run_service("sqlite", path, count, producers)
    base = os.environ.get(
        "CONTACTCENTER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    admin = make_url(normalize_database_url(base)).set(drivername="postgresql")
    name = f"cc_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin.render_as_string(False))
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(normalize_database_url(base)).set(database=name)
        await run_service("postgresql", url.render_as_string(False), count, producers)
    finally:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["engine", "service", "both"], default="both")
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=50_000)
    parser.add_argument("--count", type=int, default=2000, help="service: interactions")
    parser.add_argument(
        "--producers", type=int, default=50, help="service: channels enqueuing at once"
    )
    parser.add_argument(
        "--gc",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        default=GC_THRESHOLDS,
        help="service: the collector thresholds to run with (default: the service's)",
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    if args.part in ("engine", "both"):
        engine(args)
    if args.part in ("service", "both"):
        gc.collect()
        gc.set_threshold(*args.gc)  # by default as `contactcenter serve` runs
        print(f"service: collector thresholds {args.gc}")
        logs.configure("warning")
        asyncio.run(service(args.count, args.producers))


def engine(args: argparse.Namespace) -> None:
    print(f"engine: {args.agents} agents in {args.groups} groups, voice/chat/email")

    for label, thresholds in (
        ("Python's default", gc.get_threshold()),
        ("the service's", GC_THRESHOLDS),
    ):
        gc.set_threshold(*thresholds)
        run = Run(args.agents, args.groups)
        run.fill(20_000)
        gc.collect()  # the previous figure's engine is garbage now; not this figure's to collect
        before = run.assigned
        start = time.perf_counter()
        for _ in range(args.cycles):
            run.cycle(20_000)
        elapsed = time.perf_counter() - start
        made = run.assigned - before
        print(
            f"steady state, 20,000 queued, {label} GC thresholds {thresholds}: {made:,} "
            f"assignments in {elapsed:.2f} s = {made / elapsed:,.0f} assignments/s "
            f"(each with its enqueue, offer, accept and complete)"
        )

    medians = {}
    for queued in (1_000, 10_000, 100_000):
        samples = per_assignment(args.agents, args.groups, queued, 20_000)
        medians[queued] = statistics.median(samples)
        q = statistics.quantiles(samples, n=100)
        print(
            f"queued {queued:>7,}: per assignment p50 {medians[queued] * 1e6:.1f} us, "
            f"p99 {q[98] * 1e6:.1f} us"
        )
    print(
        f"growth per 10x queued: {medians[10_000] / medians[1_000]:.2f}x (1k->10k), "
        f"{medians[100_000] / medians[10_000]:.2f}x (10k->100k)"
    )


if __name__ == "__main__":
    main()
