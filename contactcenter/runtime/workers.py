"""`serve --workers N`: N instances of the service on one machine, sharing its ports.

Each worker is a whole instance (`contactcenter serve` with SO_REUSEPORT): the kernel spreads
connections over them, one of them leads (routes the queue, runs the periodic jobs) and the
others hand it their work through PostgreSQL. This process only watches: a worker that exits
without being asked is started again after a second (one that exits within `SETTLE_SECONDS` of
its start cannot start at all, a wrong setting say: then every worker is stopped and its exit
code returned); SIGTERM or SIGINT is passed on to every worker, which finishes its requests and
stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

import structlog

log = structlog.get_logger(__name__)
RESTART_PAUSE = 1.0
SETTLE_SECONDS = 10.0


class Workers:
    def __init__(self, *, count: int, argv: Sequence[str], grace_seconds: float) -> None:
        self.count = count
        self.argv = list(argv)  # the worker's command line
        self.grace_seconds = grace_seconds
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._started: dict[int, float] = {}
        self._stopping = False

    def run(self) -> int:
        """Run until told to stop; 0 once every worker has stopped (a worker's exit code if
        one could not start)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        env = os.environ | {"CONTACTCENTER_REUSE_PORT": "true"}
        for slot in range(self.count):
            self._start(slot, env)
        failed = 0
        while not self._stopping:
            for slot, child in list(self._children.items()):
                code = child.poll()
                if code is None or self._stopping:
                    continue
                log.warning("workers.exited", worker=slot, pid=child.pid, code=code)
                if time.monotonic() - self._started[slot] < SETTLE_SECONDS:
                    self._stopping, failed = True, code or 1
                    break
                time.sleep(RESTART_PAUSE)
                if not self._stopping:
                    self._start(slot, env)
            time.sleep(0.2)
        self._stop_all()
        return failed

    def _start(self, slot: int, env: dict[str, str]) -> None:
        child = subprocess.Popen(self.argv, env=env)
        self._children[slot] = child
        self._started[slot] = time.monotonic()
        log.info("workers.started", worker=slot, pid=child.pid)

    def _stop(self, _signum: int, _frame: object) -> None:
        self._stopping = True

    def _stop_all(self) -> None:
        for child in self._children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds + 5
        for child in self._children.values():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def worker_argv(host: str, port: int) -> list[str]:
    """The command line of one worker: this same program, serving without --workers."""
    return [sys.executable, "-m", "contactcenter.cli", "serve", "--host", host, "--port", str(port)]
