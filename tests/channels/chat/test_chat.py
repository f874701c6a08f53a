"""Web chat over real WebSocket clients (aiohttp) on both backends: the bot's answer accepted
(self-served) or refused (queued, offered to an agent, the transcript on the interaction), an
agent who joins, types, writes and closes, a reconnect that replays what was missed and nothing
twice, returning and signed visitors, visitors who never come back, idle chats, the transcript
by mail, and bad input: other sites, forged identities, broken, oversized and flooding frames."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.app import create_app
from contactcenter.channels.chat.frames import MAX_FRAME_BYTES, Close
from contactcenter.channels.chat.identity import sign
from contactcenter.model import Presence, Role
from contactcenter.people.agents import AgentFields, GroupFields
from contactcenter.settings import Settings, load_settings
from contactcenter.web.chat_socket import FRAMES_PER_WINDOW
from contactcenter.wiring import Services
from knowledge_base.articles import ArticleFields, ArticleStatus
from tests.conftest import Api

from ..mail_desk import Sink, free_port

SECRET = "host-site-secret"
GIFT_CARD = ArticleFields(
    title="When does a gift card arrive?",
    tags=["gift cards"],
    status=ArticleStatus.PUBLISHED,
    short_answer="E-gift cards arrive by email within minutes; printed ones in 2 to 4 days.",
    body="An e-gift card is emailed to the recipient within minutes of payment.",
)


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Settings:
    return load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        chat_origins="https://shop.example.com",
        chat_identity_secret=SECRET,
        semantic_search=False,
    )


async def frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of `kind` (others skipped), or fail after five seconds."""
    async with asyncio.timeout(5):
        while True:
            found = await ws.receive_json()
            if found["type"] == kind:
                return found  # type: ignore[no-any-return]


async def visit(api: Api, **hello: Any) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await api.client.ws_connect("/chat/ws", headers={"Origin": "https://shop.example.com"})
    await ws.send_json({"type": "hello", **hello})
    return ws, await frame(ws, "welcome")


async def line_saying(ws: aiohttp.ClientWebSocketResponse, text: str) -> dict[str, Any]:
    """The next line with this text (the ones before skipped)."""
    while True:
        line = await frame(ws, "line")
        if line["text"] == text:
            return line


async def bot_line(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        line = await frame(ws, "line")
        if line["author"] == "bot":
            return line


async def test_the_bots_answer_accepted_ends_the_chat_self_served(api: Api) -> None:
    article = await api.services.articles.create(GIFT_CARD, None)
    ws, welcome = await visit(api, name="Ann")
    assert welcome["visitor_id"].startswith("v-") and welcome["chat_id"] is None
    await ws.send_json({"type": "message", "text": "when does my e-gift card arrive?"})
    mine = await frame(ws, "line")
    assert (mine["author"], mine["text"]) == ("visitor", "when does my e-gift card arrive?")
    answer = await bot_line(ws)
    assert answer["articles"][0]["article_id"] == article.id and "E-gift" in answer["text"]
    await ws.send_json({"type": "answer", "article_id": article.id, "helped": True})
    ended = await frame(ws, "ended")
    assert ended["status"] == "self_served"
    assert ended["survey"]["ask"] == "solved" and ended["survey"]["text"] == "Did this solve it?"
    await ws.send_json({"type": "survey", "chat_id": mine["chat_id"], "answers": {"solved": "yes"}})
    assert (await frame(ws, "survey_thanks"))["chat_id"] == mine["chat_id"]

    chat = await api.services.interactions.get(mine["chat_id"])
    assert chat["status"] == "self_served" and chat["channel"] == "chat"
    assert [m["author"] for m in chat["messages"]] == ["customer", "system", "system"]
    await ws.close()


async def test_the_bot_refused_the_chat_is_queued_and_offered_with_its_transcript(
    api: Api,
) -> None:
    services = api.services
    article = await services.articles.create(GIFT_CARD, None)
    group = await services.agents.create_group(GroupFields(name="general"))
    agent = await services.agents.create_agent(
        AgentFields.model_validate({"name": "ana", "groups": [{"group_id": group["id"]}]})
    )
    await services.queue.set_presence(agent["id"], Presence.AVAILABLE)
    supervisor = await api.client.ws_connect("/api/v1/events", headers=api.headers("supervisor"))

    ws, _ = await visit(api)
    await ws.send_json({"type": "message", "text": "my gift card never arrived"})
    await bot_line(ws)
    await ws.send_json({"type": "answer", "article_id": article.id, "helped": False})
    person = await bot_line(ws)
    assert "person" in person["text"]
    offer = await frame(supervisor, "routing.Offer")
    chat = await services.interactions.get(offer["interaction_id"])
    assert (chat["status"], chat["agent_id"]) == ("offered", agent["id"])
    assert chat["messages"][0]["body"] == "my gift card never arrived"  # the transcript so far
    for socket in (ws, supervisor):
        await socket.close()


async def test_nothing_found_or_asking_for_a_person_queues_the_chat(api: Api) -> None:
    ws, _ = await visit(api)
    await ws.send_json({"type": "message", "text": "zzqx unknown words"})
    line = await bot_line(ws)
    assert "could not find" in line["text"]
    chat = await api.services.interactions.get(line["chat_id"])
    assert chat["status"] == "queued"
    await ws.send_json({"type": "end"})
    assert (await frame(ws, "ended"))["status"] == "abandoned"
    assert (await api.services.interactions.get(line["chat_id"]))["status"] == "abandoned"


async def test_a_reconnect_replays_what_was_missed_and_nothing_twice(api: Api) -> None:
    await api.services.articles.create(GIFT_CARD, None)
    ws, welcome = await visit(api)
    await ws.send_json({"type": "message", "text": "gift card arrive?"})
    first = await frame(ws, "line")
    await bot_line(ws)
    await ws.close()  # the connection drops; meanwhile the chat goes on
    chat_id = first["chat_id"]
    await api.services.chat.ask_agent(
        await api.services.chat.visitors.identify(_hello(welcome["visitor_id"])), chat_id
    )

    again, resumed = await visit(
        api, visitor_id=welcome["visitor_id"], chat_id=chat_id, after_seq=first["seq"]
    )
    assert resumed["chat_id"] == chat_id
    replayed = [await frame(again, "line") for _ in range(2)]
    assert [line["author"] for line in replayed] == ["bot", "bot"]
    assert all(line["seq"] > first["seq"] for line in replayed)
    assert "person" in replayed[1]["text"]
    await again.close()

    stranger, _ = await visit(api)
    await stranger.close()
    other = await api.client.ws_connect("/chat/ws")
    await other.send_json({"type": "hello", "chat_id": chat_id})  # not this visitor's chat
    closed = await other.receive()
    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == Close.UNKNOWN_CHAT


def _hello(visitor_id: str) -> Any:
    from contactcenter.channels.chat.frames import Hello

    return Hello(type="hello", visitor_id=visitor_id)


async def test_returning_and_signed_visitors_are_recognised(api: Api) -> None:
    ws, first = await visit(api)
    await ws.close()
    again, second = await visit(api, visitor_id=first["visitor_id"])
    await again.close()
    customers = api.services.customers
    one = (await customers.resolve("chat_visitor", first["visitor_id"])).customer
    assert second["visitor_id"] == first["visitor_id"] and not second["verified"]

    token = sign(SECRET, "crm-778", int(time.time()) + 600, email="ann@example.org", name="Ann")
    signed, welcome = await visit(api, identity_token=token)
    assert welcome["verified"] and welcome["name"] == "Ann"
    await signed.close()
    vouched = (await customers.resolve("external_crm", "crm-778")).customer
    assert vouched.id != one.id
    assert any(i.value == welcome["visitor_id"] for i in vouched.identities)

    forged = sign("not-the-secret", "crm-778", int(time.time()) + 600)
    ws = await api.client.ws_connect("/chat/ws")
    await ws.send_json({"type": "hello", "identity_token": forged})
    assert (await frame(ws, "error"))["field"] == "identity_token"
    closed = await ws.receive()
    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == Close.FORBIDDEN


async def test_bad_input_is_refused_and_the_chat_goes_on(api: Api) -> None:
    other_site = await api.client.ws_connect("/chat/ws", headers={"Origin": "https://evil.example"})
    refused = await other_site.receive_json()
    assert refused["type"] == "error" and refused["code"] == "origin"
    closed = await other_site.receive()
    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == Close.POLICY

    silent = await api.client.ws_connect("/chat/ws")
    await silent.send_json({"type": "message", "text": "hi"})  # no hello first
    closed = await silent.receive()
    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == Close.NO_HELLO

    ws, _ = await visit(api)
    await ws.send_str("not json")
    assert (await frame(ws, "error"))["code"] == "malformed"
    await ws.send_json({"type": "shout"})
    assert (await frame(ws, "error"))["field"] == "type"
    markup = "<img src=x onerror=alert(1)> my order?"
    await ws.send_json({"type": "message", "text": markup})
    assert (await frame(ws, "line"))["text"] == markup  # stored and sent as text
    await ws.send_str("x" * (MAX_FRAME_BYTES + 1))
    closed = await ws.receive()
    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 1009

    flood, _ = await visit(api)
    for _ in range(FRAMES_PER_WINDOW + 2):
        await flood.send_json({"type": "typing"})
    assert (await frame(flood, "error"))["code"] == "too_fast"
    closed = await flood.receive()
    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == Close.TOO_FAST


async def test_an_agent_joins_talks_and_closes_and_it_is_all_on_the_timeline(api: Api) -> None:
    services = api.services
    group = await services.agents.create_group(GroupFields(name="general"))
    agent = await services.agents.create_agent(
        AgentFields.model_validate({"name": "Ana", "groups": [{"group_id": group["id"]}]})
    )
    user = await services.accounts.create_user("ana", "password-" * 2, Role.AGENT, agent["id"])
    api.tokens["ana"], _ = await services.accounts.create_token(user["id"], "tests")
    console = await api.client.ws_connect("/api/v1/events", headers=api.headers("ana"))
    await services.queue.set_presence(agent["id"], Presence.AVAILABLE)

    ws, _ = await visit(api)
    await ws.send_json({"type": "message", "text": "hello, is anyone there?"})
    await ws.send_json({"type": "agent"})
    offer = await frame(console, "routing.Offer")
    chat_id = offer["interaction_id"]
    path = f"/api/v1/interactions/{chat_id}"
    refused = await api.call("POST", f"{path}/chat", "agent", json={"text": "hi"})
    assert refused.status == 403  # a login that is no agent takes no chats
    await api.json("POST", f"{path}/accept", "ana")
    await line_saying(ws, "Ana joined the chat.")

    await api.json("POST", f"{path}/chat/typing", "ana", 204)
    assert (await frame(ws, "typing"))["by"] == "agent"
    await ws.send_json({"type": "typing"})
    typing = await frame(console, "chat.typing")  # first her own, as every console hears it
    while typing["by"] != "visitor":
        typing = await frame(console, "chat.typing")
    assert typing["agent_id"] == agent["id"]
    sent = await api.json("POST", f"{path}/chat", "ana", 201, json={"text": "<b>Hi</b>, I'm Ana"})
    line = await line_saying(ws, "<b>Hi</b>, I'm Ana")
    assert (line["author"], line["seq"]) == ("agent", sent["seq"])
    await ws.send_json({"type": "message", "text": "my parcel is late"})
    heard = await frame(console, "chat.line")
    while heard["line"]["author"] != "visitor" or heard["line"]["text"] != "my parcel is late":
        heard = await frame(console, "chat.line")
    assert heard["agent_id"] == agent["id"]

    await api.json("POST", f"{path}/complete", "ana", json={"disposition": "answered"})
    await line_saying(ws, "Ana closed the chat.")
    ended = await frame(ws, "ended")
    assert ended["status"] == "closed"
    asked = ended["survey"]  # the satisfaction survey, in the widget
    assert [q["id"] for q in asked["questions"]] == ["csat", "effort", "comment"]
    assert (asked["questions"][0]["low"], asked["questions"][0]["high"]) == (1, 5)
    stranger, _ = await visit(api)  # someone else's socket cannot answer it
    await stranger.send_json({"type": "survey", "chat_id": chat_id, "answers": {"csat": "1"}})
    assert (await frame(stranger, "error"))["code"] == "refused"
    await stranger.close()
    await ws.send_json({"type": "survey", "chat_id": chat_id, "answers": {"csat": "8"}})
    wrong = await frame(ws, "error")
    assert (wrong["code"], wrong["field"]) == ("invalid", "answers.csat")
    await ws.send_json(
        {"type": "survey", "chat_id": chat_id, "answers": {"csat": "5", "comment": "quick"}}
    )
    await frame(ws, "survey_thanks")
    assert (await services.interactions.get(chat_id))["satisfaction"] == 5
    chat = await services.interactions.get(chat_id)
    bodies = [m["body"] for m in chat["messages"]]
    assert bodies[0] == "hello, is anyone there?" and "my parcel is late" in bodies
    assert "<b>Hi</b>, I'm Ana" in bodies and bodies[-1] == "Ana closed the chat."
    for socket in (ws, console):
        await socket.close()


async def test_a_visitor_who_never_comes_back_abandons_a_waiting_chat(
    database_url: str, tmp_path: Any
) -> None:
    """Gone for `chat_reconnect_seconds`: abandoned, with the wait; back in time: kept."""
    settings = load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        semantic_search=False,
        chat_reconnect_seconds=0.3,
    )
    services = Services.build(settings)
    client = TestClient(TestServer(create_app(settings, services)))
    await client.start_server()
    try:

        async def chat_waiting() -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
            ws = await client.ws_connect("/chat/ws")
            await ws.send_json({"type": "hello"})
            welcome = await frame(ws, "welcome")
            await ws.send_json({"type": "message", "text": "zzqx nothing answers this"})
            line = await bot_line(ws)  # no article: the chat is queued
            return ws, {"visitor_id": welcome["visitor_id"], **line}

        ws, gone = await chat_waiting()
        await ws.close()
        await asyncio.sleep(0.6)
        left = await services.interactions.get(gone["chat_id"])
        assert left["status"] == "abandoned"
        assert left["events"][-1]["data"]["waited"] >= 0

        ws, back = await chat_waiting()
        await ws.close()
        again = await client.ws_connect("/chat/ws")
        await again.send_json(
            {
                "type": "hello",
                "visitor_id": back["visitor_id"],
                "chat_id": back["chat_id"],
                "after_seq": back["seq"],
            }
        )
        await frame(again, "welcome")
        await asyncio.sleep(0.6)
        assert (await services.interactions.get(back["chat_id"]))["status"] == "queued"
        await again.close()
    finally:
        await client.close()


async def test_idle_chats_close_with_a_notice_and_unattended_waiting_ones_are_abandoned(
    database_url: str, tmp_path: Any
) -> None:
    settings = load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        semantic_search=False,
        chat_reconnect_seconds=0.2,
        chat_idle_minutes=0.01,
    )
    services = Services.build(settings)
    await services.articles.create(GIFT_CARD, None)
    client = TestClient(TestServer(create_app(settings, services)))
    await client.start_server()
    try:
        ws = await client.ws_connect("/chat/ws")
        await ws.send_json({"type": "hello"})
        await frame(ws, "welcome")
        await ws.send_json({"type": "message", "text": "when does a gift card arrive?"})
        with_bot = (await bot_line(ws))["chat_id"]  # the bot answered; the visitor says no more
        closing = await line_saying(
            ws,
            "This chat was closed after 0.01 minutes without a message. Write again at any time.",
        )
        assert closing["author"] == "bot"
        assert (await frame(ws, "ended"))["status"] == "closed"
        assert (await services.interactions.get(with_bot))["status"] == "closed"
        await ws.close()

        # With an agent: completed for them, so that the chat no longer takes their capacity.
        group = await services.agents.create_group(GroupFields(name="general"))
        agent = await services.agents.create_agent(
            AgentFields.model_validate({"name": "Ana", "groups": [{"group_id": group["id"]}]})
        )
        await services.queue.set_presence(agent["id"], Presence.AVAILABLE)
        ws = await client.ws_connect("/chat/ws")
        await ws.send_json({"type": "hello"})
        await frame(ws, "welcome")
        await ws.send_json({"type": "message", "text": "zzqx a person please"})
        talking = (await bot_line(ws))["chat_id"]
        await services.queue.accept(talking, agent["id"])
        await line_saying(ws, "Ana joined the chat.")
        assert (await frame(ws, "ended"))["status"] == "closed"
        done = await services.interactions.get(talking)
        assert done["status"] in ("wrap_up", "closed") and done["disposition"] == "idle"
        await ws.close()

        # After a restart no widget is connected: a waiting chat nobody comes back to is left.
        visitor = await services.chat.visitors.identify(_hello("v-restarted-visitor"))
        visitor = await services.chat.visitors.with_customer(visitor)
        waiting = await services.chat.chat_for(visitor, None, "zzqx nothing answers this")
        await services.chat.say(visitor, waiting, "zzqx nothing answers this")
        assert (await services.interactions.get(waiting))["status"] in ("queued", "offered")
        await asyncio.sleep(0.4)
        await services.chat.sweep()
        assert (await services.interactions.get(waiting))["status"] == "abandoned"
    finally:
        await client.close()


async def test_the_transcript_goes_by_mail_a_few_times_at_most(
    database_url: str, tmp_path: Any
) -> None:
    sink = Sink(free_port())
    await sink.start()
    settings = load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        semantic_search=False,
        mail_relay_host="127.0.0.1",
        mail_relay_port=sink.port,
    )
    services = Services.build(settings)
    await services.articles.create(GIFT_CARD, None)
    client = TestClient(TestServer(create_app(settings, services)))
    await client.start_server()
    try:
        ws = await client.ws_connect("/chat/ws")
        await ws.send_json({"type": "hello"})
        await frame(ws, "welcome")
        await ws.send_json({"type": "transcript", "email": "ann@example.org"})
        assert (await frame(ws, "error"))["message"] == "write a message first"
        await ws.send_json({"type": "message", "text": "when does a gift card arrive?"})
        chat_id = (await bot_line(ws))["chat_id"]
        for _ in range(3):
            await ws.send_json({"type": "transcript", "email": "Ann@Example.org"})
            assert (await frame(ws, "transcript_sent"))["email"] == "ann@example.org"
        await ws.send_json({"type": "transcript", "email": "ann@example.org"})
        assert "at most 3" in (await frame(ws, "error"))["message"]
        [mail, *_] = await sink.wait_for(3)
        assert mail["To"] == "ann@example.org" and f"[#CC-{chat_id}]" in mail["Subject"]
        assert mail["Auto-Submitted"] == "auto-generated"
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "You (" in text and "when does a gift card arrive?" in text
        assert "E-gift cards arrive by email" in text
        await ws.close()
    finally:
        await client.close()
        await sink.stop()


async def _customer_count(api: Api) -> int:
    from sqlalchemy import func, select

    from contactcenter.store.tables import customers

    async with api.services.db.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(customers))).scalar_one()


async def test_a_hello_creates_nobody_until_the_visitor_speaks(api: Api) -> None:
    silent = [await visit(api) for _ in range(5)]  # tabs open, nobody writing
    assert await _customer_count(api) == 0
    ws, welcome = await visit(api, name="Lena Park")
    await ws.send_json({"type": "message", "text": "zzqx is anyone there"})
    chat_id = (await frame(ws, "line"))["chat_id"]
    interaction = await api.services.interactions.get(chat_id)
    customer = await api.services.customers.get(interaction["customer_id"])
    assert customer.name == "Lena Park"  # the pre-chat name, on the unverified customer
    assert [i.value for i in customer.identities] == [welcome["visitor_id"]]
    assert await _customer_count(api) == 1
    for socket, _ in [*silent, (ws, None)]:
        await socket.close()


async def test_one_address_is_held_to_its_connections(api: Api) -> None:
    """At most CONNECTIONS_PER_ADDRESS open at once, OPENED_PER_WINDOW opened in a window."""
    from contactcenter.web.chat_socket import CONNECTIONS_PER_ADDRESS, OPENED_PER_WINDOW

    opened = []
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        for _ in range(CONNECTIONS_PER_ADDRESS + 1):
            opened.append(await api.client.ws_connect("/chat/ws"))
    assert refused.value.status == 429 and len(opened) == CONNECTIONS_PER_ADDRESS
    for ws in opened[:20]:
        await ws.close()
    await asyncio.sleep(0.05)  # counted out as they close
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        for _ in range(20):  # room again, but only so many new ones in a window
            opened.append(await api.client.ws_connect("/chat/ws"))
    assert refused.value.status == 429
    assert len(opened) == OPENED_PER_WINDOW
    for ws in opened[20:]:
        await ws.close()


async def test_a_line_after_the_agent_wrapped_up_reaches_a_new_chat_linked_to_it(
    api: Api,
) -> None:
    services = api.services
    group = await services.agents.create_group(GroupFields(name="general"))
    agent = await services.agents.create_agent(
        AgentFields.model_validate({"name": "Ana", "groups": [{"group_id": group["id"]}]})
    )
    await services.queue.set_presence(agent["id"], Presence.AVAILABLE)
    ws, _ = await visit(api)
    await ws.send_json({"type": "message", "text": "zzqx a person please"})
    first = (await bot_line(ws))["chat_id"]
    await services.queue.accept(first, agent["id"])
    await line_saying(ws, "Ana joined the chat.")
    await services.queue.complete(first, agent["id"])  # wrap-up begins; the chat ends
    await frame(ws, "ended")
    assert (await services.interactions.get(first))["status"] == "wrap_up"
    await ws.send_json({"type": "message", "text": "zzqx one more thing"})
    late = await line_saying(ws, "zzqx one more thing")
    assert late["chat_id"] != first
    after = await services.interactions.get(late["chat_id"])
    assert after["linked_interaction_id"] == first and after["status"] in ("bot", "queued")
    assert [
        m["body"]
        for m in (await services.interactions.get(first))["messages"]
        if m["author"] == "customer"
    ] == ["zzqx a person please"]
    await ws.close()
