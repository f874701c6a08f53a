"""Calls put through to agents with the real `twilio` client against a stand-in of Twilio's REST
API: the waiting caller redirected to the agent, callbacks placed, failures put back in the
queue, and the agent's leg closing the interaction with its talk time."""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree

from sqlalchemy import select

from contactcenter.events import InteractionRequeued, VoiceConnectFailed
from contactcenter.model import Presence, Role
from contactcenter.people.agents import AgentFields, GroupFields, Membership
from contactcenter.store.tables import interaction_events, surveys

from ..call_simulator import Call
from ..conftest import ACCOUNT, PUBLIC, Phone


async def holding_call(phone: Phone, caller: str = "+16175550120") -> tuple[Call, int]:
    call = phone.call(caller)
    await call.dial()
    await call.press("0")
    return call, (await phone.interaction(call))["id"]


async def agent(service: Phone, **where: str) -> int:
    """An agent of the general group, ringing `where` (phone or voice_client)."""
    directory = service.services.agents
    group = await directory.group_by_name("general") or await directory.create_group(
        GroupFields(name="general")
    )
    made = await directory.create_agent(
        AgentFields(name="Sam Lee", groups=[Membership(group_id=group["id"])], **where)
    )
    return made["id"]


async def accept(phone: Phone, interaction_id: int, agent_id: int) -> None:
    await phone.services.queue.set_presence(agent_id, Presence.AVAILABLE)
    await phone.services.queue.accept(interaction_id, agent_id)


async def events(phone: Phone, interaction_id: int) -> list[tuple[str | None, dict]]:
    async with phone.services.db.connect() as conn:
        rows = await conn.execute(
            select(interaction_events.c.to_status, interaction_events.c.data)
            .where(interaction_events.c.interaction_id == interaction_id)
            .order_by(interaction_events.c.id)
        )
        return [(row.to_status, row.data) for row in rows]


async def test_an_accepted_call_is_put_through_and_closed_with_its_talk_time(
    phone: Phone,
) -> None:
    call, interaction_id = await holding_call(phone)
    sam = await agent(phone, voice_client="sam.lee")
    await accept(phone, interaction_id, sam)
    [update] = await phone.twilio.wait_for(1)
    assert update.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call.sid}.json"
    twiml = ElementTree.fromstring(update.form["Twiml"])
    dial = twiml.find("Dial")
    assert dial is not None and dial.findtext("Client") == "sam.lee"
    assert dial.get("action") == f"{PUBLIC}/twilio/voice/status?leg=agent"
    assert "Connecting you to an agent" in (twiml.findtext("Say") or "")
    # Twilio takes the call out of the hold, runs the Dial, and reports the agent's leg.
    await call.post(call.queue["action"], call.params(QueueResult="redirected"))
    ended = call.params(DialCallStatus="completed", DialCallDuration=95)
    done = await call.post(dial.get("action") or "", ended)
    assert done.verbs == ["Say", "Gather"]  # the post-call survey (see below)
    await call.hang_up()
    interaction = await phone.interaction(call)
    assert interaction["status"] == "wrap_up" and interaction["agent_id"] == sam
    assert ("wrap_up", {"agent_id": sam, "talk_seconds": 95}) in await events(phone, interaction_id)


async def test_the_caller_answers_the_post_call_survey_by_keypad(phone: Phone) -> None:
    """Offered as the call is put through; asked when the agent hangs up (the Dial's action);
    each key leads to the next question; a wrong key is asked again once."""
    call, interaction_id = await holding_call(phone, "+16175550124")
    sam = await agent(phone, voice_client="sam.lee")
    await accept(phone, interaction_id, sam)
    [update] = await phone.twilio.wait_for(1)
    twiml = ElementTree.fromstring(update.form["Twiml"])
    said = " ".join(el.text or "" for el in twiml.iter("Say"))
    assert "stay on the line for a short survey" in said
    dial = twiml.find("Dial")
    assert dial is not None
    await call.post(call.queue["action"], call.params(QueueResult="redirected"))
    first = await call.post(
        dial.get("action") or "", call.params(DialCallStatus="completed", DialCallDuration=40)
    )
    assert "a short survey" in first.said() and "How satisfied" in first.said()
    assert "Press a number from 1 to 5" in first.said()
    wrong = await call.press("9")
    assert "How satisfied" in wrong.said()  # asked again
    effort = await call.press("4")
    assert "How easy" in effort.said()
    thanks = await call.press("5")
    assert thanks.verbs == ["Say", "Hangup"] and "Thank you" in thanks.said()
    interaction = await phone.interaction(call)
    assert interaction["satisfaction"] == 4
    async with phone.services.db.connect() as conn:
        (row,) = list(await conn.execute(select(surveys)))
    assert (row.csat, row.effort, row.channel) == (4, 5, "voice")
    again = await call.post(
        dial.get("action") or "", call.params(DialCallStatus="completed", DialCallDuration=40)
    )
    assert again.verbs == ["Hangup"]  # the hook came twice: surveyed once


async def test_twilio_failing_is_retried_then_the_work_goes_back_to_the_queue(
    phone: Phone,
) -> None:
    call, interaction_id = await holding_call(phone)
    sam = await agent(phone, phone="+14155550111")
    phone.twilio.fail_next = 3
    async with phone.services.bus.subscribe() as stream:
        await accept(phone, interaction_id, sam)
        await phone.twilio.wait_for(3)
        seen = []
        while not any(isinstance(e, VoiceConnectFailed) for e in seen):
            seen.append(await stream.get())
    interaction = await phone.interaction(call)
    assert interaction["status"] == "queued" and interaction["agent_id"] is None
    assert ("queued", {"reason": "connect_failed"}) in await events(phone, interaction_id)
    assert "500" in next(e.error for e in seen if isinstance(e, VoiceConnectFailed))
    # Back at its place, and not offered to the agent it could not reach.
    assert await phone.services.queue.position(interaction_id) == 1
    held = await call.hold()
    assert held.status == 200


async def test_an_agent_with_nowhere_to_ring_sends_the_call_back_to_the_queue(
    phone: Phone,
) -> None:
    call, interaction_id = await holding_call(phone)
    nobody = await agent(phone)
    await accept(phone, interaction_id, nobody)
    async with phone.services.bus.subscribe() as stream:
        event = await stream.get()
        while not isinstance(event, InteractionRequeued):
            event = await stream.get()
    assert (await phone.interaction(call))["status"] == "queued"
    assert phone.twilio.requests == []


async def test_an_unanswered_agent_leg_puts_the_caller_back_on_hold(phone: Phone) -> None:
    call, interaction_id = await holding_call(phone)
    sam = await agent(phone, phone="+14155550111")
    await accept(phone, interaction_id, sam)
    [update] = await phone.twilio.wait_for(1)
    action = ElementTree.fromstring(update.form["Twiml"]).find("Dial")
    assert action is not None
    back = await call.post(action.get("action") or "", call.params(DialCallStatus="no-answer"))
    assert back.verbs == ["Say", "Enqueue"]
    assert (await phone.interaction(call))["status"] == "queued"


async def test_a_callback_keeps_the_place_and_is_placed_when_an_agent_accepts(
    phone: Phone,
) -> None:
    call, interaction_id = await holding_call(phone, "+16175550121")
    await call.hold()
    left = await call.press("1")
    assert left.verbs == ["Leave"]
    bye = await call.post(call.queue["action"], call.params(QueueResult="leave"))
    assert "We will call you back" in bye.said() and bye.verbs[-1] == "Hangup"
    call.queue = {}
    await call.hang_up()  # the caller's line ends; the callback is still owed
    assert (await phone.interaction(call))["status"] == "callback_scheduled"
    assert await phone.services.queue.position(interaction_id) == 1

    sam = await agent(phone, phone="+14155550111")
    await phone.services.queue.set_presence(sam, Presence.AVAILABLE)
    assert (await phone.interaction(call))["status"] == "offered"
    await phone.services.queue.accept(interaction_id, sam)
    [create] = await phone.twilio.wait_for(1)
    assert create.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert create.form["To"] == "+16175550121" and create.form["From"] == call.called
    twiml = ElementTree.fromstring(create.form["Twiml"])
    assert "returning your call" in (twiml.findtext("Say") or "")
    assert twiml.find("Dial/Number") is not None
    for _ in range(500):  # the placed call is stored once Twilio has answered the request
        placed = await phone.services.voice.calls.by_interaction(interaction_id)
        if placed is not None and placed.call_sid != call.sid:
            break
        await asyncio.sleep(0.01)
    assert placed is not None and placed.call_sid != call.sid

    # The customer does not pick up: the interaction is closed, saying so.
    outbound = Call(
        phone.session,
        call.auth_token,
        PUBLIC,
        phone.http_base,
        caller=call.caller,
        sid=placed.call_sid,
    )
    await outbound.post(f"{PUBLIC}/twilio/voice/status", outbound.params(CallStatus="no-answer"))
    interaction = await phone.interaction(call)
    assert interaction["status"] in ("wrap_up", "closed")
    assert interaction["disposition"] == "call no-answer"


async def test_a_hidden_number_cannot_ask_for_a_callback(phone: Phone) -> None:
    call, _ = await holding_call(phone, "anonymous")
    first = await call.hold()
    assert "To be called back" not in first.said()
    answer = await call.press("1")
    assert "cannot call back a hidden number" in answer.said()
    again = await call.follow()  # back to holding
    assert again.find("Gather") is not None and again.find("Play") is not None
    assert (await phone.interaction(call))["status"] == "queued"


async def test_a_key_account_is_put_through_to_the_account_manager_recorded(
    phone: Phone,
) -> None:
    from .test_voice import key_account

    phone.services.voice.connector.record = True
    _, manager = await key_account(phone.services)
    await phone.services.agents.update_agent(manager, {"voice_client": "grace"})
    call = phone.call("+1 617 555 0143")
    await call.dial()
    interaction_id = (await phone.interaction(call))["id"]
    await phone.services.queue.accept(interaction_id, manager)
    [update] = await phone.twilio.wait_for(1)
    dial = ElementTree.fromstring(update.form["Twiml"]).find("Dial")
    assert dial is not None and dial.findtext("Client") == "grace"
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("recordingStatusCallback") == f"{PUBLIC}/twilio/voice/recording"


async def test_the_agent_wraps_up_then_ends_the_call_from_the_console(phone: Phone) -> None:
    call, interaction_id = await holding_call(phone)
    sam = await agent(phone, voice_client="sam.lee")
    user = await phone.services.accounts.create_user("sam", "password-" * 2, Role.AGENT, sam)
    token, _ = await phone.services.accounts.create_token(user["id"], "console")
    hang_up = f"{phone.http_base}/api/v1/interactions/{interaction_id}/hangup"
    headers = {"Authorization": f"Bearer {token}"}
    await accept(phone, interaction_id, sam)
    await phone.twilio.wait_for(1)  # put through
    await call.post(call.queue["action"], call.params(QueueResult="redirected"))
    await phone.services.queue.complete(interaction_id, sam, outcome={"disposition": "resolved"})
    async with phone.session.post(hang_up, headers=headers) as asked:
        assert asked.status == 202, await asked.text()
    [_, update] = await phone.twilio.wait_for(2)
    assert update.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call.sid}.json"
    assert ElementTree.fromstring(update.form["Twiml"]).find("Hangup") is not None
    await call.hang_up()  # Twilio reports the end; the outcome recorded stays
    interaction = await phone.interaction(call)
    assert interaction["status"] == "wrap_up" and interaction["disposition"] == "resolved"
    async with phone.session.post(hang_up, headers=headers) as again:
        body = await again.json()
        assert again.status == 409 and "no call in progress" in body["error"]["message"]
