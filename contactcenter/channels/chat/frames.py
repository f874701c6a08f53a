"""What the chat widget and the service say to each other over `/chat/ws`: JSON frames (pure).

A visitor's frame is one JSON object with a `type`; `read_frame` turns the text into one of the
frame classes below or a `FrameError` that names what is wrong, so that the socket can answer
with an error frame (and the chat goes on) or close with one of the `Close` codes (and other
chats never notice). Text is kept as the visitor wrote it: pages show it as text, never as
markup.

    {"type": "hello", "visitor_id": "v-3f1c…", "chat_id": 41, "after_seq": 1207,
     "name": "Ann", "email": "ann@example.org", "identity_token": "…"}
    {"type": "message", "text": "Where is my order?"}
    {"type": "typing"}
    {"type": "answer", "article_id": 12, "helped": true}   the bot's "did this help?"
    {"type": "agent"}                                      asks for a person
    {"type": "transcript", "email": "ann@example.org"}      the conversation by mail
    {"type": "end"}

`hello` comes first on every connection; with `chat_id` and `after_seq` (the last sequence
number the widget showed) it resumes a chat and the service replays what came after.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from contactcenter.customers.identities import InvalidIdentity, normalize_email

MAX_FRAME_BYTES = 16_384  # a frame; a message's text is at most MAX_TEXT characters
MAX_TEXT = 4000

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
VisitorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _email(raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidIdentity as exc:
        raise ValueError(str(exc)) from None


Email = Annotated[str, AfterValidator(_email)]


class Close(IntEnum):
    """WebSocket close codes the service uses on `/chat/ws` (4000-4999 are the application's)."""

    NORMAL = 1000  # the chat ended
    GOING_AWAY = 1001  # the service is stopping; the widget reconnects
    POLICY = 1008  # a page from a site that is not allowed
    TOO_BIG = 1009  # a frame over MAX_FRAME_BYTES
    TRY_AGAIN = 1013  # the connection fell too far behind; the widget reconnects and replays
    NO_HELLO = 4400  # the first frame was not a valid hello
    FORBIDDEN = 4403  # an identity token that proves nothing
    UNKNOWN_CHAT = 4404  # resuming a chat that is not this visitor's, or is over
    TOO_FAST = 4429  # more frames than the pace allows, again after a warning


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hello(_Frame):
    type: Literal["hello"]
    visitor_id: VisitorId | None = None
    chat_id: int | None = Field(default=None, ge=1)
    after_seq: int = Field(default=0, ge=0)
    name: Name | None = None
    email: Email | None = None
    identity_token: Token | None = None


class Message(_Frame):
    type: Literal["message"]
    text: Text


class Typing(_Frame):
    type: Literal["typing"]


class Answer(_Frame):
    type: Literal["answer"]
    article_id: int = Field(ge=1)
    helped: bool


class AskAgent(_Frame):
    type: Literal["agent"]


class Transcript(_Frame):
    type: Literal["transcript"]
    email: Email


class End(_Frame):
    type: Literal["end"]


class SurveyReply(_Frame):
    """The visitor's answers to their chat's survey: question id → what they chose or wrote."""

    type: Literal["survey"]
    chat_id: int = Field(ge=1)
    answers: dict[
        Annotated[str, StringConstraints(max_length=40)],
        Annotated[str, StringConstraints(max_length=2000)],
    ] = Field(max_length=10)


VisitorFrame = Hello | Message | Typing | Answer | AskAgent | Transcript | End | SurveyReply
_BY_TYPE: dict[str, type[_Frame]] = {
    "hello": Hello,
    "message": Message,
    "typing": Typing,
    "answer": Answer,
    "agent": AskAgent,
    "transcript": Transcript,
    "end": End,
    "survey": SurveyReply,
}


class FrameError(ValueError):
    """A frame that cannot be used: `code` for the widget (malformed, unknown_type, invalid,
    too_large), `field` where one is to blame, and a message a person can read."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field

    def frame(self) -> dict[str, str | None]:
        """The error frame the widget is sent."""
        return {"type": "error", "code": self.code, "message": str(self), "field": self.field}


def read_frame(raw: str | bytes) -> VisitorFrame:
    """The visitor's frame in `raw`, or FrameError naming what is wrong with it."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"a frame may have at most {MAX_FRAME_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FrameError("malformed", "a frame is one JSON object") from None
    if not isinstance(data, dict):
        raise FrameError("malformed", "a frame is one JSON object")
    kind = data.get("type")
    model = _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(_BY_TYPE)
        raise FrameError("unknown_type", f"unknown frame type {kind!r}; known: {known}", "type")
    try:
        return model.model_validate(data)  # type: ignore[return-value]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise FrameError("invalid", f"{field}: {first['msg']}", field) from None
