"""The chat protocol's pure parts: visitors' frames read or refused with the field named, and
identity tokens verified only when the host site signed them with the shared secret."""

from __future__ import annotations

import json

import pytest

from contactcenter.channels.chat.frames import (
    MAX_FRAME_BYTES,
    MAX_TEXT,
    Answer,
    FrameError,
    Hello,
    Message,
    read_frame,
)
from contactcenter.channels.chat.identity import IdentityError, sign, verify

SECRET = "shared-with-the-host-site"
NOW = 1_790_000_000


def test_frames_are_read_as_written() -> None:
    sent = {
        "type": "hello",
        "visitor_id": "v-1234567890",
        "chat_id": 7,
        "after_seq": 120,
        "email": " Ann@Example.ORG ",
    }
    hello = read_frame(json.dumps(sent))
    assert hello == Hello(
        type="hello", visitor_id="v-1234567890", chat_id=7, after_seq=120, email="ann@example.org"
    )
    script = "<script>alert(1)</script> where is my order?"
    message = read_frame(json.dumps({"type": "message", "text": f"  {script}  "}).encode())
    assert message == Message(type="message", text=script)  # kept as text, only trimmed
    assert read_frame('{"type": "answer", "article_id": 3, "helped": false}') == Answer(
        type="answer", article_id=3, helped=False
    )


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        ("not json", "malformed", None),
        ("[1, 2]", "malformed", None),
        (b"\xff\xfe", "malformed", None),
        ('{"text": "hi"}', "unknown_type", "type"),
        ('{"type": "shout", "text": "hi"}', "unknown_type", "type"),
        ('{"type": "message", "text": "   "}', "invalid", "text"),
        ('{"type": "message", "text": "hi", "html": "<b>"}', "invalid", "html"),
        (json.dumps({"type": "message", "text": "x" * (MAX_TEXT + 1)}), "invalid", "text"),
        ('{"type": "hello", "visitor_id": "../../etc"}', "invalid", "visitor_id"),
        ('{"type": "hello", "email": "not an address"}', "invalid", "email"),
        ('{"type": "answer", "article_id": 0, "helped": true}', "invalid", "article_id"),
        ("x" * (MAX_FRAME_BYTES + 1), "too_large", None),
    ],
)
def test_bad_frames_are_named(raw: str | bytes, code: str, field: str | None) -> None:
    with pytest.raises(FrameError) as refused:
        read_frame(raw)
    assert (refused.value.code, refused.value.field) == (code, field)
    frame = refused.value.frame()
    assert frame["type"] == "error" and frame["message"]


def test_a_signed_identity_is_verified() -> None:
    token = sign(SECRET, "user-42", NOW + 600, email="ann@example.org", name="Ann Lee")
    visitor = verify(token, SECRET, NOW)
    assert (visitor.subject, visitor.email, visitor.name) == (
        "user-42",
        "ann@example.org",
        "Ann Lee",
    )


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (sign("another-secret", "user-42", NOW + 600), "signature"),
        (sign(SECRET, "user-42", NOW - 1), "expired"),
        (sign(SECRET, "user-42", NOW + 3 * 24 * 3600), "lives longer"),
        ("user-42", "not an identity token"),
        ("e30.", "not an identity token"),
        ("e30.!!!", "signature"),
    ],
)
def test_forged_old_and_broken_tokens_are_refused(token: str, reason: str) -> None:
    with pytest.raises(IdentityError, match=reason):
        verify(token, SECRET, NOW)


def test_a_token_with_a_changed_payload_is_refused() -> None:
    payload, signature = sign(SECRET, "user-42", NOW + 600).split(".")
    other, _ = sign(SECRET, "user-1", NOW + 600).split(".")
    with pytest.raises(IdentityError, match="signature"):
        verify(f"{other}.{signature}", SECRET, NOW)
    with pytest.raises(IdentityError, match="no shared secret"):
        verify(f"{payload}.{signature}", "", NOW)
