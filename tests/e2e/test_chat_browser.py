"""The chat widget in a real browser: headless Chromium (Debian's, driven by Playwright) loads a
page of another site that includes the widget, asks the bot, refuses its answer, and talks with
an agent driven through the API. Skipped without Chromium or Playwright, except in CI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contactcenter.app import create_app
from contactcenter.model import Presence, Role
from contactcenter.people.agents import AgentFields, GroupFields
from contactcenter.settings import load_settings
from contactcenter.wiring import Services
from knowledge_base.articles import ArticleFields, ArticleStatus

from .browser import find_chromium, launch, shot_path
from .test_serve import _free_port as free_port

pytestmark = pytest.mark.slow
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Example shop</h1><p>Everything for your home office.</p>
<script src="{service}/widget.js" data-title="Chat with us" async></script></body></html>"""


@pytest.fixture
def chromium() -> str:
    return find_chromium()


@pytest.fixture
async def shop(database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """The service, and a shop's page on another origin that carries the widget."""
    where: dict[str, str] = {}  # the service's address, known once it listens

    async def index(_: web.Request) -> web.Response:
        return web.Response(text=PAGE.format(service=where["base"]), content_type="text/html")

    page = web.Application()
    page.router.add_get("/", index)
    page_server = TestServer(page)
    await page_server.start_server()
    shop_origin = str(page_server.make_url("")).rstrip("/")
    settings = load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        chat_origins=shop_origin,
        semantic_search=False,
        mail_relay_host="127.0.0.1",
        mail_relay_port=free_port(),
    )
    services = Services.build(settings)
    service = TestServer(create_app(settings, services))
    await service.start_server()
    where["base"] = base = str(service.make_url("")).rstrip("/")
    yield {"services": services, "base": base, "shop": shop_origin}
    await service.close()
    await page_server.close()


async def test_a_visitor_asks_the_bot_then_talks_with_an_agent(
    shop: dict[str, Any], chromium: str
) -> None:
    from playwright.async_api import async_playwright, expect

    services: Services = shop["services"]
    await services.articles.create(
        ArticleFields(
            title="When does a gift card arrive?",
            tags=["gift cards"],
            status=ArticleStatus.PUBLISHED,
            short_answer="E-gift cards arrive by email within minutes.",
            body="An e-gift card is emailed to the recipient within minutes of payment.",
        ),
        None,
    )
    group = await services.agents.create_group(GroupFields(name="general"))
    agent = await services.agents.create_agent(
        AgentFields.model_validate({"name": "Ana", "groups": [{"group_id": group["id"]}]})
    )
    user = await services.accounts.create_user("ana", "password-" * 2, Role.AGENT, agent["id"])
    token, _ = await services.accounts.create_token(user["id"], "browser test")
    await services.queue.set_presence(agent["id"], Presence.AVAILABLE)

    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        page = await browser.new_page(viewport={"width": 1000, "height": 720})
        await page.goto(shop["shop"] + "/")
        await page.get_by_role("button", name="Chat with us").click()
        await page.get_by_label("Your message").fill("when does my e-gift card arrive?")
        await page.keyboard.press("Enter")
        await expect(page.get_by_text("E-gift cards arrive by email", exact=False)).to_be_visible()
        await page.get_by_role("button", name="No", exact=True).click()
        await expect(page.get_by_text("Let me find a person", exact=False)).to_be_visible()

        [chat] = [i for i in await services.interactions.list(_chats(), limit=5)]
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(shop["base"], headers=headers) as agent_api:
            accepted = await agent_api.post(f"/api/v1/interactions/{chat['id']}/accept")
            assert accepted.status == 200, await accepted.text()
            await expect(page.get_by_text("Ana joined the chat.")).to_be_visible()
            said = await agent_api.post(
                f"/api/v1/interactions/{chat['id']}/chat",
                json={"text": "Hi, <b>Ana</b> here. Let me look."},
            )
            assert said.status == 201
        await expect(page.get_by_text("Hi, <b>Ana</b> here. Let me look.")).to_be_visible()
        # A reload brings the window back as it was, with the whole conversation.
        await page.reload()
        await expect(page.get_by_role("dialog", name="Chat with us")).to_be_visible()
        await expect(page.get_by_text("when does my e-gift card arrive?")).to_be_visible()
        await expect(page.get_by_text("Hi, <b>Ana</b> here. Let me look.")).to_have_count(1)
        await page.get_by_role("button", name="Email me this chat").click()
        await page.get_by_label("Send the conversation to").fill("ann@example.org")
        await page.get_by_role("button", name="Send it").click()
        await expect(page.get_by_text("on its way to ann@example.org")).to_be_visible()
        await page.screenshot(path=shot_path(f"chat-widget-{_backend(shop)}"))
        # On a phone's screen the window fits, and the chat goes on where it was.
        await page.set_viewport_size({"width": 390, "height": 760})
        window = page.get_by_role("dialog", name="Chat with us")
        box = await window.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        await expect(page.get_by_text("Hi, <b>Ana</b> here. Let me look.")).to_be_visible()
        await page.screenshot(path=shot_path(f"chat-widget-phone-{_backend(shop)}"))
        await page.get_by_label("Your message").focus()
        await page.keyboard.press("Escape")  # closes the window; the button takes the focus
        await expect(page.get_by_role("button", name="Chat with us")).to_be_focused()
        await browser.close()

    stored = await services.interactions.get(chat["id"])
    assert stored["status"] == "active" and stored["agent_id"] == agent["id"]
    assert stored["messages"][0]["body"] == "when does my e-gift card arrive?"


async def test_a_page_of_a_site_not_allowed_says_chat_is_not_available(
    shop: dict[str, Any], chromium: str
) -> None:
    from playwright.async_api import async_playwright, expect

    async def index(_: web.Request) -> web.Response:
        return web.Response(text=PAGE.format(service=shop["base"]), content_type="text/html")

    other = web.Application()
    other.router.add_get("/", index)
    server = TestServer(other)
    await server.start_server()
    try:
        async with async_playwright() as pw:
            browser = await launch(pw, chromium)
            page = await browser.new_page()
            await page.goto(str(server.make_url("/")))
            await page.get_by_role("button", name="Chat with us").click()
            await expect(page.get_by_text("Chat is not available on this site.")).to_be_visible()
            await page.get_by_label("Your message").fill("hello?")
            await page.keyboard.press("Enter")
            await expect(page.get_by_text("Reconnecting")).to_have_count(0)
            await browser.close()
    finally:
        await server.close()


def _chats() -> Any:
    from contactcenter.interactions.records import InteractionFilter
    from contactcenter.model import Channel

    return InteractionFilter(Channel.CHAT, None, None, None, None, None)


def _backend(shop: dict[str, Any]) -> str:
    return "sqlite" if shop["services"].db.is_sqlite else "postgresql"
