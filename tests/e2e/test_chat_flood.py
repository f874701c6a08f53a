"""A flood of chat connections from one address against a running `contactcenter serve --demo`
on both backends (bench/chat_flood.py in another process: 300 sockets, 50 frames a second each):
the visitors of other addresses keep getting the bot's answers, and the flood creates no
customers. The answer times are printed (bench/RESULTS.md has the measured figures); the test
fails only on a question left unanswered for 10 s."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.chat_flood import others, percentiles

from .test_serve import _env, _free_port, _run, _wait_healthy

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _customers(env: dict[str, str]) -> int:
    """How many customers there are, as `contactcenter customers export` counts them."""
    exported = _run(env, "customers", "export")
    assert exported.returncode == 0, exported.stderr
    return len(exported.stdout.strip().splitlines()) - 1


@pytest.fixture
def demo(tmp_path: Path, database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """`contactcenter serve --demo` running: its base URL and environment."""
    env = _env(tmp_path, database_url, CONTACTCENTER_SEMANTIC_SEARCH="false")
    if "postgresql" in database_url:
        assert _run(env, "migrate").returncode == 0
    port = _free_port()
    service = subprocess.Popen(
        [sys.executable, "-m", "contactcenter.cli", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_healthy(port, service)
        yield f"http://127.0.0.1:{port}", env
    finally:
        service.kill()
        service.wait()


async def test_a_flood_from_one_address_leaves_others_answered_and_no_junk_customers(
    demo: tuple[str, dict[str, str]],
) -> None:
    base, env = demo
    before = _customers(env)
    flood = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.chat_flood",
        "--url",
        base,
        "--flood-only",
        "--connections",
        "300",
        "--rate",
        "50",
        "--seconds",
        "8",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(1.5)
    waits, unanswered = await others(f"{base}/chat/ws", count=5, seconds=5, address="127.0.0.2")
    out, _ = await flood.communicate()
    tally = json.loads(out.decode().strip().splitlines()[-1])
    print(f"others during the flood: {percentiles(waits)}; flood: {tally}")
    assert unanswered == [] and len(waits) >= 5
    assert tally["refused"] > 0  # the flood was held back
    assert _customers(env) == before + 5  # the five others, who spoke; no junk
