"""The phone channel through real signed Twilio webhooks, on both backends: caller recognition,
the menu by keys and by speech, order-status self-service, holding, hang-ups, bad signatures,
garbage, and webhooks that come twice."""

from __future__ import annotations

from sqlalchemy import func, select

from contactcenter.customers.records import CustomerFields
from contactcenter.model import IdentityKind, Presence, Tier
from contactcenter.people.agents import AgentFields, GroupFields
from contactcenter.store.tables import calls, customers, interaction_events, interactions
from contactcenter.wiring import Services

from ..call_simulator import Call
from ..conftest import PUBLIC, TOKEN, Phone


async def key_account(services: Services) -> tuple[int, int]:
    """A key account whose account manager is available; (customer id, agent id)."""
    await services.agents.create_group(GroupFields(name="key-accounts"))
    manager = await services.agents.create_agent(AgentFields(name="Grace Okafor"))
    identity = services.customers.normalize(IdentityKind.PHONE, "+1 617 555 0143")
    customer = await services.customers.create(
        CustomerFields(name="Rajesh Iyer", tier=Tier.KEY_ACCOUNT, account_manager_id=manager["id"]),
        [identity],
    )
    await services.queue.set_presence(manager["id"], Presence.AVAILABLE)
    return customer.id, manager["id"]


async def test_an_unknown_caller_goes_through_the_menu_into_the_queue(phone: Phone) -> None:
    call = phone.call("(617) 555-0100")
    menu = await call.dial()
    assert "Thank you for calling" in menu.said() and "technical support" in menu.said()
    gather = menu.find("Gather")
    assert gather is not None and gather.get("input") == "dtmf speech"
    held = await call.press("2")
    assert held.verbs == ["Enqueue"] and call.queue["wait"] == f"{PUBLIC}/twilio/voice/wait"
    interaction = await phone.interaction(call)
    assert interaction["channel"] == "voice" and interaction["status"] == "queued"
    assert interaction["topic"] == "technical_support"
    assert interaction["attributes"]["ivr_path"] == ["menu:queue:technical_support"]
    customer = await phone.services.customers.get(interaction["customer_id"])
    assert not customer.verified and customer.tier is Tier.TRANSACTIONAL
    assert [(i.kind, i.value) for i in customer.identities] == [
        (IdentityKind.PHONE, "+16175550100")
    ]
    first = await call.hold(position=7)  # Twilio's own position is not ours
    assert "You are number 1 in line." in first.said()
    assert "To be called back instead" in first.said()
    assert first.verbs == ["Gather"] and first.find("Play") is not None
    again = await call.hold()
    assert again.said() == "" and again.find("Play") is not None  # not again within 30 s


async def test_words_choose_as_well_as_keys_and_silence_ends_in_the_general_queue(
    phone: Phone,
) -> None:
    speaker = phone.call("+16175550101")
    await speaker.dial()
    await speaker.speak("Hi, it is about my invoice")
    assert (await phone.interaction(speaker))["topic"] == "billing"

    silent = phone.call("+16175550102")
    await silent.dial()
    retry = await silent.stay_silent()
    assert retry.said().startswith("Sorry, I did not get that.")
    await silent.press("9")  # not on the menu
    held = await silent.stay_silent()  # the third try: off to the general queue
    assert held.verbs == ["Enqueue"]
    interaction = await phone.interaction(silent)
    assert interaction["topic"] == "general"
    assert interaction["attributes"]["ivr_path"] == ["menu:no_choice"]


async def test_a_key_account_skips_the_menu_and_reaches_the_account_manager(
    phone: Phone,
) -> None:
    customer_id, manager_id = await key_account(phone.services)
    call = phone.call("+1 617-555-0143")
    answer = await call.dial()
    assert answer.verbs == ["Say", "Enqueue"] and "Thank you for calling" in answer.said()
    interaction = await phone.interaction(call)
    assert interaction["customer_id"] == customer_id
    assert interaction["status"] == "offered" and interaction["agent_id"] == manager_id


async def test_order_status_is_read_back_and_the_call_is_self_served(phone: Phone) -> None:
    call = phone.call("+16175550103")
    await call.dial()
    prompt = await call.press("1")
    assert "order number" in prompt.said()
    answer = await call.press("1001#")
    assert "out for delivery today" in answer.said() and "speak to an agent" in answer.said()
    await call.hang_up(duration=41)
    interaction = await phone.interaction(call)
    assert interaction["status"] == "self_served" and interaction["agent_id"] is None
    assert interaction["attributes"]["ivr_path"] == ["menu:order_status", "order:answered:1001"]
    assert interaction["attributes"]["duration_seconds"] == 41


async def test_an_unknown_order_twice_goes_to_an_agent(phone: Phone) -> None:
    call = phone.call("+16175550104")
    await call.dial()
    await call.speak("where is my order")
    retry = await call.press("999#")
    assert retry.said().startswith("I could not find that order.")
    held = await call.press("998#")
    assert held.verbs == ["Enqueue"]
    assert (await phone.interaction(call))["topic"] == "order_status"


async def test_a_caller_who_hangs_up_while_holding_is_abandoned_once(phone: Phone) -> None:
    call = phone.call("+16175550105")
    await call.dial()
    await call.press("0")
    await call.hang_up()
    await call.hang_up()  # Twilio repeats itself: nothing changes
    interaction = await phone.interaction(call)
    assert interaction["status"] == "abandoned"
    async with phone.services.db.connect() as conn:
        abandons = (
            await conn.execute(
                select(func.count()).where(
                    interaction_events.c.interaction_id == interaction["id"],
                    interaction_events.c.to_status == "abandoned",
                )
            )
        ).scalar_one()
    assert abandons == 1
    assert phone.services.queue.routed(interaction["id"]) is None


async def test_a_bad_or_missing_signature_gets_403_and_changes_nothing(phone: Phone) -> None:
    call = phone.call("+16175550106")
    url = f"{PUBLIC}/twilio/voice/incoming"
    forged = await call.post(url, call.params(), signature="bm90IHRoZSByaWdodCBvbmU=")
    assert forged.status == 403
    assert (await call.post(url, call.params(), signature="")).status == 403
    # Signed for the address the server listens on, not the public one Twilio uses: refused.
    inner = Call(phone.session, TOKEN, phone.http_base, phone.http_base, caller=call.caller)
    assert (await inner.dial()).status == 403
    assert await phone.count(calls) == 0 and await phone.count(customers) == 0


async def test_missing_or_garbage_fields_get_a_polite_answer_and_a_routed_call(
    phone: Phone,
) -> None:
    hidden = phone.call("anonymous")
    menu = await hidden.dial()
    assert menu.status == 200 and "Thank you for calling" in menu.said()
    assert (await hidden.press("0")).verbs == ["Enqueue"]
    customer = await phone.services.customers.get((await phone.interaction(hidden))["customer_id"])
    assert customer.identities == []  # a hidden number is no identity

    garbage = phone.call("not a number at all")
    assert (await garbage.dial()).status == 200
    answer = await garbage.post(
        f"{PUBLIC}/twilio/voice/gather?step=nonsense", garbage.params(Digits="<script>")
    )
    assert answer.status == 200 and answer.find("Gather") is not None  # back to the menu

    nothing = await hidden.post(f"{PUBLIC}/twilio/voice/incoming", {})
    assert nothing.status == 200 and nothing.find("Gather") is not None


async def test_the_same_webhook_twice_makes_one_interaction(phone: Phone) -> None:
    call = phone.call("+16175550107")
    await call.dial()
    gather_url = call.last.target("Gather") if call.last else ""
    first = await call.post(gather_url, call.params(Digits="3"))
    second = await call.post(gather_url, call.params(Digits="3"))  # Twilio retried
    assert first.verbs == second.verbs == ["Enqueue"]
    again = await call.dial()  # even the incoming webhook again
    assert again.verbs == ["Enqueue"]
    async with phone.services.db.connect() as conn:
        made = (await conn.execute(select(func.count()).select_from(interactions))).scalar_one()
    assert made == 1


async def test_a_hidden_number_retried_makes_one_customer(phone: Phone) -> None:
    """A caller without a number gets a customer of their own, once per call."""
    call = phone.call("anonymous")
    first, second = await call.dial(), await call.dial()  # Twilio retried the incoming webhook
    assert first.verbs == second.verbs and first.find("Gather") is not None
    async with phone.services.db.connect() as conn:
        people = (await conn.execute(select(func.count()).select_from(customers))).scalar_one()
    assert people == 1


async def test_without_an_auth_token_the_phone_webhooks_answer_503(api) -> None:  # type: ignore[no-untyped-def]
    response = await api.call("POST", "/twilio/voice/incoming", role=None, data={"CallSid": "CA1"})
    assert response.status == 503
    assert "CONTACTCENTER_TWILIO_AUTH_TOKEN" in (await response.json())["error"]["message"]
