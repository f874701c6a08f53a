"""Inbound mail over real SMTP sessions (aiosmtplib to the service's aiosmtpd receiver), on both
backends: new mail into the queue, replies into their thread, closed threads, duplicates, the
support addresses only, the size limit, quarantine, and mail stored but not yet read."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiosmtplib
import pytest
from sqlalchemy import update

from contactcenter.model import InteractionStatus
from contactcenter.people.agents import AgentFields
from contactcenter.runtime.clock import now
from contactcenter.store.tables import interactions

from ..conftest import Mailroom
from ..mail_desk import mail


async def test_a_new_mail_is_stored_and_queued_on_the_senders_record(mailroom: Mailroom) -> None:
    message = mail()
    message.add_attachment(
        b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="receipt.pdf"
    )
    await mailroom.send(message)
    interaction = await mailroom.interaction_of(message)
    assert interaction["channel"] == "email" and interaction["status"] == "queued"
    assert interaction["subject"] == "Order 1001"
    assert [m["body"] for m in interaction["messages"]] == ["My order has not arrived."]
    assert [(a["filename"], a["size"]) for a in interaction["attachments"]] == [("receipt.pdf", 16)]
    customer = await mailroom.services.customers.get(interaction["customer_id"])
    assert [i.value for i in customer.identities] == ["ann@example.org"]
    [row] = await mailroom.inbox()
    assert row.status == "done" and row.source.startswith("smtp:127.0.0.1")


async def test_replies_join_their_thread_by_headers_or_by_the_subject_token(
    mailroom: Mailroom,
) -> None:
    first = mail()
    await mailroom.send(first)
    interaction = await mailroom.interaction_of(first)
    reply = mail(
        "Any news?\n\nOn Monday Ann wrote:\n> My order has not arrived.",
        subject="Re: Order 1001",
        In_Reply_To=first["Message-ID"],
    )
    await mailroom.send(reply)
    by_token = mail("It is order 1001.", subject=f"Re: [#CC-{interaction['id']}] Order")
    await mailroom.send(by_token)
    joined = await mailroom.services.interactions.get(interaction["id"])
    assert [m["body"] for m in joined["messages"]] == [
        "My order has not arrived.",
        "Any news?",
        "It is order 1001.",
    ]


async def test_a_reply_to_a_closed_thread_opens_a_new_linked_interaction(
    mailroom: Mailroom,
) -> None:
    """Within the follow-up period the new interaction goes first to the agent who handled the
    thread; after it, it routes as any new mail. Both are linked to the closed thread."""
    services = mailroom.services
    agent = await services.agents.create_agent(AgentFields(name="Bo"))
    first = mail()
    await mailroom.send(first)
    old = await mailroom.interaction_of(first)
    await services.queue.abandon(old["id"])  # the thread ends; say Bo had handled it
    async with services.db.begin() as conn:
        await conn.execute(
            update(interactions).where(interactions.c.id == old["id"]).values(agent_id=agent["id"])
        )
    recent = mail("Still nothing.", subject="Re: Order 1001", References=first["Message-ID"])
    await mailroom.send(recent)
    new = await mailroom.interaction_of(recent)
    assert new["id"] != old["id"] and new["linked_interaction_id"] == old["id"]
    assert new["status"] == InteractionStatus.QUEUED
    assert new["attributes"]["follows"] == old["id"]
    assert new["attributes"]["previous_agent"] == agent["id"]

    async with services.db.begin() as conn:  # the thread closed eight days ago
        await conn.execute(
            update(interactions)
            .where(interactions.c.id == old["id"])
            .values(ended_at=now() - timedelta(days=8))
        )
    late = mail("Hello again.", subject="Re: Order 1001", References=first["Message-ID"])
    await mailroom.send(late)
    later = await mailroom.interaction_of(late)
    assert later["linked_interaction_id"] == old["id"] and later["id"] not in (old["id"], new["id"])
    assert "previous_agent" not in later["attributes"]


async def test_the_same_mail_twice_is_one_interaction(mailroom: Mailroom) -> None:
    message = mail()
    await mailroom.send(message)
    await mailroom.send(message, to="help@example.com")  # other envelope, same bytes
    again = mail()
    again.replace_header("Message-ID", message["Message-ID"])  # other bytes, same mail
    del again["Date"]
    again["Date"] = "Tue, 24 Nov 2026 10:00:00 +0000"
    await mailroom.send(again)
    rows = await mailroom.inbox()
    assert len({r.interaction_id for r in rows}) == 1
    interaction = await mailroom.interaction_of(message)
    assert len(interaction["messages"]) == 1


async def test_only_support_addresses_and_mail_under_the_size_limit(mailroom: Mailroom) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await mailroom.send(mail(), to="sales@example.com")
    assert refused.value.recipients[0].code == 550
    with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
        await mailroom.send(mail("x" * 300_000))
    assert too_big.value.code == 552
    assert await mailroom.inbox() == []


async def test_unusable_mail_is_quarantined_with_its_reason(mailroom: Mailroom) -> None:
    """Quarantined either way; with the envelope's sender to answer, still an interaction."""
    raw = b"From: \xff\xfe<broken\r\nTo: support@example.com\r\nSubject: \xc3\x28\r\n\r\nhi\r\n"
    for envelope in ("x@example.org", ""):  # "": a bounce's null sender, MAIL FROM:<>
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=mailroom.port) as client:
            await client.mail(envelope)
            await client.rcpt("support@example.com")
            await client.data(raw)
    named, bounce = await mailroom.inbox()
    assert named.status == "quarantined" and "no readable sender address" in named.reason
    assert "sender taken from Return-Path" in named.reason
    interaction = await mailroom.services.interactions.get(named.interaction_id)
    customer = await mailroom.services.customers.get(interaction["customer_id"])
    assert [i.value for i in customer.identities] == ["x@example.org"]
    # Kept as it came, under the trace header every delivering server adds.
    assert (
        await mailroom.services.blobs.get(named.sha256) == b"Return-Path: <x@example.org>\r\n" + raw
    )
    assert bounce.status == "quarantined" and bounce.interaction_id is None
    assert await mailroom.services.blobs.get(bounce.sha256) == b"Return-Path: <>\r\n" + raw


async def test_mail_stored_but_not_read_is_read_at_start(mailroom: Mailroom) -> None:
    message = mail()
    inbox_id = await mailroom.services.email.accept(message.as_bytes(), "smtp:test")
    assert (await mailroom.inbox())[0].status == "new"  # as after a crash here
    assert await mailroom.services.email.process_waiting() == 1
    assert (await mailroom.interaction_of(message))["status"] == "queued"
    assert await mailroom.services.email.process(inbox_id) is not None  # again: nothing new
    assert len(await mailroom.inbox()) == 1


async def test_one_client_address_is_held_to_its_sessions_and_its_pace(
    mailroom: Mailroom,
) -> None:
    receiver = mailroom.services.smtp
    assert receiver is not None
    receiver.clients.max_connections, receiver.clients.pace.limit = 2, 3
    sessions = [aiosmtplib.SMTP(hostname="127.0.0.1", port=mailroom.port) for _ in range(3)]
    for session in sessions:
        await session.connect()
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await sessions[2].mail("ann@example.org")  # a third session at once
    assert refused.value.code == 421
    for session in sessions[:2]:  # the sessions within the limit go on
        assert (await session.mail("ann@example.org")).code == 250
    for session in sessions:
        session.close()
    await asyncio.sleep(0.05)  # the sessions are counted out as they close
    for n in range(3):
        await mailroom.send(mail(subject=f"Message {n}"))
    with pytest.raises(aiosmtplib.SMTPResponseException) as slow_down:
        await mailroom.send(mail(subject="One too many"))
    assert slow_down.value.code == 451  # the client keeps it and tries again later
    assert len(await mailroom.inbox()) == 3


async def test_the_senders_name_is_saved_on_a_new_customer(mailroom: Mailroom) -> None:
    message = mail(sender="Jamie Doe <jamie.d@example.org>")
    await mailroom.send(message)
    interaction = await mailroom.interaction_of(message)
    customer = await mailroom.services.customers.get(interaction["customer_id"])
    assert customer.name == "Jamie Doe"
    await mailroom.send(mail(sender="J. D. <jamie.d@example.org>", subject="Again"))
    assert (await mailroom.services.customers.get(customer.id)).name == "Jamie Doe"
