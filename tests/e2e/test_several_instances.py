"""Several instances on one PostgreSQL: one routes, the others hand it their work; killing the
router (SIGKILL) or restarting every instance in turn loses nothing and duplicates nothing.

The traffic goes through the instances that do not route: chats arrive through the API with the
caller's own references, mails over SMTP, and agents accept and complete what is offered to
them. Afterwards every acknowledged reference is sent again to a live instance and must name the
same interaction, and the database must hold one interaction per reference, each with an
unbroken history, no agent over capacity, and no open offer left from the dead router. A chat
widget on the killed instance reconnects to another and misses no line nor gets one twice; and
`serve --workers 2` shares its port between two instances, one of which routes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import pytest
from sqlalchemy import select

from contactcenter.store.db import Database
from contactcenter.store.tables import interaction_events, interactions

from .test_kill import _json, _set_up
from .test_serve import COMMAND, _env, _free_port, _run, _wait_healthy

pytestmark = pytest.mark.slow


class Instance:
    """One `contactcenter serve` with its HTTP and SMTP ports."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.port = _free_port()
        self.smtp_port = _free_port()
        self.log = logs / f"instance-{self.port}.log"
        self.process: subprocess.Popen[str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = self.env | {"CONTACTCENTER_SMTP_PORT": str(self.smtp_port)}
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [COMMAND, "serve", "--port", str(self.port)],
                env=env,
                text=True,
                stdout=out,
                stderr=out,
            )
        _wait_healthy(self.port, self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM: requests in flight finish, then the process exits."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    async def routes(self, session: aiohttp.ClientSession) -> bool:
        try:
            async with session.get(f"{self.base}/readyz") as response:
                return bool((await response.json()).get("routes"))
        except aiohttp.ClientError:
            return False


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[tuple[list[Instance], str]]:
    if "postgresql" not in database_url:
        pytest.skip("several instances share one PostgreSQL; SQLite is one process")
    env = _env(
        tmp_path,
        database_url,
        CONTACTCENTER_SEMANTIC_SEARCH="false",
        CONTACTCENTER_SHUTDOWN_TIMEOUT="20",
        # Mail from these tests' senders must not be turned away as a flood.
        CONTACTCENTER_SMTP_MESSAGES_PER_MINUTE="100000",
    )
    assert _run(env, "migrate").returncode == 0
    made = _run(
        env, "createuser", "ops", "--role", "admin", "--token", "ha", stdin="a long password\n"
    )
    admin = made.stdout.strip().rsplit(" ", 1)[-1]
    instances = [Instance(env, tmp_path) for _ in range(3)]
    try:
        for instance in instances:  # the first to start routes
            instance.start()
        yield instances, admin
    finally:
        for instance in instances:
            if instance.process is not None and instance.process.poll() is None:
                instance.process.kill()
                instance.process.wait()


def _chat(n: int) -> dict[str, Any]:
    """The n-th chat the traffic sends (and sends again to check it was kept once)."""
    return {
        "identity": {"kind": "chat_visitor", "value": f"visitor-{n % 40}"},
        "channel": "chat",
        "external_ref": f"chat-{n}",
    }


class Traffic:
    """Chats through the API and mails over SMTP, spread over `targets`, while agents work;
    what each instance acknowledged is kept by reference."""

    def __init__(self, admin: str, agents: list[tuple[int, str]]) -> None:
        self.admin = admin
        self.agents = agents
        self.chats: dict[str, int] = {}
        self.mails: list[str] = []
        self.failed: list[str] = []
        self.stop = asyncio.Event()
        self._grew = asyncio.Event()

    async def until(self, chats: int) -> None:
        """Wait until `chats` chats have been acknowledged."""
        while len(self.chats) < chats:
            self._grew.clear()
            await self._grew.wait()

    async def run(self, targets: list[Instance], chats: int, *, retry_refused: bool) -> None:
        async with aiohttp.ClientSession() as s:
            tasks = [asyncio.create_task(self._arrive(s, targets, chats, retry_refused))]
            tasks.append(asyncio.create_task(self._mail(targets)))
            tasks += [
                asyncio.create_task(self._work(s, targets[n % len(targets)], a, t))
                for n, (a, t) in enumerate(self.agents)
            ]
            await asyncio.gather(*tasks)

    async def _arrive(
        self, s: aiohttp.ClientSession, targets: list[Instance], chats: int, retry: bool
    ) -> None:
        for n in range(chats):
            if self.stop.is_set():
                return
            ref = f"chat-{n}"
            body = _chat(n)
            # As a load balancer would (HAProxy's retry-on conn-failure empty-response): a
            # refused connection, or one closed without an answer by an instance that is
            # stopping, goes to the next instance; the reference makes the retry safe.
            for attempt in range(len(targets) if retry else 1):
                target = targets[(n + attempt) % len(targets)]
                try:
                    status, made = await _json(
                        s, "POST", f"{target.base}/api/v1/interactions", self.admin, json=body
                    )
                except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError):
                    continue
                if status in (200, 201):
                    self.chats[ref] = made["id"]
                    self._grew.set()
                else:
                    self.failed.append(f"{ref}: {status} {made}")
                break
            else:
                self.failed.append(f"{ref}: no instance took it")
            await asyncio.sleep(0.01)

    async def _mail(self, targets: list[Instance]) -> None:
        n = 0
        while not self.stop.is_set():
            message = EmailMessage()
            message["From"] = f"writer{n % 7}@example.org"
            message["To"] = "support@example.com"
            message["Subject"] = f"Order {n} is late"
            message["Message-ID"] = f"<late-{n}@example.org>"
            message.set_content("Where is my parcel?")
            for attempt in range(len(targets)):
                target = targets[(n + attempt) % len(targets)]
                try:
                    await aiosmtplib.send(message, hostname="127.0.0.1", port=target.smtp_port)
                except (aiosmtplib.SMTPException, OSError):
                    continue
                self.mails.append(message["Message-ID"].strip("<>"))
                break
            n += 1
            await asyncio.sleep(0.05)

    async def _work(
        self, s: aiohttp.ClientSession, target: Instance, agent_id: int, token: str
    ) -> None:
        done = 0
        while not self.stop.is_set():
            try:
                _, page = await _json(
                    s,
                    "GET",
                    f"{target.base}/api/v1/interactions?status=offered&limit=50",
                    token,
                )
                for item in page["interactions"]:
                    if item["agent_id"] != agent_id:
                        continue
                    url = f"{target.base}/api/v1/interactions/{item['id']}"
                    status, _ = await _json(s, "POST", f"{url}/accept", token)
                    if status == 200 and done % 2 == 0:
                        await _json(
                            s, "POST", f"{url}/complete", token, json={"disposition": "resolved"}
                        )
                    done += 1
            except aiohttp.ClientError:
                pass  # the instance is restarting: the agent tries again
            await asyncio.sleep(0.02)


async def _stored(database_url: str) -> tuple[list[Any], list[Any]]:
    db = Database(url=database_url)
    try:
        async with db.connect() as conn:
            rows = (await conn.execute(select(interactions))).all()
            events = (
                await conn.execute(select(interaction_events).order_by(interaction_events.c.id))
            ).all()
    finally:
        await db.dispose()
    return rows, events


def _check_consistent(rows: list[Any], events: list[Any], traffic: Traffic) -> None:
    chats = [r for r in rows if r.channel == "chat"]
    assert len(chats) == len(traffic.chats)  # exactly one interaction per reference
    assert Counter(r.external_ref for r in rows).most_common(1)[0][1] == 1
    mails = {r.external_ref for r in rows if r.channel == "email"}
    assert set(traffic.mails) <= mails  # every mail acknowledged over SMTP is stored
    held = Counter(r.agent_id for r in chats if r.status in ("offered", "active"))
    assert max(held.values(), default=0) <= 3  # chat capacity
    history: dict[int, list[Any]] = {}
    for event in events:
        if event.to_status is not None:
            history.setdefault(event.interaction_id, []).append(event)
    for row in rows:
        chain = history[row.id]
        assert chain[0].type == "created"
        for earlier, later in itertools.pairwise(chain):
            assert later.from_status == earlier.to_status, (row.id, later.type)
        assert chain[-1].to_status == row.status


async def _resend(traffic: Traffic, target: Instance) -> None:
    async with aiohttp.ClientSession() as s:
        for ref, id_ in traffic.chats.items():
            body = _chat(int(ref.split("-")[1]))
            status, made = await _json(
                s, "POST", f"{target.base}/api/v1/interactions", traffic.admin, json=body
            )
            assert status in (200, 201), made
            assert made["id"] == id_  # the same interaction: nothing lost, nothing doubled


async def test_the_router_killed_mid_traffic_is_replaced_and_nothing_is_lost(
    cluster: tuple[list[Instance], str], database_url: str
) -> None:
    (router, *others), admin = cluster
    async with aiohttp.ClientSession() as s:
        assert await router.routes(s)
        assert not any([await other.routes(s) for other in others])
    agents = await _set_up(others[0].base, admin)
    traffic = Traffic(admin, agents)
    running = asyncio.create_task(traffic.run(others, 400, retry_refused=False))
    async with asyncio.timeout(60):
        await traffic.until(100)
    killed_at = time.time()
    router.kill()
    async with aiohttp.ClientSession() as s:
        async with asyncio.timeout(5):  # another instance routes within 5 s
            while not any([await other.routes(s) for other in others]):  # noqa: ASYNC110
                await asyncio.sleep(0.02)  # another process's state: asked over HTTP
        routing = [await other.routes(s) for other in others]
    assert routing.count(True) == 1
    async with asyncio.timeout(60):
        await traffic.until(250)
    traffic.stop.set()
    await running
    assert traffic.failed == []
    await _resend(traffic, others[0])

    rows, events = await _stored(database_url)
    _check_consistent(rows, events, traffic)
    offers_after = [e for e in events if e.to_status == "offered" and e.at.timestamp() > killed_at]
    assert offers_after  # the new router offers work
    # Offers the dead router had open were made again (or taken back) by the new one.
    for row in rows:
        if row.status == "offered":
            last = [e for e in events if e.interaction_id == row.id and e.to_status == "offered"]
            assert last[-1].at.timestamp() > killed_at, row.id


async def test_every_instance_restarted_in_turn_under_load_fails_no_request(
    cluster: tuple[list[Instance], str], database_url: str
) -> None:
    instances, admin = cluster
    agents = await _set_up(instances[1].base, admin)
    traffic = Traffic(admin, agents)
    running = asyncio.create_task(traffic.run(instances, 100_000, retry_refused=True))
    for instance in instances:
        await asyncio.sleep(1.0)
        assert await asyncio.to_thread(instance.stop) == 0
        await asyncio.to_thread(instance.start)
    await asyncio.sleep(1.0)
    traffic.stop.set()
    await running
    assert traffic.failed == []
    assert len(traffic.chats) > 50
    async with aiohttp.ClientSession() as s:
        assert [await i.routes(s) for i in instances].count(True) == 1
    await _resend(traffic, instances[0])
    rows, events = await _stored(database_url)
    _check_consistent(rows, events, traffic)


async def _frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            found = await ws.receive_json()
            if found["type"] == kind:
                return found  # type: ignore[no-any-return]


async def _visit(
    s: aiohttp.ClientSession, instance: Instance, **hello: Any
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await s.ws_connect(f"{instance.base}/chat/ws", headers={"Origin": instance.base})
    await ws.send_json({"type": "hello", **hello})
    return ws, await _frame(ws, "welcome")


async def test_a_chat_on_the_killed_instance_reconnects_to_another_and_misses_nothing(
    cluster: tuple[list[Instance], str],
) -> None:
    (router, agents_side, other), admin = cluster
    agents = dict(await _set_up(agents_side.base, admin))
    async with aiohttp.ClientSession() as s:
        ws, welcome = await _visit(s, router)  # the visitor's tab is on the router
        await ws.send_json({"type": "message", "text": "zzqx my parcel never came"})
        chat_id = (await _frame(ws, "line"))["chat_id"]
        async with asyncio.timeout(10):  # nothing found: the chat is queued and offered
            while True:
                _, chat = await _json(
                    s, "GET", f"{agents_side.base}/api/v1/interactions/{chat_id}", admin
                )
                if chat["status"] == "offered":
                    break
                await asyncio.sleep(0.05)
        token = agents[chat["agent_id"]]
        url = f"{agents_side.base}/api/v1/interactions/{chat_id}"
        assert (await _json(s, "POST", f"{url}/accept", token))[0] == 200

        async def say(n: int) -> None:
            status, _ = await _json(s, "POST", f"{url}/chat", token, json={"text": f"line {n}"})
            assert status == 201

        seen: list[int] = []
        last_seq = [0]  # the last line the widget has

        async def read(ws: aiohttp.ClientWebSocketResponse, upto: int) -> None:
            while not seen or seen[-1] < upto:
                line = await _frame(ws, "line")
                if line["author"] == "agent":
                    seen.append(int(line["text"].split()[1]))
                    last_seq[0] = line["seq"]

        for n in range(1, 4):  # told on another instance, heard on the router's socket
            await say(n)
        await read(ws, 3)
        router.kill()
        for n in range(4, 7):  # while the visitor has no connection
            await say(n)
        ws, _ = await _visit(
            s, other, visitor_id=welcome["visitor_id"], chat_id=chat_id, after_seq=last_seq[0]
        )
        for n in range(7, 10):
            await say(n)
        await read(ws, 9)
        await ws.close()
    assert seen == list(range(1, 10))  # every line once, in order


def test_serve_with_workers_shares_the_port_and_stops_on_sigterm(
    tmp_path: Path, database_url: str
) -> None:
    env = _env(tmp_path, database_url, CONTACTCENTER_SEMANTIC_SEARCH="false")
    port = _free_port()
    if "postgresql" in database_url:
        assert _run(env, "migrate").returncode == 0
    process = subprocess.Popen(
        [COMMAND, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_healthy(port, process)
        seen: dict[str, bool] = {}  # instance: whether it routes
        instances = 2 if "postgresql" in database_url else 1
        deadline = time.monotonic() + 20
        while len(seen) < instances and time.monotonic() < deadline:
            # A new connection each time: the kernel spreads them over the workers.
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                ready = json.load(r)
            seen[ready["instance"]] = ready["routes"]
        if "postgresql" in database_url:
            assert sorted(seen.values()) == [False, True]  # two instances, one routes
        else:
            assert list(seen.values()) == [True]
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0
    if "sqlite" in database_url:
        assert "SQLite is served by one process" in process.stderr.read()  # type: ignore[union-attr]
