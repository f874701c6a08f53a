"""Knowledge-base suggestions for mail that came over real SMTP, on both backends: a new mail
offered to an agent gets the article for what it asks, pushed on the event stream; the
customer's next mail on the thread changes them."""

from __future__ import annotations

import asyncio

import aiohttp

from contactcenter.model import Presence, Role
from knowledge_base.articles import ArticleFields, ArticleStatus

from ..mail_desk import Desk, mail

ARTICLES = [
    ArticleFields(
        title="I was charged twice",
        tags=["billing", "payment"],
        short_answer="A second amount is usually a pending authorisation.",
        body="A second charge on your statement is usually a pending authorisation "
        "that disappears within 5 working days.",
        status=ArticleStatus.PUBLISHED,
    ),
    ArticleFields(
        title="Return an item",
        tags=["returns"],
        body="Start the return under Orders, print the free label and drop the parcel "
        "at any carrier point within 30 days.",
        status=ArticleStatus.PUBLISHED,
    ),
    ArticleFields(
        title="Where is my order?",
        tags=["tracking"],
        body="Track the parcel under Orders.",
        status=ArticleStatus.PUBLISHED,
    ),
]


async def first_suggested(ws: aiohttp.ClientWebSocketResponse, article_id: int) -> int:
    """The interaction of the first `interaction.suggestions` event that puts `article_id`
    first (suggestions are pushed again as a mail's parts arrive), or fail after ten seconds."""
    async with asyncio.timeout(10):
        while True:
            event = await ws.receive_json()
            shown = [s["article_id"] for s in event.get("suggestions", [])]
            if event["type"] == "interaction.suggestions" and shown[:1] == [article_id]:
                return int(event["interaction_id"])


async def test_a_new_mail_gets_suggestions_and_its_thread_changes_them(desk: Desk) -> None:
    services = desk.services
    ids = {}
    for fields in ARTICLES:
        ids[fields.title] = (await services.articles.create(fields, None)).id
    agent_id, _ = await desk.agent()  # the mail is offered to Sam, who hears its suggestions
    await services.queue.set_presence(agent_id, Presence.AVAILABLE)
    user = await services.accounts.create_user("sue", "password-" * 2, Role.SUPERVISOR)
    token, _ = await services.accounts.create_token(user["id"], "tests")
    stream = await desk.client.ws_connect(
        "/api/v1/events", headers={"Authorization": f"Bearer {token}"}
    )

    first = mail(
        subject="Card statement question",
        body="Hello,\nmy bank statement shows two identical amounts for one order. "
        "Why was I charged twice?\nThanks, Ann",
    )
    await desk.send(first)
    interaction_id = await first_suggested(stream, ids["I was charged twice"])
    over_api = await desk.client.get(
        f"/api/v1/interactions/{interaction_id}/suggestions",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (await over_api.json())[0]["title"] == "I was charged twice"

    follow_up = mail(
        subject="Re: Card statement question",
        body="It was sorted out. Now I would like to return the item and send "
        "the parcel back with a return label.",
        In_Reply_To=first["Message-ID"],
        References=first["Message-ID"],
    )
    await desk.send(follow_up)
    assert await first_suggested(stream, ids["Return an item"]) == interaction_id
    await stream.close()
