"""Suggestions on interactions, through the API and the event stream, on both backends: a new
chat (a visitor's first line) gets the right published article and never a draft; an agent's
feedback replaces a dismissed article, puts a used one on the customer's timeline and moves the
ranking; a customer's "yes, that helped" ends waiting work as self-served."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import aiohttp

from contactcenter.model import Presence, Role
from contactcenter.people.agents import AgentFields, GroupFields
from knowledge_base.suggestions import content_of
from tests.conftest import Api

GIFT_CARD = {
    "title": "When does a gift card arrive?",
    "status": "published",
    "tags": ["gift cards"],
    "short_answer": "E-gift cards arrive by email within minutes; printed ones in 2 to 4 days.",
    "body": "An e-gift card is emailed to the recipient within minutes of payment. Printed gift "
    "cards are posted and arrive in 2 to 4 working days. Check the spam folder.",
}
ORDER = {
    "title": "Where is my order?",
    "status": "published",
    "tags": ["delivery", "tracking"],
    "short_answer": "Track it under Orders in your account.",
    "body": "Sign in and open Orders to see the status and the parcel's tracking link.",
}
DRAFT = {
    "title": "Gift card never arrived: new process (draft)",
    "status": "draft",
    "tags": ["gift cards"],
    "body": "Draft: gift card never arrived, resend it from the back office.",
}


async def pushed_suggestions(
    ws: aiohttp.ClientWebSocketResponse, interaction_id: int
) -> dict[str, Any]:
    """The first `interaction.suggestions` event with articles for the interaction (an offer
    made before the customer's first line pushes an empty one), or fail after five seconds."""
    async with asyncio.timeout(5):
        while True:
            event = await ws.receive_json()
            if (
                event["type"] == "interaction.suggestions"
                and event["interaction_id"] == interaction_id
                and event["suggestions"]
            ):
                return event  # type: ignore[no-any-return]


def articles_used(timeline: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["event"]["data"]
        for e in timeline["entries"]
        if e["kind"] == "event" and e["event"]["type"] == "kb.article_used"
    ]


async def write(api: Api, *articles: dict[str, Any]) -> list[int]:
    return [
        (await api.json("POST", "/api/v1/kb/articles", "supervisor", 201, json=a))["id"]
        for a in articles
    ]


async def chat(api: Api, line: str, visitor: str = "visitor-1") -> dict[str, Any]:
    """A chat as the chat channel queues one: the visitor's first line as the customer's."""
    body = {
        "channel": "chat",
        "identity": {"kind": "chat_visitor", "value": visitor},
        "message": line,
    }
    return await api.json("POST", "/api/v1/interactions", "agent", 201, json=body)  # type: ignore[no-any-return]


async def test_a_new_chat_gets_published_suggestions_and_never_drafts(api: Api) -> None:
    gift, _, draft = await write(api, GIFT_CARD, ORDER, DRAFT)
    interaction = await chat(api, "hi, my gift card never arrived??")
    path = f"/api/v1/interactions/{interaction['id']}/suggestions"
    shown = await api.json("GET", path, "agent")
    assert shown[0]["article_id"] == gift
    assert draft not in [s["article_id"] for s in shown]
    assert shown[0]["short_answer"].startswith("E-gift cards") and "<mark>" in shown[0]["snippet"]
    # The draft is there for agents who search with status=any, never for customers' work.
    found = await api.json(
        "GET",
        "/api/v1/kb/search",
        "agent",
        params={"q": "gift card never arrived", "status": "any"},
    )
    assert draft in [h["article_id"] for h in found["hits"]]


async def test_the_agent_who_is_offered_the_work_hears_its_suggestions(api: Api) -> None:
    [gift, _] = await write(api, GIFT_CARD, ORDER)
    services = api.services
    group = await services.agents.create_group(GroupFields(name="general"))
    agent = await services.agents.create_agent(
        AgentFields.model_validate({"name": "ana", "groups": [{"group_id": group["id"]}]})
    )
    user = await services.accounts.create_user("ana", "password-" * 2, Role.AGENT, agent["id"])
    api.tokens["ana"], _ = await services.accounts.create_token(user["id"], "ws")
    ana = await api.client.ws_connect("/api/v1/events", headers=api.headers("ana"))
    supervisor = await api.client.ws_connect("/api/v1/events", headers=api.headers("supervisor"))
    await services.queue.set_presence(agent["id"], Presence.AVAILABLE)

    interaction = await chat(api, "when does the gift card come")
    for stream in (ana, supervisor):
        pushed = await pushed_suggestions(stream, interaction["id"])
        assert pushed["agent_id"] == agent["id"]
        assert pushed["customer_id"] == interaction["customer_id"]
        assert pushed["suggestions"][0]["article_id"] == gift
    # The visitor writes again while ana has the chat: new suggestions follow.
    await services.queue.customer_message(interaction["id"], "or where is my order, tracking?")
    pushed = await pushed_suggestions(ana, interaction["id"])
    assert pushed["suggestions"][0]["title"] == "Where is my order?"
    for stream in (ana, supervisor):
        await stream.close()


async def test_feedback_replaces_dismissed_articles_and_records_used_ones(api: Api) -> None:
    gift, order = await write(api, GIFT_CARD, ORDER)
    interaction = await chat(api, "my gift card order never arrived")
    path = f"/api/v1/interactions/{interaction['id']}/suggestions"
    before = [s["article_id"] for s in await api.json("GET", path, "agent")]
    assert set(before) == {gift, order}

    await api.json(
        "POST", f"{path}/{order}/feedback", "agent", 204, json={"verdict": "not_relevant"}
    )
    assert [s["article_id"] for s in await api.json("GET", path, "agent")] == [gift]
    await api.json("POST", f"{path}/{gift}/feedback", "agent", 204, json={"verdict": "used"})

    timeline = await api.json(
        "GET", f"/api/v1/customers/{interaction['customer_id']}/timeline", "agent"
    )
    used = articles_used(timeline)
    assert used and used[0]["article_id"] == gift
    assert used[0]["interaction_id"] == interaction["id"] and used[0]["by"] == "agent"

    bad = await api.call("POST", f"{path}/{gift}/feedback", "agent", json={"verdict": "great"})
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "verdict"
    missing = await api.call("POST", f"{path}/99999/feedback", "agent", json={"verdict": "used"})
    assert missing.status == 404


async def test_feedback_moves_an_article_up_for_later_questions(api: Api) -> None:
    web = {
        "title": "Reset a password on the website",
        "status": "published",
        "body": "Reset the password with Forgot password on the sign-in page.",
    }
    app = {
        "title": "Reset a password in the app",
        "status": "published",
        "body": "Reset it with Forgot password on the app's sign-in screen.",
    }
    web_id, app_id = await write(api, web, app)
    search = api.services.articles.search
    question = "reset password forgot"
    [first, second, *_] = [h.article_id for h in await search.search(question)]
    assert {first, second} == {web_id, app_id}
    # Agents found the second one right three times.
    for n in range(3):
        interaction = await chat(api, question, visitor=f"visitor-{n}")
        path = f"/api/v1/interactions/{interaction['id']}/suggestions/{second}/feedback"
        await api.json("POST", path, "agent", 204, json={"verdict": "helpful"})
    assert (await search.search(question))[0].article_id == second


async def test_a_customer_helped_by_an_article_is_self_served(api: Api) -> None:
    [gift] = await write(api, GIFT_CARD)
    interaction = await chat(api, "when does my e-gift card arrive?")
    await api.services.suggestions.customer_answered(interaction["id"], gift, helped=True)

    done = await api.json("GET", f"/api/v1/interactions/{interaction['id']}", "agent")
    assert done["status"] == "self_served"
    timeline = await api.json(
        "GET", f"/api/v1/customers/{interaction['customer_id']}/timeline", "agent"
    )
    [used] = articles_used(timeline)
    assert used["by"] == "customer"


async def test_a_customer_not_helped_gets_other_articles(api: Api) -> None:
    gift, order = await write(api, GIFT_CARD, ORDER)
    interaction = await chat(api, "gift card order not arrived")
    await api.services.suggestions.customer_answered(interaction["id"], gift, helped=False)
    shown = await api.json("GET", f"/api/v1/interactions/{interaction['id']}/suggestions", "agent")
    assert [s["article_id"] for s in shown] == [order]
    waiting = await api.json("GET", f"/api/v1/interactions/{interaction['id']}", "agent")
    assert waiting["status"] == "queued"


def test_an_interactions_question_reads_the_latest_message_first() -> None:
    call = SimpleNamespace(
        subject="",
        topic="order_status",
        attributes={
            "ivr_path": ["said:where is my parcel", "menu:queue:returns", "menu:no_choice"]
        },
    )
    assert content_of(call, []) == "order status where is my parcel returns"
    mail = SimpleNamespace(subject="Card statement", topic=None, attributes={})
    thread = ["My bank statement shows two amounts for one order, why?", "ok", "and the refund?"]
    # A short line borrows the lines before it; a long one stands alone.
    assert content_of(mail, thread) == (
        "and the refund? Card statement ok My bank statement shows two amounts for one order, why?"
    )
    long_line = (
        "Now I would like to return the keyboard as well and send the parcel back with "
        "the free label."
    )
    assert content_of(mail, [*thread, long_line]) == f"{long_line} Card statement"
