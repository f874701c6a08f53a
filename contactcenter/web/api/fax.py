"""REST: agents answer faxes with a document, and read the page previews of any document."""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from contactcenter.model import Role
from contactcenter.web.api.queue import INTERACTION, agent_of
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.web.errors import ApiError

routes = RouteTable("fax")


@routes.route(
    "POST",
    INTERACTION + "/fax",
    summary="Answer a fax interaction you hold: a multipart form with `document` (a PDF or "
    "TIFF file) and an optional `note` (the cover text), mailed to the fax gateway",
    role=Role.AGENT,
    responses={
        201: "Kept in the outbox and on the timeline",
        409: "Not yours, or not a fax",
        413: "Larger than the body limit",
        422: "Not a readable PDF or TIFF",
    },
)
async def send_fax(call: Call) -> web.Response:
    interaction_id = call.path_id("interaction_id")
    filename, document, note = await _form(call.request)
    await call.services.fax.send(interaction_id, agent_of(call), filename, document, note)
    return web.json_response(await call.services.interactions.get(interaction_id), status=201)


@routes.route(
    "GET",
    r"/api/v1/attachments/{attachment_id:\d+}/pages/{page:\d+}",
    summary="A PNG preview of one page of a PDF or TIFF attachment (a fax), from page 1",
    role=Role.AGENT,
    responses={200: "The page as PNG", 404: "No such page"},
    content_type="image/png",
)
async def page_preview(call: Call) -> web.Response:
    page = call.path_id("page")
    png = await call.services.fax.previews.png(call.path_id("attachment_id"), page)
    return web.Response(
        body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
    )


async def _form(request: web.Request) -> tuple[str, bytes, str]:
    if request.content_type != "multipart/form-data":
        why = "send the document as multipart/form-data with a `document` file"
        raise ApiError(415, "unsupported_media_type", why)
    if "boundary=" not in request.headers.get("Content-Type", ""):
        raise ApiError(400, "malformed_body", "the multipart/form-data body names no boundary")
    try:
        return await _read_form(request)
    except (ValueError, AssertionError) as exc:  # how aiohttp refuses a broken multipart body
        why = f"the multipart body cannot be read: {exc}".rstrip(": ")
        raise ApiError(400, "malformed_body", why) from None


async def _read_form(request: web.Request) -> tuple[str, bytes, str]:
    filename, document, note = "", b"", ""
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise ApiError(422, "invalid", "nested multipart bodies are not accepted")
        if part.name == "document":
            filename, document = part.filename or "fax.pdf", bytes(await part.read())
        elif part.name == "note":
            note = (await part.text()).strip()[:10_000]
        else:
            raise ApiError(422, "unknown_field", f"unknown field {part.name!r}", part.name)
    if not document:
        raise ApiError(422, "missing_field", "document is required", "document")
    if "\0" in note:
        raise ApiError(422, "invalid", "note: contains a NUL character", "note")
    return filename.replace("/", "_").replace("\0", "")[:255], document, note
