"""Benchmark: the routing engine alone (pure, no I/O).

    .venv/bin/python bench/routing.py [--agents 10000] [--groups 50]

Agents are spread over the groups (each agent in one group, every fifth in a second), with voice,
chat and email work routed by tier and by a `team` attribute to one group each. Two figures:

1. assignments per second at steady state: agents complete interactions, the engine offers the
   next waiting ones, they are accepted, and new interactions are queued to keep the depth; the
   time covers all four events of each assignment;
2. time per assignment with 1,000, 10,000 and 100,000 interactions queued (kept at that depth),
   to show how it grows with queue depth.

The service half of the benchmark (enqueue to offer through the database) comes with the service
around the engine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time

# This file is named like the package it measures; drop its own folder from the import path so
# that `routing` is the installed engine, not this script.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

from routing.engine import Engine  # noqa: E402
from routing.policy import parse_policy  # noqa: E402
from routing.types import AgentSpec, Decision, Offer, Presence, WorkItem  # noqa: E402

CHANNELS = ["voice", "chat", "email"]


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
        self.count = 0
        self.active: list[str] = []  # accepted items
        self.assigned = 0  # offers made (and accepted)
        for n in range(agents):
            home = n % groups
            member = {f"g{home}": 1 + n % 3}
            if n % 5 == 0:
                member[f"g{(home + 1) % groups}"] = 1
            spec = AgentSpec(str(n), member, frozenset(), {"voice": 1, "chat": 2, "email": 3})
            self.engine.upsert_agent(spec, self.now)

    def work(self) -> WorkItem:
        self.count += 1
        tier = self.rng.choice(["key_account", "relationship", "transactional", "transactional"])
        team = f"g{self.rng.randrange(self.groups)}"
        return WorkItem(str(self.count), self.rng.choice(CHANNELS), tier, self.now, {"team": team})

    def accept_all(self, decisions: list[Decision]) -> None:
        for d in decisions:
            if isinstance(d, Offer):
                self.engine.accept(d.item_id, d.agent_id, self.now)
                self.active.append(d.item_id)
                self.assigned += 1

    def fill(self, queued: int) -> None:
        """Every agent available and busy, then `queued` interactions waiting."""
        for agent_id in list(self.engine.agents):
            self.accept_all(self.engine.set_presence(agent_id, Presence.AVAILABLE, self.now))
        while self.engine.waiting() < queued:
            self.now += 0.001
            self.accept_all(self.engine.enqueue(self.work(), self.now))

    def cycle(self, depth: int) -> None:
        """One agent completes; the next waiting work is offered and accepted; new work queues
        until `depth` items wait again (one, or more when some was offered at once)."""
        index = self.rng.randrange(len(self.active))
        self.active[index], self.active[-1] = self.active[-1], self.active[index]
        item_id = self.active.pop()
        self.now += 0.001
        self.accept_all(self.engine.complete(item_id, self.now))
        while self.engine.waiting() < depth:
            self.accept_all(self.engine.enqueue(self.work(), self.now))


def per_assignment(agents: int, groups: int, queued: int, cycles: int) -> list[float]:
    """Time per assignment, cycle by cycle (a cycle's time over the offers it made)."""
    run = Run(agents, groups)
    run.fill(queued)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=50_000)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"engine: {args.agents} agents in {args.groups} groups, voice/chat/email")

    run = Run(args.agents, args.groups)
    run.fill(20_000)
    before = run.assigned
    start = time.perf_counter()
    for _ in range(args.cycles):
        run.cycle(20_000)
    elapsed = time.perf_counter() - start
    made = run.assigned - before
    print(f"steady state, 20,000 queued: {made:,} assignments in {elapsed:.2f} s = "
          f"{made / elapsed:,.0f} assignments/s (each with its enqueue, offer, accept and "
          f"complete)")  # fmt: skip

    medians = {}
    for queued in (1_000, 10_000, 100_000):
        samples = per_assignment(args.agents, args.groups, queued, 20_000)
        medians[queued] = statistics.median(samples)
        q = statistics.quantiles(samples, n=100)
        print(f"queued {queued:>7,}: per assignment p50 {medians[queued] * 1e6:.1f} us, "
              f"p99 {q[98] * 1e6:.1f} us")  # fmt: skip
    print(f"growth per 10x queued: {medians[10_000] / medians[1_000]:.2f}x (1k->10k), "
          f"{medians[100_000] / medians[10_000]:.2f}x (10k->100k)")  # fmt: skip


if __name__ == "__main__":
    main()
