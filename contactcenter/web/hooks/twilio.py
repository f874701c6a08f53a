"""Twilio's voice webhooks: form posts in, TwiML out.

Every request must carry a valid `X-Twilio-Signature`, computed by Twilio with the account's auth
token over the URL it requested and the posted fields; it is checked with the `twilio` package's
own `RequestValidator` against `CONTACTCENTER_PUBLIC_URL` plus the path (or, without that setting,
the URL the request arrived at). A bad or missing signature gets 403 and changes nothing.
"""

from __future__ import annotations

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from contactcenter.channels.voice.calls import Form
from contactcenter.settings import Settings
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.web.errors import ApiError

routes = RouteTable("phone")
_RESPONSES = {200: "TwiML", 403: "Missing or wrong X-Twilio-Signature",
              503: "The phone channel is not configured"}  # fmt: skip


def signed_url(settings: Settings, request: web.Request) -> str:
    """The URL Twilio signed: the public address when one is set, else this request's own."""
    if settings.public_url:
        return settings.public_url + request.path_qs
    return str(request.url)


async def _signed_form(call: Call) -> Form:
    settings = call.services.settings
    if not settings.twilio_auth_token:
        raise ApiError(503, "phone_not_configured",
                       "set CONTACTCENTER_TWILIO_AUTH_TOKEN to take calls")  # fmt: skip
    signature = call.request.headers.get("X-Twilio-Signature", "")
    if not signature:  # refused before the body is read
        raise ApiError(403, "bad_signature", "X-Twilio-Signature is missing")
    if call.request.content_type != "application/x-www-form-urlencoded":  # as Twilio posts
        raise ApiError(415, "unsupported_media_type",
                       "Twilio's webhooks are application/x-www-form-urlencoded")  # fmt: skip
    try:
        posted = await call.request.post()
    except ValueError as exc:
        raise ApiError(400, "malformed_body", f"the form cannot be read: {exc}") from None
    form = {key: str(posted[key]) for key in posted}
    validator = RequestValidator(settings.twilio_auth_token)
    if not signature or not validator.validate(signed_url(settings, call.request), form, signature):
        raise ApiError(403, "bad_signature", "X-Twilio-Signature does not match this request")
    if not settings.public_url:  # TwiML sent through the REST API needs absolute URLs
        call.services.voice.connector.base_url = str(call.request.url.origin())
    return form


def _twiml(response: VoiceResponse) -> web.Response:
    return web.Response(text=str(response), content_type="text/xml")


@routes.route("POST", "/twilio/voice/incoming", summary="A call comes in (Twilio)", role=None,
              responses=_RESPONSES, content_type="text/xml")  # fmt: skip
async def incoming(call: Call) -> web.Response:
    form = await _signed_form(call)
    voice = call.services.voice
    return _twiml(await voice.safely(form, lambda: voice.incoming(form)))


@routes.route("POST", "/twilio/voice/gather", summary="Keys or words from the caller (Twilio)",
              role=None, responses=_RESPONSES, content_type="text/xml")  # fmt: skip
async def gather(call: Call) -> web.Response:
    form = await _signed_form(call)
    voice = call.services.voice
    step = call.request.query.get("step", "menu")
    return _twiml(await voice.safely(form, lambda: voice.gather(form, step)))


@routes.route("POST", "/twilio/voice/wait", summary="A round of holding (Twilio's waitUrl)",
              role=None, responses=_RESPONSES, content_type="text/xml")  # fmt: skip
async def wait(call: Call) -> web.Response:
    form = await _signed_form(call)
    voice = call.services.voice
    return _twiml(await voice.safely(form, lambda: voice.wait(form)))


@routes.route("POST", "/twilio/voice/status",
              summary="The call left the hold or ended (Twilio's action and status callbacks)",
              role=None, responses=_RESPONSES, content_type="text/xml")  # fmt: skip
async def status(call: Call) -> web.Response:
    form = await _signed_form(call)
    voice = call.services.voice
    leg = call.request.query.get("leg", "call")
    return _twiml(await voice.safely(form, lambda: voice.status(form, leg), live=False))


@routes.route("POST", "/twilio/voice/recording",
              summary="A recording is ready: a call's, or a voicemail (Twilio)",
              role=None, responses=_RESPONSES, content_type="text/xml")  # fmt: skip
async def recording(call: Call) -> web.Response:
    form = await _signed_form(call)
    voice = call.services.voice
    kind = call.request.query.get("kind", "call")
    return _twiml(
        await voice.safely(form, lambda: voice.recording(form, kind), live=kind == "voicemail")
    )
