"""Twilio's voice webhooks: form posts in, TwiML out.

Every request must carry a valid `X-Twilio-Signature`, computed by Twilio with the account's auth
token over the URL it requested and the posted fields; it is checked with the `twilio` package's
own `RequestValidator` against `CONTACTCENTER_PUBLIC_URL` plus the path (or, without that setting,
the URL the request arrived at). A bad or missing signature gets 403 and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from contactcenter.channels.voice.calls import Form
from contactcenter.channels.voice.channel import VoiceChannel
from contactcenter.settings import Settings
from contactcenter.web.endpoints import Call, RouteTable
from contactcenter.web.errors import ApiError

routes = RouteTable("phone")
_RESPONSES = {
    200: "TwiML",
    403: "Missing or wrong X-Twilio-Signature",
    503: "The phone channel is not configured",
}


def signed_url(settings: Settings, request: web.Request) -> str:
    """The URL Twilio signed: the public address when one is set, else this request's own."""
    if settings.public_url:
        return settings.public_url + request.path_qs
    return str(request.url)


async def _signed_form(call: Call) -> Form:
    settings = call.services.settings
    if not settings.twilio_auth_token:
        raise ApiError(
            503, "phone_not_configured", "set CONTACTCENTER_TWILIO_AUTH_TOKEN to take calls"
        )
    signature = call.request.headers.get("X-Twilio-Signature", "")
    if not signature:  # refused before the body is read
        raise ApiError(403, "bad_signature", "X-Twilio-Signature is missing")
    if call.request.content_type != "application/x-www-form-urlencoded":  # as Twilio posts
        raise ApiError(
            415, "unsupported_media_type", "Twilio's webhooks are application/x-www-form-urlencoded"
        )
    try:
        posted = await call.request.post()
    except ValueError as exc:
        raise ApiError(400, "malformed_body", f"the form cannot be read: {exc}") from None
    form = {key: str(posted[key]) for key in posted}
    validator = RequestValidator(settings.twilio_auth_token)
    if not signature or not validator.validate(signed_url(settings, call.request), form, signature):
        raise ApiError(403, "bad_signature", "X-Twilio-Signature does not match this request")
    if not settings.public_url:  # TwiML sent through the REST API needs absolute URLs
        call.services.voice.heard_at(str(call.request.url.origin()))
    return form


Step = Callable[[VoiceChannel, Form, Mapping[str, str]], Awaitable[VoiceResponse]]


def _webhook(
    name: str, summary: str, step: Step, *, live: Callable[[Mapping[str, str]], bool]
) -> None:
    """`POST /twilio/voice/{name}`: the signed form, then the voice channel's `step` (with the
    query Twilio was given), run `safely`; `live` says whether a caller is on the line."""

    async def handle(call: Call) -> web.Response:
        form = await _signed_form(call)
        voice, query = call.services.voice, call.request.query
        response = await voice.safely(form, lambda: step(voice, form, query), live=live(query))
        return web.Response(text=str(response), content_type="text/xml")

    handle.__name__ = name
    routes.route(
        "POST",
        f"/twilio/voice/{name}",
        summary=summary,
        role=None,
        responses=_RESPONSES,
        content_type="text/xml",
    )(handle)


def _on_the_line(_query: Mapping[str, str]) -> bool:
    return True


_webhook(
    "incoming",
    "A call comes in (Twilio)",
    lambda voice, form, _query: voice.incoming(form),
    live=_on_the_line,
)
_webhook(
    "gather",
    "Keys or words from the caller (Twilio)",
    lambda voice, form, query: voice.gather(form, query.get("step", "menu")),
    live=_on_the_line,
)
_webhook(
    "wait",
    "A round of holding (Twilio's waitUrl)",
    lambda voice, form, _query: voice.wait(form),
    live=_on_the_line,
)
_webhook(
    "status",
    "The call left the hold or ended (Twilio's action and status callbacks)",
    lambda voice, form, query: voice.status(form, query.get("leg", "call")),
    live=lambda _query: False,
)
_webhook(
    "survey",
    "Keys for a question of the post-call survey (Twilio)",
    lambda voice, form, query: voice.survey(form, query),
    live=_on_the_line,
)
_webhook(
    "recording",
    "A recording is ready: a call's, or a voicemail (Twilio)",
    lambda voice, form, query: voice.recording(form, query.get("kind", "call")),
    live=lambda query: query.get("kind", "call") == "voicemail",
)
