"""Benchmark: inbound mail over SMTP, from the client's DATA to the receiver's 250.

    .venv/bin/python bench/mail.py [--clients 50] [--messages 40]
                                    [--backend sqlite|postgresql|both]

A real `contactcenter serve` runs as a subprocess with its SMTP receiver on, and its outbox
relaying to an SMTP sink in this process (so that acknowledgements are really sent). `--clients`
SMTP clients (aiosmtplib) connect at once, each delivering `--messages` mails over its one
session, as a relay delivers a batch. The receiver answers 250 only when a mail is stored, parsed,
resolved to its customer, on the timeline and queued (or joined to its thread), so the
throughput is of that whole path. The mails are what a support address gets: three in five from
senders it has seen before, one in five a reply on the thread of an earlier one, one in ten with
a PDF attached, each with a quoted history. The receiver's per-client limits are raised, since
every client here comes from 127.0.0.1. Printed: messages per second, the latency of each mail,
the service's resident memory before and at its peak while the clients send, and a check that
every mail is in the inbox, processed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/routing.py shares its name with the routing engine: with this folder on the import path,
# `import routing` would find it. The folder is dropped, and its `served` helper loaded from its
# file. (This file was bench/email.py, which hid the standard library's `email` from every
# benchmark beside it.)
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from email.message import EmailMessage  # noqa: E402
from email.utils import make_msgid  # noqa: E402

import aiosmtplib  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from contactcenter.settings import normalize_database_url  # noqa: E402
from contactcenter.store.tables import mail_inbox  # noqa: E402


def _load_served():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("served", _HERE / "served.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_served = _load_served()
databases, free_port, served = _served.databases, _served.free_port, _served.served
SUPPORT = "support@example.com"
BODY = (
    "Hello,\n\nmy order {n} has not arrived yet and the tracking page has not changed since "
    "Monday. Could you check where it is and when I can expect it?\n\nThanks,\n{name}\n\n"
    "On Mon, Nov 23, 2026 at 9:00 AM Support <support@example.com> wrote:\n"
    "> Thank you for your order. It will be shipped within two working days.\n"
    "> Kind regards, the support team\n"
)


class _Sink:
    """The relay the service's outbox delivers acknowledgements to."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.count += 1
        return "250 OK"


def make_mail(n: int, rng: random.Random, sent: list[tuple[str, int]]) -> EmailMessage:
    """Mail number `n`; `sent` holds (Message-ID, sender) of those made before."""
    message = EmailMessage()
    message["To"] = SUPPORT
    message["Message-ID"] = make_msgid(domain="mail.example")
    if sent and rng.random() < 0.2:  # its sender answers the thread of an earlier mail
        earlier, person = sent[rng.randrange(len(sent))]
        message["Subject"] = "Re: Order has not arrived"
        message["In-Reply-To"] = earlier
        message["References"] = earlier
    else:
        known = sent and rng.random() < 0.6
        person = sent[rng.randrange(len(sent))][1] if known else n
        message["Subject"] = f"Order {10_000 + n} has not arrived"
    message["From"] = f"Customer {person} <customer{person}@mail.example>"
    message.set_content(BODY.format(n=10_000 + n, name=f"Customer {person}"))
    if rng.random() < 0.1:
        message.add_attachment(
            b"%PDF-1.4\n" + rng.randbytes(20_000),
            maintype="application",
            subtype="pdf",
            filename=f"receipt-{n}.pdf",
        )
    sent.append((message["Message-ID"], person))
    return message


async def send_all(port: int, clients: int, per_client: int) -> tuple[list[float], float]:
    rng = random.Random(7)
    sent: list[tuple[str, int]] = []
    batches = [
        [make_mail(c * per_client + i, rng, sent) for i in range(per_client)]
        for c in range(clients)
    ]
    latencies: list[float] = []
    go = asyncio.Event()

    async def client(batch: list[EmailMessage]) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=120) as smtp:
            await go.wait()
            for message in batch:
                start = time.perf_counter()
                await smtp.send_message(message)
                latencies.append(time.perf_counter() - start)

    tasks = [asyncio.create_task(client(b)) for b in batches]
    await asyncio.sleep(0.5)  # every session open before the first mail
    start = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    return latencies, time.perf_counter() - start


async def sample_memory(service, peak: list[int], stop: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    while not stop.is_set():
        peak[0] = max(peak[0], service.rss_kib())
        await asyncio.sleep(0.05)


async def processed(database_url: str) -> tuple[int, int]:
    engine = create_async_engine(normalize_database_url(database_url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(mail_inbox.c.status, func.count()).group_by(mail_inbox.c.status)
            )
            counts = {status: count for status, count in rows}
    finally:
        await engine.dispose()
    return counts.get("done", 0), sum(counts.values())


async def bench(label: str, database_url: str, args: argparse.Namespace) -> None:
    sink = _Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    smtp_port = free_port()
    settings = {
        "CONTACTCENTER_SMTP_PORT": str(smtp_port),
        "CONTACTCENTER_SUPPORT_ADDRESSES": SUPPORT,
        "CONTACTCENTER_SMTP_MAX_CONNECTIONS": str(args.clients + 10),
        "CONTACTCENTER_SMTP_MESSAGES_PER_MINUTE": "1000000",
        "CONTACTCENTER_MAIL_RELAY_HOST": "127.0.0.1",
        "CONTACTCENTER_MAIL_RELAY_PORT": str(relay.port),
    }
    try:
        async with served(database_url, settings, workers=args.workers) as service:
            # Every process of the service: mail is read in its worker processes.
            before, cpu = service.rss_kib(), service.cpu_seconds(workers=True)
            peak, stop = [before], asyncio.Event()
            sampler = asyncio.create_task(sample_memory(service, peak, stop))
            out = f"{args.profile}-{label}-{args.clients}.txt" if args.profile else None
            async with service.profiled(out, args.profile_seconds):
                latencies, elapsed = await send_all(smtp_port, args.clients, args.messages)
            stop.set()
            cpu = service.cpu_seconds(workers=True) - cpu
            await sampler
            done, stored = await processed(database_url)
    finally:
        relay.stop()
    total = len(latencies)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"[{label}] {total} mails from {args.clients} clients in {elapsed:.2f} s: "
        f"{total / elapsed:.0f} mails/s"
    )
    p50, p95, p99, top = (
        x * 1000 for x in (statistics.median(latencies), q[94], q[98], max(latencies))
    )
    print(
        f"[{label}]   per mail: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, "
        f"max {top:.1f} ms"
    )
    print(
        f"[{label}]   service CPU: {cpu / total * 1000:.2f} ms per mail "
        f"({cpu / elapsed * 100:.0f}% of one core)"
    )
    print(
        f"[{label}]   service memory: {before / 1024:.1f} MiB before, peak "
        f"{peak[0] / 1024:.1f} MiB while {args.clients} clients send "
        f"(+{(peak[0] - before) / args.clients:.0f} KiB per client)"
    )
    print(
        f"[{label}]   inbox: {stored} stored, {done} processed; {sink.count} "
        "acknowledgements relayed by then"
    )
    assert stored == total and done == total, "a mail answered 250 is missing or unprocessed"


async def main_async(args: argparse.Namespace) -> None:
    async for label, url in databases(args.backend, "email"):
        await bench(label, url, args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--messages", type=int, default=40, help="mails per client")
    parser.add_argument(
        "--profile", metavar="PREFIX", help="py-spy samples the service: PREFIX-BACKEND-CLIENTS.txt"
    )
    parser.add_argument("--profile-seconds", type=float, default=5.0)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=1, help="serve --workers N (PostgreSQL)")
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.clients} SMTP clients at once, "
        f"{args.messages} mails each"
    )
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
