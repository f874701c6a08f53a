"""Faxes by fax-to-email over real SMTP sessions, on both backends: a gateway's mail with a
generated three-page PDF or a multi-page TIFF becomes a fax interaction on the sender's fax
identity with page previews; documents that cannot be read, gateway mail without a document or a
number are quarantined with the reason; an agent's answer goes to the gateway's email-to-fax
address through a real SMTP sink."""

from __future__ import annotations

import io
from email.message import EmailMessage

import aiohttp
from PIL import Image, ImageDraw
from sqlalchemy import select

from contactcenter.model import Presence
from contactcenter.store.tables import mail_inbox, outbox

from ..mail_desk import Desk, mail

EFAX_SUBJECT = 'eFax message from "+1 212 555 0147" - 3 page(s), Caller-ID: +1-212-555-0147'


def pages(count: int) -> list[Image.Image]:
    drawn = []
    for number in range(1, count + 1):
        page = Image.new("1", (1728, 2200), 1)
        ImageDraw.Draw(page).text((100, 100), f"Order form, page {number}", fill=0)
        drawn.append(page)
    return drawn


def pdf(count: int) -> bytes:
    out = io.BytesIO()
    first, *rest = pages(count)
    first.save(out, "PDF", save_all=True, append_images=rest, resolution=204)
    return out.getvalue()


def tiff(count: int) -> bytes:
    out = io.BytesIO()
    first, *rest = pages(count)
    first.save(out, "TIFF", save_all=True, append_images=rest, compression="group4", dpi=(204, 196))
    return out.getvalue()


def fax_mail(
    document: bytes | None,
    filename: str = "fax.pdf",
    subject: str = EFAX_SUBJECT,
    sender: str = "eFax <message@inbound.efax.com>",
    content_type: tuple[str, str] = ("application", "pdf"),
) -> EmailMessage:
    message = mail("You have received a fax. See the attachment.", subject=subject, sender=sender)
    if document is not None:
        message.add_attachment(
            document, maintype=content_type[0], subtype=content_type[1], filename=filename
        )
    return message


async def inbox_row(desk: Desk, message: EmailMessage):  # type: ignore[no-untyped-def]
    async with desk.services.db.connect() as conn:
        return (
            await conn.execute(
                select(mail_inbox).where(mail_inbox.c.message_id == message["Message-ID"][1:-1])
            )
        ).one()


async def test_a_gateway_mail_with_a_pdf_is_a_fax_with_its_pages(desk: Desk) -> None:
    message = fax_mail(pdf(3))
    await desk.send(message)
    row = await inbox_row(desk, message)
    assert row.status == "done"
    fax = await desk.services.interactions.get(row.interaction_id)
    assert fax["channel"] == "fax" and fax["status"] == "queued"
    assert fax["attributes"]["fax_number"] == "+12125550147"
    assert fax["attributes"]["pages"] == 3 and fax["attributes"]["gateway"] == "efax"
    assert [m["body"] for m in fax["messages"]] == ["Fax from +12125550147, 3 pages."]
    [attachment] = fax["attachments"]
    assert attachment["filename"] == "fax.pdf" and attachment["pages"] == 3
    customer = await desk.services.customers.get(fax["customer_id"])
    assert [(i.kind, i.value) for i in customer.identities] == [("fax", "+12125550147")]
    for page in (1, 2, 3):
        png = await desk.services.fax.previews.png(attachment["id"], page)
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG" and image.width == 850 and image.height > 1000
    async with desk.services.db.connect() as conn:  # a gateway is never acknowledged
        assert (await conn.execute(select(outbox))).first() is None


async def test_a_multi_page_tiff_from_another_gateway_counts_every_page(desk: Desk) -> None:
    message = fax_mail(
        tiff(4),
        "scan.tif",
        "New Fax Message from (650) 555-0182 on 11/24/2026 at 9:15 AM",
        "RingCentral <service@ringcentral.com>",
        ("image", "tiff"),
    )
    await desk.send(message)
    row = await inbox_row(desk, message)
    fax = await desk.services.interactions.get(row.interaction_id)
    assert fax["attributes"]["fax_number"] == "+16505550182"
    assert fax["attachments"][0]["pages"] == 4
    png = await desk.services.fax.previews.png(fax["attachments"][0]["id"], 4)
    with Image.open(io.BytesIO(png)) as image:  # fine mode: the page keeps its proportions
        assert image.width == 850 and 1050 < image.height < 1200


async def test_a_document_that_cannot_be_read_is_quarantined_on_its_fax(desk: Desk) -> None:
    broken = fax_mail(b"%PDF-1.4\n1 0 obj << /Type /Catalog", "broken.pdf")
    await desk.send(broken)
    row = await inbox_row(desk, broken)
    assert row.status == "quarantined" and "broken.pdf: not a readable PDF" in row.reason
    fax = await desk.services.interactions.get(row.interaction_id)  # the agent still sees it
    assert fax["channel"] == "fax" and fax["attachments"][0]["pages"] is None
    not_tiff = fax_mail(b"II*\x00 this is no image", "page.tif", content_type=("image", "tiff"))
    await desk.send(not_tiff)
    assert "page.tif: not a readable TIFF" in (await inbox_row(desk, not_tiff)).reason


async def test_gateway_mail_without_a_document_or_a_number_is_quarantined(desk: Desk) -> None:
    report = fax_mail(None, subject="Your fax to +1 415 555 0100 was delivered")
    await desk.send(report)
    row = await inbox_row(desk, report)
    assert row.status == "quarantined" and row.interaction_id is None
    assert "without a PDF or TIFF document" in row.reason
    anonymous = fax_mail(pdf(1), subject="eFax message - 1 page(s)")
    await desk.send(anonymous)
    row = await inbox_row(desk, anonymous)
    assert row.status == "quarantined" and "no sender's fax number" in row.reason
    # The same PDF from a customer's own address is an email with an attachment.
    own = fax_mail(pdf(1), sender="Ann Lee <ann@example.org>", subject="Signed form")
    await desk.send(own)
    email = await desk.services.interactions.get((await inbox_row(desk, own)).interaction_id)
    assert email["channel"] == "email"


async def test_an_agent_answers_a_fax_through_the_gateway(desk: Desk) -> None:
    services = desk.services
    incoming = fax_mail(pdf(3))
    await desk.send(incoming)
    fax_id = (await inbox_row(desk, incoming)).interaction_id
    agent_id, headers = await desk.agent()
    await services.queue.set_presence(agent_id, Presence.AVAILABLE)
    await services.queue.accept(fax_id, agent_id)

    def form(document: bytes, filename: str) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("document", document, filename=filename, content_type="application/pdf")
        data.add_field("note", "Your order is confirmed.")
        return data

    path = f"/api/v1/interactions/{fax_id}/fax"
    bad = await desk.client.post(path, headers=headers, data=form(b"%PDF-1.4 nothing", "x.pdf"))
    assert (
        bad.status == 422 and "x.pdf: not a readable PDF" in (await bad.json())["error"]["message"]
    )
    confirmation = pdf(2)  # made once: the PDF holds the time it was made
    sent = await desk.client.post(
        path, headers=headers, data=form(confirmation, "confirmation.pdf")
    )
    assert sent.status == 201
    body = await sent.json()
    assert [m["direction"] for m in body["messages"]] == ["inbound", "outbound"]
    assert body["attachments"][-1]["filename"] == "confirmation.pdf"
    assert body["attachments"][-1]["pages"] == 2
    [out] = await desk.sink.wait_for(1)
    assert out["To"] == "12125550147@efaxsend.com" and out["From"] == "support@example.com"
    assert out["Subject"] == f"Fax [#CC-{fax_id}]"
    [document] = list(out.iter_attachments())
    assert document.get_content_type() == "application/pdf"
    assert document.get_content() == confirmation
    preview = await desk.client.get(
        f"/api/v1/attachments/{body['attachments'][0]['id']}/pages/2", headers=headers
    )
    assert preview.status == 200 and preview.content_type == "image/png"
    missing = await desk.client.get(
        f"/api/v1/attachments/{body['attachments'][0]['id']}/pages/9", headers=headers
    )
    assert missing.status == 404
