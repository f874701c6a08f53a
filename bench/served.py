"""What the benchmarks that drive a real `contactcenter serve` share: a fresh database per
backend (a temporary SQLite file, or a new PostgreSQL database dropped afterwards) and the
service as a subprocess, ready when its /readyz says so."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command() -> str:
    found = shutil.which("contactcenter", path=str(Path(sys.executable).parent))
    assert found, "contactcenter is not installed in this environment"
    return found


def _cpu(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far; nothing for one gone meanwhile."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, from each process's parent in /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Service:
    base: str
    process: asyncio.subprocess.Process
    env: dict[str, str]  # what the service was started with: the CLI's commands reach its data

    async def run(self, *args: str, stdin: str = "") -> str:
        """`contactcenter ARGS` against the service's database; what it printed."""
        process = await asyncio.create_subprocess_exec(
            command(),
            *args,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await process.communicate(stdin.encode())
        assert process.returncode == 0, err.decode()
        return out.decode()

    async def api_token(self) -> str:
        """A new admin login with an API token; the token."""
        name = f"bench{uuid.uuid4().hex[:6]}"
        printed = await self.run(
            "createuser", name, "--role", "admin", "--token", name, stdin="a long password\n"
        )
        return printed.strip().rsplit(" ", 1)[-1]

    def cpu_seconds(self, *, workers: bool = False) -> float:
        """User and system CPU time the service process has used so far; with `workers`, its
        child processes' too (mail is read in worker processes), those still running."""
        pids = [self.process.pid, *(_descendants(self.process.pid) if workers else [])]
        return sum(sum(_cpu(pid)) for pid in pids)

    @contextlib.asynccontextmanager
    async def profiled(self, out: str | None, seconds: float) -> AsyncIterator[None]:
        """With `out`, py-spy samples the service for `seconds` while the block runs and
        writes the collapsed stacks there (`py-spy record --format raw`); else nothing."""
        if not out:
            yield
            return
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        recording = await asyncio.create_subprocess_exec(
            spy,
            "record",
            "--pid",
            str(self.process.pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            out,
            "--nonblocking",
            "--subprocesses",  # the workers of `serve --workers N`, the mail readers
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            await recording.wait()

    def cpu_split(self, *, workers: bool = False) -> tuple[float, float]:
        """(user, system) CPU seconds of the service process so far (with `workers`, of its
        child processes too: `serve --workers N` runs the service in them)."""
        pids = [self.process.pid, *(_descendants(self.process.pid) if workers else [])]
        user, system = zip(*(_cpu(pid) for pid in pids), strict=True)
        return sum(user), sum(system)

    def rss_kib(self) -> int:
        """The service process's resident memory now, in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS for the service process")


async def databases(backend: str, prefix: str) -> AsyncIterator[tuple[str, str]]:
    """(label, DATABASE_URL) for each backend asked for: "sqlite", "postgresql" or "both"."""
    if backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            yield "sqlite", f"sqlite:///{Path(tmp) / f'{prefix}.db'}"
    if backend in ("postgresql", "both"):
        base = os.environ.get(
            "CONTACTCENTER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
        admin = make_url(base).set(drivername="postgresql")
        name = f"cc_{prefix}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(admin.render_as_string(False))
        await conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield "postgresql", admin.set(database=name).render_as_string(False)
        finally:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await conn.close()


@contextlib.asynccontextmanager
async def served(
    database_url: str,
    settings: dict[str, str],
    port: int | None = None,
    program: list[str] | None = None,
    workers: int = 1,
) -> AsyncIterator[Service]:
    """`contactcenter serve` on `port` (a free one by default) with `settings` (CONTACTCENTER_*
    variables) and a temporary data directory; PostgreSQL is migrated first. `program` runs
    instead of `contactcenter serve --port PORT` (it is given the port as its last argument);
    `workers` > 1 serves with `--workers`."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = os.environ | {
            "DATABASE_URL": database_url,
            "CONTACTCENTER_DATA_DIR": data,
            "CONTACTCENTER_LOG_LEVEL": "warning",
            **settings,
        }
        # CONTACTCENTER_BENCH_SERVICE_LOG=FILE keeps what the service writes, to look into a run.
        keep = os.environ.get("CONTACTCENTER_BENCH_SERVICE_LOG")
        sink = open(keep, "ab") if keep else subprocess.DEVNULL  # noqa: ASYNC230, SIM115
        quiet = {"stdout": sink, "stderr": sink}
        if database_url.startswith("postgresql"):
            migrating = await asyncio.create_subprocess_exec(command(), "migrate", env=env, **quiet)
            assert await migrating.wait() == 0, "contactcenter migrate failed"
        argv = [*program, str(port)] if program else [command(), "serve", "--port", str(port)]
        if workers > 1 and not program:
            argv[2:2] = ["--workers", str(workers)]
        process = await asyncio.create_subprocess_exec(*argv, env=env, **quiet)
        try:
            await _ready(base, process)
            yield Service(base, process, env)
        finally:
            process.terminate()
            await process.wait()


async def _ready(base: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.returncode is not None:
                raise RuntimeError("contactcenter serve exited")
            with contextlib.suppress(aiohttp.ClientError):  # not listening yet
                async with session.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("contactcenter serve did not become ready")
