"""Outgoing mail to a real SMTP sink (aiosmtpd on loopback): acknowledgements with their
threading headers, the mail that must never be answered, one acknowledgement per sender per
period, and an outbox that keeps a mail until the relay takes it."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from contactcenter.model import Presence
from contactcenter.store.tables import interactions, outbox

from ..mail_desk import Desk, mail


async def test_a_new_mail_is_acknowledged_on_its_thread(desk: Desk) -> None:
    original = mail()
    await desk.send(original)
    [ack] = await desk.sink.wait_for(1)
    assert ack["From"] == "support@example.com" and ack["To"] == "ann@example.org"
    assert ack["Subject"] == "Re: Order 1001 [#CC-1]"
    assert ack["In-Reply-To"] == original["Message-ID"]
    assert ack["References"] == original["Message-ID"]
    assert ack["Auto-Submitted"] == "auto-replied"
    body = ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "reference CC-1" in body and "within 1 day" in body  # transactional email: 24 h
    for _ in range(100):  # the event is written once the relay has taken the mail
        if await desk.events("email.sent"):
            break
        await asyncio.sleep(0.02)
    assert (await desk.events("email.sent"))[0]["kind"] == "ack"


async def test_mail_that_must_not_be_answered_and_senders_answered_lately_get_none(
    desk: Desk,
) -> None:
    await desk.send(mail(Auto_Submitted="auto-replied", sender="ooo@example.org"))
    await desk.send(mail(sender="no-reply@shop.example"))
    await desk.send(mail(Precedence="bulk", sender="news@example.org"))
    await desk.send(mail(subject="First"))
    await desk.send(mail(subject="Second, a new matter"))  # same sender, within the hour
    await desk.sink.wait_for(1)
    await asyncio.sleep(0.3)
    assert [m["Subject"] for m in desk.sink.received] == ["Re: First [#CC-4]"]


async def test_the_outbox_keeps_a_mail_until_the_relay_takes_it(desk: Desk) -> None:
    await desk.sink.stop()  # the relay is down
    await desk.send(mail())
    box = desk.services.outbox
    for _ in range(250):  # the first try fails at once
        if await desk.events("email.send_failed"):
            break
        await asyncio.sleep(0.02)
    [failed] = await desk.events("email.send_failed")
    assert failed["attempts"] == 1 and not failed["gave_up"]
    async with desk.services.db.begin() as conn:  # its next try is due now
        await conn.execute(update(outbox).values(next_attempt_at=outbox.c.created_at))
    await desk.sink.start()
    assert await box.send_due() == 1
    [ack] = await desk.sink.wait_for(1)
    assert ack["Subject"] == "Re: Order 1001 [#CC-1]"
    async with desk.services.db.connect() as conn:
        [row] = list(await conn.execute(select(outbox)))
    assert row.status == "sent" and row.attempts == 2


async def test_an_agent_answers_on_the_thread_and_the_answer_is_on_the_timeline(
    desk: Desk,
) -> None:
    services = desk.services
    first = mail()
    await desk.send(first)
    follow_up = mail(
        "Also, the invoice is wrong.",
        subject="Re: Order 1001 [#CC-1]",
        In_Reply_To=first["Message-ID"],
        References=first["Message-ID"],
    )
    await desk.send(follow_up)
    agent_id, headers = await desk.agent()
    too_early = await desk.client.post(
        "/api/v1/interactions/1/reply", headers=headers, json={"body": "Hello"}
    )
    assert too_early.status == 409  # not theirs yet
    await services.queue.set_presence(agent_id, Presence.AVAILABLE)
    await services.queue.accept(1, agent_id)
    text = {"body": "Sorry about that; a new invoice follows."}
    answered = await desk.client.post("/api/v1/interactions/1/reply", headers=headers, json=text)
    assert answered.status == 201
    body = await answered.json()
    assert [m["direction"] for m in body["messages"]] == ["inbound", "inbound", "outbound"]
    async with services.db.connect() as conn:  # the first answer stops the response clock
        responded = (
            await conn.execute(
                select(interactions.c.first_response_at).where(interactions.c.id == 1)
            )
        ).scalar_one()
    assert responded is not None
    sent = await desk.sink.wait_for(2)  # the acknowledgement, then the answer
    reply = sent[-1]
    assert reply["Subject"] == "Re: Order 1001 [#CC-1]" and reply["To"] == "ann@example.org"
    assert reply["In-Reply-To"] == follow_up["Message-ID"]
    assert reply["References"].split() == [first["Message-ID"], follow_up["Message-ID"]]
    assert "a new invoice follows" in reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The customer's answer to our answer joins the same interaction.
    again = mail("Thanks!", subject=reply["Subject"], In_Reply_To=reply["Message-ID"])
    await desk.send(again)
    joined = await services.interactions.get(1)
    assert [m["body"] for m in joined["messages"]][-1] == "Thanks!"


async def test_an_acknowledgement_keeps_a_subject_in_any_script(desk: Desk) -> None:
    chinese = mail("我的订单还没到。", subject="订单 1001 没有到", sender="李雷 <li@example.cn>")
    await desk.send(chinese)
    [ack] = await desk.sink.wait_for(1)
    assert ack["Subject"] == "Re: 订单 1001 没有到 [#CC-1]"
    assert "Hello 李雷" in ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
