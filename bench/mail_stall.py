"""Does a stranger's mail freeze the service? `/healthz` timed while hostile mails arrive.

Starts `contactcenter serve` with its SMTP receiver, then polls `/healthz` every 10 ms from
this process while it delivers, over SMTP, mails that once took the event loop seconds each to
read (16 KB of blank lines, 10 KB of quotes in Content-Type folded as SMTP carries them, an
unclosed HTML comment over 100 KB, 1,000 nested multiparts), `--rounds` times each, between
ordinary mails. Prints /healthz latency (p50, p99, max) before and during the delivery, the
mails' SMTP answer times, and the service's CPU per mail.

    .venv/bin/python -m bench.mail_stall [--backend sqlite|postgresql|both] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time

import aiohttp
import aiosmtplib

from bench.served import databases, free_port, served

HEAD = b"From: eve@example.org\r\nTo: support@example.com\r\nSubject: %s\r\n"
HOSTILE = {
    "blank lines": HEAD % b"blank" + b"\r\nhi" + b"\r\n" * 16_000 + b"end\r\n",
    "quotes": HEAD % b"quotes"
    + b"Content-Type: text/plain; "
    + b"\r\n ".join([b'"' * 800] * 13)
    + b"\r\n\r\nhi\r\n",
    "html comment": HEAD % b"comment"
    + b"Content-Type: text/html\r\n\r\n<!--"
    + b"\r\n".join([b"<a" * 400] * 125)
    + b"\r\n",
    "nesting": HEAD % b"nested"
    + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(1000)
    ),
}
ORDINARY = HEAD % b"Order 1001" + b"\r\nMy order has not arrived yet.\r\n"


def line(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"  {label:<28} n={len(ordered):<5} p50 {statistics.median(ordered) * 1000:7.1f} ms"
        f"  p99 {p99 * 1000:7.1f} ms  max {ordered[-1] * 1000:7.1f} ms"
    )


async def poll(base: str, stop: asyncio.Event, out: list[float]) -> None:
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            started = time.perf_counter()
            async with session.get(f"{base}/healthz") as answer:
                await answer.read()
            out.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)


async def run(label: str, database_url: str, rounds: int) -> None:
    port = free_port()
    settings = {"CONTACTCENTER_SMTP_PORT": str(port), "CONTACTCENTER_SEMANTIC_SEARCH": "false"}
    async with served(database_url, settings) as service:
        quiet: list[float] = []
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(service.base, stop, quiet))
        await asyncio.sleep(2)
        stop.set()
        await polling
        busy: list[float] = []
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(service.base, stop, busy))
        cpu = service.cpu_seconds(workers=True)
        answers: dict[str, list[float]] = {name: [] for name in [*HOSTILE, "ordinary"]}
        for _ in range(rounds):
            for name, raw in [*HOSTILE.items(), ("ordinary", ORDINARY)]:
                started = time.perf_counter()
                await aiosmtplib.send(
                    raw,
                    sender="eve@example.org",
                    recipients=["support@example.com"],
                    hostname="127.0.0.1",
                    port=port,
                )
                answers[name].append(time.perf_counter() - started)
        await asyncio.sleep(1)  # reading may go on after the 250
        used = service.cpu_seconds(workers=True) - cpu
        stop.set()
        await polling
        mails = rounds * (len(HOSTILE) + 1)
        print(f"{label}: {mails} mails over SMTP, one session at a time")
        print(line("/healthz before", quiet))
        print(line("/healthz while mail arrives", busy))
        for name, times in answers.items():
            print(line(f"SMTP answer: {name}", times))
        print(
            f"  service CPU {used / mails * 1000:.1f} ms a mail (the service and its mail"
            " reading workers)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"mail_stall on {platform.node()}, Python {platform.python_version()}")
    async for label, url in databases(args.backend, "mailstall"):
        await run(label, url, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
