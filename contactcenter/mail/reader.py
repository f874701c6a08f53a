"""Mail read in worker processes with a deadline, never on the event loop.

`parse_mail` is pure and bounded, but reading is still CPU work that grows with the mail (a
25 MB attachment to decode), and a stranger's bytes may yet find a slow path nobody has seen.
So the mails of a batch go to a worker process together; when a batch is not read within its
deadline the workers are killed and replaced, and each mail of the batch is read alone, so that
only the slow one is given up on: it comes back as a `ParsedMail` with no sender and the reason
in its problems, which the intake quarantines. Calls and chats keep the loop meanwhile.

The workers are forked from a fork server that has imported the parser once (a fork of the
service itself would copy its threads' locks), and are shared by every reader of the process.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.pool import Pool

import structlog

from contactcenter.mail.parse import ParsedMail, parse_mail

log = structlog.get_logger(__name__)
_pool: Pool | None = None  # shared by every reader of the process
_starting = threading.Lock()  # pools are started on threads: one at a time


def read_all(raws: list[bytes]) -> list[ParsedMail]:
    """What a worker runs: every mail of a batch, in order."""
    return [parse_mail(raw) for raw in raws]


def too_slow(raw: bytes, seconds: float) -> ParsedMail:
    """The mail given up on: no sender, so it is quarantined with this reason."""
    digest = hashlib.sha256(raw).hexdigest()
    return ParsedMail(
        message_id=f"{digest[:32]}@no-message-id",
        in_reply_to=[],
        references=[],
        subject="",
        sender=None,
        sender_name="",
        recipients=[],
        date=None,
        text="",
        new_text="",
        attachments=[],
        do_not_answer="not read",
        digest=digest,
        content_digest=digest,
        problems=[f"not read within {seconds:g} s: the mail was given up on"],
    )


class MailReader:
    """Reads raw mails in worker processes: `read` for one, `read_many` for a batch."""

    def __init__(
        self,
        *,
        seconds: float = 10.0,
        seconds_per_mb: float = 2.0,
        worker: Callable[[list[bytes]], list[ParsedMail]] = read_all,
    ) -> None:
        self.seconds = seconds
        self.seconds_per_mb = seconds_per_mb
        self.worker = worker  # a module-level function: the workers import it by name

    def deadline(self, raws: list[bytes]) -> float:
        """Time a batch gets: the base time, and more for each megabyte it holds."""
        size = sum(len(raw) for raw in raws)
        return self.seconds + self.seconds_per_mb * size / 1_000_000

    async def start(self) -> None:
        """Start the workers now, off the loop, so that the first mail does not wait for them
        (the fork server imports the parser once: a second or two)."""
        await asyncio.to_thread(_shared_pool)

    async def read(self, raw: bytes) -> ParsedMail:
        [mail] = await self.read_many([raw])
        return mail

    async def read_many(self, raws: list[bytes]) -> list[ParsedMail]:
        """Each mail read, in order; one not read in time comes back given up on (`too_slow`)."""
        if not raws:
            return []
        found = await self._in_worker(raws)
        if found is not None:
            return found
        if len(raws) == 1:
            seconds = self.deadline(raws)
            log.warning("email.read_too_slow", seconds=seconds, size=len(raws[0]))
            return [too_slow(raws[0], seconds)]
        return [mail for raw in raws for mail in await self.read_many([raw])]

    async def _in_worker(self, raws: list[bytes]) -> list[ParsedMail] | None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[ParsedMail]] = loop.create_future()

        def settle(result: object, failed: bool) -> None:
            if not done.done():
                if failed:
                    done.set_exception(result)  # type: ignore[arg-type]
                else:
                    done.set_result(result)  # type: ignore[arg-type]

        pool = _pool if _pool is not None else await asyncio.to_thread(_shared_pool)
        pool.apply_async(
            self.worker,
            (raws,),
            callback=lambda r: loop.call_soon_threadsafe(settle, r, False),
            error_callback=lambda e: loop.call_soon_threadsafe(settle, e, True),
        )
        try:
            return await asyncio.wait_for(done, self.deadline(raws))
        except TimeoutError:
            _kill_pool(pool)
            return None


def _shared_pool() -> Pool:
    global _pool
    with _starting:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["contactcenter.mail.parse"])
            _pool = context.Pool(processes=min(2, os.cpu_count() or 1))
            atexit.register(_pool.terminate)
        return _pool


def _kill_pool(pool: Pool) -> None:
    """Kill the workers (one is stuck on a mail) and let the next read start new ones; the
    pool's own threads are joined off the loop."""
    global _pool
    if _pool is pool:
        _pool = None
    threading.Thread(target=pool.terminate, name="mail-reader-kill", daemon=True).start()
