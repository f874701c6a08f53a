"""The agent console and the supervisor dashboard in a real browser (Debian's Chromium through
Playwright) against the whole service: a chat from a visitor in a second browser, a mail reply
that reaches an SMTP server on its thread, and a supervisor watching and moving waiting work.
Each test saves screenshots of the pages in `test-artifacts/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contactcenter.app import create_app
from contactcenter.model import Channel, InteractionStatus, Presence, Role
from contactcenter.people.agents import AgentFields, GroupFields
from contactcenter.settings import load_settings
from contactcenter.wiring import Services
from knowledge_base.articles import ArticleFields, ArticleStatus
from routing.policy import DEFAULT_POLICY
from tests.channels.mail_desk import Sink, mail

from .browser import find_chromium, launch, shot_path
from .test_serve import _free_port as free_port

pytestmark = pytest.mark.slow
PASSWORD = "password-" * 2
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Example shop</h1><script src="{service}/widget.js" data-prechat="true" async></script>
</body></html>"""


@pytest.fixture
def chromium() -> str:
    return find_chromium()


@pytest.fixture
async def site(database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """The service with its SMTP receiver and a relay that keeps what it is sent, a shop's page
    with the chat widget, and an organisation: agents Ana (general) and Sue (senior) with
    logins, a supervisor, a customer with history, and an article."""
    where: dict[str, str] = {}

    async def index(_: web.Request) -> web.Response:
        return web.Response(text=PAGE.format(service=where["base"]), content_type="text/html")

    page = web.Application()
    page.router.add_get("/", index)
    shop = TestServer(page)
    await shop.start_server()
    sink = Sink(free_port())
    await sink.start()
    # The default policy, with a transactional chat's target short enough to miss in a test.
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        DEFAULT_POLICY.read_text().replace(
            "chat: {percent: 80, seconds: 120}", "chat: {percent: 80, seconds: 4}"
        )
    )
    settings = load_settings(
        {},
        database_url=database_url,
        data_dir=tmp_path / "data",
        routing_policy=policy,
        chat_origins=str(shop.make_url("")).rstrip("/"),
        semantic_search=False,
        smtp_port=free_port(),
        mail_relay_host="127.0.0.1",
        mail_relay_port=sink.port,
    )
    services = Services.build(settings)
    service = TestServer(create_app(settings, services))
    await service.start_server()
    where["base"] = str(service.make_url("")).rstrip("/")
    people = await _organisation(services)
    yield {
        "services": services,
        "base": where["base"],
        "shop": str(shop.make_url("/")),
        "sink": sink,
        "settings": settings,
        **people,
    }
    await service.close()
    await sink.stop()
    await shop.close()


async def _organisation(services: Services) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    for group in ("general", "senior"):
        made = await services.agents.create_group(GroupFields(name=group))
        ids[group] = made["id"]
    for name, login, group in (("Ana Souza", "ana", "general"), ("Sue Park", "sue", "senior")):
        agent = await services.agents.create_agent(
            AgentFields.model_validate({"name": name, "groups": [{"group_id": ids[group]}]})
        )
        await services.accounts.create_user(login, PASSWORD, Role.AGENT, agent["id"])
        ids[login] = agent["id"]
    await services.accounts.create_user("boss", PASSWORD, Role.SUPERVISOR)
    await services.accounts.create_user("root", PASSWORD, Role.ADMIN)
    ann = (await services.customers.resolve("email", "ann@example.org")).customer
    await services.customers.update(ann.id, {"name": "Ann Lee"})
    # History outside the queue: stored as it was, never routed again.
    past = await services.interactions.open(ann.id, Channel.EMAIL, subject="Invoice copy for March")
    await services.interactions.transition(past, InteractionStatus.CLOSED)
    ids["ann"] = ann.id
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
    await services.articles.create(
        ArticleFields(
            title="My e-gift card has not arrived",
            tags=["gift cards"],
            status=ArticleStatus.PUBLISHED,
            short_answer="Check the spam folder; we resend the e-gift card from your account page.",
            body="When an e-gift card does not arrive, look in the spam folder first, "
            "then resend it.",
        ),
        None,
    )
    return ids


async def _log_in(browser: Any, base: str, username: str, path: str, shot: str = "") -> Any:
    page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
    await page.goto(f"{base}{path}")
    assert page.url.endswith(f"/login?next={path}")
    if shot:
        await page.screenshot(path=shot_path(shot))
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{base}{path}")
    return page


def _backend(site: dict[str, Any]) -> str:
    return "sqlite" if site["services"].db.is_sqlite else "postgresql"


async def test_an_agent_takes_a_chat_from_a_visitor_and_wraps_it_up(
    site: dict[str, Any], chromium: str
) -> None:
    from playwright.async_api import async_playwright, expect

    services: Services = site["services"]
    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        console = await _log_in(browser, site["base"], "ana", "/console")
        await expect(console.get_by_text("Live")).to_be_visible()
        await console.get_by_label("Presence").select_option("available")
        await expect(console.get_by_text("Waiting for work…")).to_be_visible()

        visitor = await (await browser.new_context()).new_page()  # a second browser context
        await visitor.goto(site["shop"])
        await visitor.get_by_role("button", name="Chat with us").click()
        await visitor.get_by_label("Your name").fill("Ann Lee")
        await visitor.get_by_label("Your email (optional)").fill("ann@example.org")
        await visitor.get_by_role("button", name="Start chatting").click()
        await visitor.get_by_label("Your message").fill("when does my e-gift card arrive?")
        await visitor.keyboard.press("Enter")
        await expect(visitor.get_by_text("E-gift cards arrive by email")).to_be_visible()
        await visitor.get_by_role("button", name="No", exact=True).click()

        offer = console.get_by_role("article", name="Offer: Chat from Ann Lee")
        await expect(offer).to_be_visible()
        await expect(offer.get_by_text("Transactional")).to_be_visible()
        await console.screenshot(path=shot_path(f"console-offer-{_backend(site)}"))
        await console.keyboard.press("a")  # accept from the keyboard

        work = console.get_by_role("log", name="Conversation")
        await expect(work.get_by_text("when does my e-gift card arrive?")).to_be_visible()
        customer = console.locator("#customer")
        await expect(customer.get_by_role("heading", name="Ann Lee")).to_be_visible()
        await expect(customer.get_by_text("Invoice copy for March")).to_be_visible()
        await customer.get_by_label("Search the timeline").fill("nothing like this")
        await expect(customer.get_by_text("Nothing matches.")).to_be_visible()
        await customer.get_by_label("Search the timeline").fill("invoice")
        await expect(customer.get_by_text("Invoice copy for March")).to_be_visible()
        suggestion = console.locator("#suggestions article").first
        await expect(suggestion.get_by_text("gift card", exact=False).first).to_be_visible()
        answer = await suggestion.locator(".answer").inner_text()
        await suggestion.get_by_role("button", name="Insert into reply").click()
        reply = console.get_by_role("textbox", name="Reply")
        await expect(reply).to_have_value(answer)
        await reply.press("Control+Enter")
        await expect(visitor.get_by_text(answer, exact=True)).to_be_visible()
        await visitor.get_by_label("Your message").fill("Great, thanks!")
        await visitor.keyboard.press("Enter")
        await expect(work.get_by_text("Great, thanks!")).to_be_visible()
        await console.screenshot(path=shot_path(f"console-chat-{_backend(site)}"), full_page=True)

        await console.keyboard.press("Escape")  # out of the composer: keys are shortcuts again
        await console.keyboard.press("w")
        dialog = console.get_by_role("dialog", name="Wrap up")
        await dialog.get_by_label("Disposition").select_option("resolved")
        await dialog.get_by_label("Outcome").fill("gift card timing explained")
        await dialog.get_by_label("Notes for the customer's record").fill("Asked about gift cards")
        await console.screenshot(path=shot_path(f"console-wrap-up-{_backend(site)}"))
        await dialog.get_by_role("button", name="Complete").click()
        await expect(console.get_by_text("Completed.")).to_be_visible()
        # At once: no composer for a chat that is over (the desk's next reload is not awaited).
        await expect(console.get_by_role("textbox", name="Reply")).to_have_count(0, timeout=2000)
        await expect(console.get_by_text("In wrap-up")).to_be_visible(timeout=2000)
        # The chat's wrap-up time follows (the policy's), then the room is free again.
        await expect(console.get_by_role("tab").get_by_text("wrap-up")).to_be_visible()
        # The visitor is asked how it went, in the widget.
        question = "How satisfied are you with the help you got?"
        survey = visitor.get_by_role("form", name="Survey")
        scale = survey.get_by_role("group", name=question)
        await expect(scale).to_be_visible()
        await scale.get_by_role("button", name="5", exact=True).click()
        await survey.get_by_role("button", name="Send", exact=True).click()
        await expect(visitor.get_by_text("Thank you for your answers.")).to_be_visible()
        await visitor.screenshot(path=shot_path(f"widget-survey-{_backend(site)}"))
        await browser.close()

    chats = await services.interactions.list(_filter(Channel.CHAT))
    stored = await services.interactions.get(chats[0]["id"])
    assert stored["customer_id"] == site["ann"] and stored["agent_id"] == site["ana"]
    assert stored["status"] in ("wrap_up", "closed") and stored["disposition"] == "resolved"
    assert stored["outcome"] == "gift card timing explained"
    said = [m["body"] for m in stored["messages"] if m["author"] == "agent"]
    assert len(said) == 1 and "gift card" in said[0]
    assert stored["satisfaction"] == 5


async def test_an_email_reply_from_the_console_goes_out_on_the_thread(
    site: dict[str, Any], chromium: str
) -> None:
    from playwright.async_api import async_playwright, expect

    case = await site["services"].complaints.open(
        site["ann"], source="api", summary="Invoiced twice for order 998"
    )
    question = mail(
        "Could you send me the invoice for order 1001?\n\nOn Monday you wrote:\n"
        "> Thank you for your order.\n> It ships today.",
        subject="Invoice for order 1001",
    )
    await aiosmtplib.send(
        question,
        hostname="127.0.0.1",
        port=site["settings"].smtp_port,
        recipients=["support@example.com"],
    )
    acknowledged = len(await site["sink"].wait_for(1))  # the acknowledgement
    follow_up = mail(
        "It is for my accounts department.\n\nOn Tuesday Ann Lee wrote:\n"
        "> Could you send me the invoice for order 1001?",
        subject="Re: Invoice for order 1001",
        In_Reply_To=question["Message-ID"],
    )
    await aiosmtplib.send(
        follow_up,
        hostname="127.0.0.1",
        port=site["settings"].smtp_port,
        recipients=["support@example.com"],
    )
    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        console = await _log_in(browser, site["base"], "ana", "/console")
        await console.get_by_label("Presence").select_option("available")
        offer = console.get_by_role("article", name="Offer: Email from Ann Lee")
        await offer.get_by_role("button", name="Accept").click()
        work = console.get_by_role("log", name="Conversation")
        await expect(work.get_by_text("It is for my accounts department.")).to_be_visible()
        # The first mail is folded above the latest; the quoting of both is not repeated.
        history = work.get_by_text("Earlier in this thread (1 mail)")
        await expect(history).to_be_visible()
        first = work.get_by_text("Could you send me the invoice for order 1001?")
        await expect(first).to_be_hidden()
        await history.click()
        await expect(first).to_be_visible()
        await expect(work.get_by_text("It ships today.")).to_have_count(0)
        await console.keyboard.press("r")
        await expect(console.get_by_role("textbox", name="Reply")).to_be_focused()
        await console.keyboard.type("Here is the invoice for order 1001: INV-1001.")
        await console.screenshot(path=shot_path(f"console-email-{_backend(site)}"), full_page=True)
        await console.get_by_role("button", name="Send").click()
        await expect(console.get_by_text("Reply sent on the thread.")).to_be_visible()
        # Her open complaint is beside the conversation; the agent resolves it from there.
        customer = console.locator("#customer")
        await expect(customer.get_by_text(f"{case.reference} · open")).to_be_visible()
        await customer.get_by_role("button", name="Work on it").click()
        dialog = console.get_by_role("dialog", name=f"Complaint {case.reference}")
        await dialog.get_by_label("Move to").select_option("resolved")
        await dialog.get_by_role("button", name="Save").click()  # no resolution: refused
        await expect(dialog.get_by_text("needs its resolution and outcome")).to_be_visible()
        await dialog.get_by_label("Resolution (to resolve it)").fill("Credit note sent")
        await dialog.get_by_label("Outcome (to resolve it)").select_option("upheld")
        await dialog.get_by_role("button", name="Save").click()
        await expect(console.get_by_text(f"{case.reference} is now resolved.")).to_be_visible()
        await browser.close()
    resolved = await site["services"].complaints.get(case.id)
    assert (resolved.status.value, resolved.outcome) == ("resolved", "upheld")

    sent = (await site["sink"].wait_for(acknowledged + 1))[-1]
    assert "INV-1001" in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert sent["To"] == "Ann Lee <ann@example.org>" or "ann@example.org" in sent["To"]
    # On the thread: it answers the latest mail and names the whole chain.
    assert sent["In-Reply-To"] == follow_up["Message-ID"]
    assert question["Message-ID"] in sent["References"]
    assert follow_up["Message-ID"] in sent["References"]
    assert "Invoice for order 1001" in sent["Subject"]


async def test_a_supervisor_sees_the_queue_live_and_moves_work_to_another_group(
    site: dict[str, Any], chromium: str
) -> None:
    from playwright.async_api import async_playwright, expect

    services: Services = site["services"]
    await services.queue.set_presence(site["sue"], Presence.AVAILABLE)  # senior only
    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        board = await _log_in(browser, site["base"], "boss", "/supervisor")
        await expect(board.get_by_text("Live")).to_be_visible()
        await expect(board.locator("#waiting-count")).to_have_text("0 waiting")

        caller = (await services.customers.resolve("phone", "+12125550199")).customer
        await services.customers.update(caller.id, {"name": "Bo Chen"})
        chat = await services.queue.enqueue(caller, Channel.CHAT, subject="Order status")
        await expect(board.locator("#waiting-count")).to_have_text("1 waiting")  # no reload
        row = board.locator(f"#waiting-{chat}")
        await expect(row.get_by_text("Bo Chen")).to_be_visible()
        await expect(row.get_by_role("cell", name="general", exact=True)).to_be_visible()
        tile = board.get_by_role("article", name="transactional chat: no work")
        await expect(tile).to_be_visible()
        # Nobody may take it: the alerts come as it passes 80% of its 4 s target, then 4 s.
        alerts = board.get_by_role("list").filter(has_text="Bo Chen (Chat)")
        await expect(alerts.get_by_text("At 80%")).to_be_visible(timeout=10_000)
        await expect(alerts.get_by_text("Breached")).to_be_visible(timeout=10_000)
        await expect(row.get_by_text("breached")).to_be_visible()
        await board.screenshot(
            path=shot_path(f"supervisor-waiting-{_backend(site)}"), full_page=True
        )
        await alerts.get_by_role("button", name="Open").first.click()  # one click away
        detail = board.get_by_role("dialog", name=f"Interaction #{chat}")
        await expect(detail.get_by_text("Order status")).to_be_visible()
        await detail.get_by_role("button", name="Close").click()

        await row.get_by_label("Move Bo Chen's chat to").select_option("g:senior")
        await expect(board.get_by_text("Moved Bo Chen to senior.")).to_be_visible()
        await expect(board.locator("#waiting-count")).to_have_text("0 waiting")
        sue = board.get_by_role("row", name="Sue Park")
        await expect(sue.get_by_text("Bo Chen · offered")).to_be_visible()
        await services.queue.accept(chat, site["sue"])
        await expect(sue.get_by_text("Bo Chen · active")).to_be_visible()
        complaints = board.locator("#complaints-now")
        await expect(complaints).to_have_text("0 open · 0 overdue · 0 without an owner")
        await services.complaints.open(
            caller.id, source="api", interaction_ids=[chat], summary="Order late again"
        )
        # Nobody owns it: the default policy names no owner for the senior group.
        await expect(complaints).to_have_text("1 open · 0 overdue · 1 without an owner")
        # Answered after its target: the tile turns red with the service level it reached.
        missed = board.get_by_role("article", name="transactional chat: target missed")
        await expect(missed.get_by_text("0%").first).to_be_visible()
        await board.get_by_role("combobox", name="Presence of Ana Souza").select_option("away")
        await expect(board.get_by_text("Ana Souza is now away.")).to_be_visible()
        await expect(board.locator("#chart")).to_be_visible()
        await board.screenshot(path=shot_path(f"supervisor-{_backend(site)}"), full_page=True)
        await browser.close()

    moved = await services.interactions.get(chat)
    assert moved["agent_id"] == site["sue"] and moved["status"] == "active"
    assert any(e["data"].get("to_group") == "senior" for e in moved["events"])
    assert (await services.agents.get_agent(site["ana"]))["presence"] == "away"


def _filter(channel: Channel) -> Any:
    from contactcenter.interactions.records import InteractionFilter

    return InteractionFilter(channel, None, None, None, None, None)


async def test_an_admin_adds_a_login_and_a_token_on_the_settings_page(
    site: dict[str, Any], chromium: str
) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        page = await _log_in(
            browser, site["base"], "root", "/settings", shot=f"login-{_backend(site)}"
        )
        await page.get_by_label("Username").fill("nora")
        await page.get_by_label("Role").select_option("agent")
        await page.get_by_label("Agent").select_option(label="Ana Souza")
        await page.get_by_label("Password (10 characters at least)").fill("short")
        await page.get_by_role("button", name="Create login").click()
        await expect(page.get_by_role("alert")).to_contain_text("password")  # named, not made
        await page.get_by_label("Password (10 characters at least)").fill(PASSWORD)
        await page.get_by_role("button", name="Create login").click()
        await expect(page.get_by_role("cell", name="nora", exact=True)).to_be_visible()
        await page.get_by_label("Token name").fill("CRM sync")
        await page.get_by_label("Acts as").select_option(label="nora (agent)")
        await page.get_by_role("button", name="Create token").click()
        await expect(page.get_by_text("Copy this secret now")).to_be_visible()
        await expect(page.get_by_role("cell", name="CRM sync")).to_be_visible()
        await page.screenshot(path=shot_path(f"settings-{_backend(site)}"), full_page=True)
        await browser.close()
    users = {u["username"]: u for u in await site["services"].accounts.list_users()}
    assert users["nora"]["agent_id"] == site["ana"] and users["nora"]["role"] == "agent"


async def test_a_customer_answers_the_survey_page_in_chinese(
    site: dict[str, Any], chromium: str
) -> None:
    """The link from the survey mail, opened and submitted in a real browser."""
    from playwright.async_api import async_playwright, expect

    services: Services = site["services"]
    customer = (await services.customers.resolve("email", "wang@example.cn")).customer
    await services.customers.update(customer.id, {"language": "zh"})
    mail = await services.queue.enqueue(customer, Channel.EMAIL, subject="发票")
    sent = await services.survey_mail.send(mail, site["base"], asked_for=True)
    assert sent.mailed and sent.url is not None
    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        page = await (await browser.new_context()).new_page()
        await page.goto(sent.url)
        await expect(page.get_by_role("heading", name="您对我们的服务满意吗？")).to_be_visible()
        await page.get_by_role("button", name="提交").click()  # nothing chosen: the browser asks
        assert (await services.interactions.get(mail))["satisfaction"] is None
        group = page.get_by_role("group", name="您对我们的服务满意吗？")
        await group.get_by_label("4").check()
        await page.get_by_label("还有什么想告诉我们的吗？ （可选）").fill("很好")
        await page.screenshot(path=shot_path(f"survey-{_backend(site)}"), full_page=True)
        await page.get_by_role("button", name="提交").click()
        await expect(page.get_by_text("谢谢！")).to_be_visible()
        await page.reload()  # the link is used: it says so, and records nothing more
        await expect(page.get_by_text("此问卷已提交")).to_be_visible()
        await browser.close()
    assert (await services.interactions.get(mail))["satisfaction"] == 4


async def test_a_supervisor_accepts_a_tier_review_on_the_dashboard(
    site: dict[str, Any], chromium: str
) -> None:
    from playwright.async_api import async_playwright, expect

    from contactcenter.customers.orders import OrderIn

    services: Services = site["services"]
    big = (await services.customers.resolve("email", "buyer@example.com")).customer
    await services.customers.update(big.id, {"name": "Big Buyer"})
    await services.orders.record(big.id, OrderIn(amount="125000.00"))
    await services.tier_review.run()
    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        board = await _log_in(browser, site["base"], "boss", "/supervisor")
        row = board.get_by_role("row", name="Big Buyer")
        await expect(row.get_by_text("Key account")).to_be_visible()
        await row.get_by_role("button", name="Accept key account for Big Buyer").click()
        await expect(board.get_by_text("Big Buyer: now key account.")).to_be_visible()
        await expect(
            board.get_by_text("No customer's orders suggest another tier.")
        ).to_be_visible()
        await browser.close()
    assert (await services.customers.get(big.id)).tier.value == "key_account"
