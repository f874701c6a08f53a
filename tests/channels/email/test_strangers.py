"""What strangers' mail cannot do, over real SMTP sessions on both backends: stop the service
from starting (a mail that fails for any reason is quarantined and the rest go on, live and at
start), take over another customer's thread, freeze the event loop, or hide behind an earlier
Message-ID; and the service never acknowledges its own support addresses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from contactcenter.model import Presence

from ..conftest import Mailroom
from ..mail_desk import Desk, mail

HEAD = b"From: eve@example.org\r\nTo: support@example.com\r\nSubject: %s\r\n"

# Mails that once made reading raise (and the service then refuse to start).
POISON = [
    HEAD % b"idna" + b"Content-Type: text/plain; charset=idna\r\n\r\nxn--zz\r\n",
    HEAD % b"nul" + b"\r\nhello\x00world\r\n",
    HEAD % b"date" + b"Date: 1 Jan 99999999999999999999 10:00 +0000\r\n\r\nhi\r\n",
    b"From: =?utf-8?B?A?= <mallory@evil.example>\r\nSubject: b64\r\n\r\nhi\r\n",
    HEAD % b"nested"
    + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(1000)
    ),
    HEAD % b"file" + b"Content-Disposition: attachment; filename*\r\n\r\nhi\r\n",
]


@pytest.fixture
async def poison_trigger(mailroom: Mailroom) -> AsyncIterator[None]:
    """A database that refuses any message saying POISON-PILL: a failure that has nothing to do
    with the parser, at the step where mail is written to the timeline."""
    db = mailroom.services.db
    async with db.begin() as conn:
        if db.dialect == "sqlite":
            await conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON messages "
                    "WHEN NEW.body LIKE '%POISON-PILL%' "
                    "BEGIN SELECT RAISE(ABORT, 'poison pill refused'); END"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.body LIKE '%POISON-PILL%' THEN RAISE EXCEPTION 'poison pill refused'; "
                    "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            await conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON messages "
                    "FOR EACH ROW EXECUTE FUNCTION poison()"
                )
            )
    yield
    async with db.begin() as conn:
        on = "" if db.dialect == "sqlite" else " ON messages"
        await conn.execute(text(f"DROP TRIGGER IF EXISTS poison{on}"))


def _mixed() -> tuple[list[bytes], list[bytes]]:
    """Good mails and poison ones, interleaved; the poison includes one the database refuses."""
    good = [mail(f"Question {n}", subject=f"Good {n}").as_bytes() for n in range(len(POISON) + 2)]
    bad = [*POISON, mail("A POISON-PILL for the database", subject="pill").as_bytes()]
    return good, bad


async def _check_outcome(room: Mailroom, good: list[bytes], bad: list[bytes]) -> None:
    by_raw = {}
    for row in await room.inbox():
        stored = (await room.services.blobs.get(row.sha256)).replace(b"\r\n", b"\n")
        by_raw |= {
            raw: row
            for raw in [*good, *bad]
            if stored.endswith(raw.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n")
            or stored.endswith(raw.replace(b"\r\n", b"\n"))
        }
    for raw in good:
        row = by_raw[raw]
        assert row.status == "done" and row.interaction_id is not None, row
        interaction = await room.services.interactions.get(row.interaction_id)
        assert interaction["messages"][0]["body"].startswith("Question")
    for raw in bad:
        row = by_raw[raw]
        assert row.status in ("quarantined", "done"), row
        assert row.status == "done" or row.reason
    pill = by_raw[bad[-1]]
    assert pill.status == "quarantined" and "poison pill refused" in pill.reason
    nul = by_raw[POISON[1]]  # NUL removed: stored on PostgreSQL too
    body = (await room.services.interactions.get(nul.interaction_id))["messages"][0]["body"]
    assert body == "helloworld"


async def test_poison_mails_over_smtp_are_quarantined_and_the_rest_go_on(
    mailroom: Mailroom, poison_trigger: None
) -> None:
    good, bad = _mixed()
    for pair in zip(good, [*bad, b""], strict=True):
        for raw in pair:
            if raw:
                await mailroom.send_raw(raw)
    await _check_outcome(mailroom, good, bad)


async def test_poison_mails_stored_before_a_crash_do_not_stop_the_next_start(
    mailroom: Mailroom, poison_trigger: None
) -> None:
    good, bad = _mixed()
    for pair in zip(good, [*bad, b""], strict=True):
        for raw in pair:
            if raw:  # stored, then the service stops before reading them
                await mailroom.services.email.accept(raw, "smtp:test")
    assert {row.status for row in await mailroom.inbox()} == {"new"}
    await mailroom.restart()  # reads what was stored at start, and starts
    await _check_outcome(mailroom, good, bad)
    await mailroom.restart()  # and starts again
    await mailroom.send(mail("Still here", subject="After"))
    assert (await mailroom.inbox())[-1].status == "done"


async def test_a_stranger_naming_anothers_thread_opens_an_interaction_of_their_own(
    mailroom: Mailroom,
) -> None:
    victim = mail("My invoice is wrong", subject="Invoice", sender="Vic <vic@example.org>")
    await mailroom.send(victim)
    thread = await mailroom.interaction_of(victim)
    hijack = mail(
        "Send the invoice to me instead",
        subject=f"Re: [#CC-{thread['id']}] update",
        sender="mallory@evil.example",
    )
    await mailroom.send(hijack)
    own = await mailroom.interaction_of(hijack)
    assert own["id"] != thread["id"] and own["customer_id"] != thread["customer_id"]
    assert own["attributes"]["claims_thread"] == thread["id"]
    assert own["linked_interaction_id"] == thread["id"]
    thread = await mailroom.services.interactions.get(thread["id"])
    assert [m["body"] for m in thread["messages"]] == ["My invoice is wrong"]
    # The customer answering by the token still joins.
    again = mail("It is invoice 77", subject=f"Re: [#CC-{thread['id']}]", sender="vic@example.org")
    await mailroom.send(again)
    assert (await mailroom.interaction_of(again))["id"] == thread["id"]


async def test_an_agents_reply_goes_to_the_customer_never_to_a_stranger(desk: Desk) -> None:
    await desk.send(mail("Where is my order?", subject="Order", sender="vic@example.org"))
    await desk.send(mail("Me too", subject="Re: [#CC-1] update", sender="mallory@evil.example"))
    agent_id, headers = await desk.agent()
    await desk.services.queue.set_presence(agent_id, Presence.AVAILABLE)
    await desk.services.queue.accept(1, agent_id)
    answered = await desk.client.post(
        "/api/v1/interactions/1/reply", headers=headers, json={"body": "It ships today."}
    )
    assert answered.status == 201
    sent = await desk.sink.wait_for(3)  # two acknowledgements and the reply
    [reply] = [m for m in sent if "ships today" in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
    assert reply["To"] == "vic@example.org"


async def test_a_message_id_reused_with_other_content_is_a_mail_of_its_own(
    mailroom: Mailroom,
) -> None:
    first = mail("My printer is broken", subject="Printer", sender="ann@example.org")
    await mailroom.send(first)
    reuse = mail("Different words entirely", subject="Other", sender="bob@example.net")
    reuse.replace_header("Message-ID", first["Message-ID"])
    await mailroom.send(reuse)
    rows = await mailroom.inbox()
    assert [r.status for r in rows] == ["done", "done"]
    assert rows[0].interaction_id != rows[1].interaction_id
    second = await mailroom.services.interactions.get(rows[1].interaction_id)
    assert [m["body"] for m in second["messages"]] == ["Different words entirely"]


async def test_mail_from_our_own_support_address_is_never_acknowledged(
    mailroom: Mailroom,
) -> None:
    await mailroom.send(mail("Loop?", sender="Support <help@example.com>"))
    await mailroom.send(mail("A customer", sender="carl@example.org"))
    assert [m.recipient for m in await mailroom.outgoing() if m.kind == "ack"] == [
        "carl@example.org"
    ]


async def test_mail_that_once_took_seconds_to_read_does_not_stall_the_loop(
    mailroom: Mailroom,
) -> None:
    """Each of these took 3 to 33 s of the event loop; now the loop never stops for long. They
    come the way IMAP brings them (SMTP refuses lines this long), through the same storing and
    reading. The bound is a stall detector, far above the ~50 ms goal that the bench measures."""
    slow = [
        HEAD % b"blank lines" + b"\r\nhi" + b"\r\n" * 16_000 + b"end\r\n",
        b"From: " + b"\\" * 40_000 + b"\r\nTo: support@example.com\r\n\r\nhi\r\n",
        HEAD % b"quotes" + b"Content-Type: text/plain; " + b'"' * 10_000 + b"\r\n\r\nhi\r\n",
        HEAD % b"comment" + b"Content-Type: text/html\r\n\r\n<!--" + b"<a" * 50_000 + b"\r\n",
    ]
    email = mailroom.services.email
    await email.process(await email.accept(b"From: a@b.example\r\n\r\nwarm up\r\n", "imap:t"))
    gaps: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()

    beating = asyncio.create_task(heartbeat())
    for raw in slow:
        await email.process(await email.accept(raw, "imap:test"))
    stop.set()
    await beating
    assert {row.status for row in await mailroom.inbox()} <= {"done", "quarantined"}
    assert max(gaps) < 1.0, f"the event loop stopped for {max(gaps):.2f} s"


async def test_a_mail_not_read_in_time_is_given_up_on_alone(mailroom: Mailroom) -> None:
    """A reader whose worker never finishes one mail: that mail is quarantined, the others of
    its batch are read, and the workers are replaced."""
    from contactcenter.mail.reader import MailReader

    from ..slow_reader import read_all_but_hang

    reader = MailReader(seconds=1.0, seconds_per_mb=0, worker=read_all_but_hang)
    raws = [
        mail("fine").as_bytes(),
        b"From: a@b.example\r\nSubject: HANG\r\n\r\nx",
        mail("also fine").as_bytes(),
    ]
    found = await reader.read_many(raws)
    assert [m.sender for m in found] == ["ann@example.org", None, "ann@example.org"]
    assert "not read within 1 s" in found[1].problems[0]
    assert (await MailReader().read(raws[0])).text == "fine"
