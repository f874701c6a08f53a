"""`parse_mail` never raises, whatever a stranger sends: a property test over mutated real mails
(random bytes, cuts, splices, deep nesting, odd charsets, long and repeated headers), and the
inputs that once raised or took seconds, each read to a mail with its problem named."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactcenter.mail.parse import ParsedMail, parse_mail

CORPUS = sorted((Path(__file__).parent.parent / "data" / "mail").glob("*.eml"))
REAL = [path.read_bytes() for path in CORPUS]
HEAD = b"From: eve@example.org\r\nTo: support@example.com\r\nSubject: x\r\n"

# Pieces a mutation splices in: what broke the parser once, and what mail really contains.
ODD = [
    b"\x00",
    b"\r\n",
    b"\r\n\r\n",
    b"=?",
    b"?=",
    b"=?utf-8?B?A?=",
    "=?utf½8?Q?x?=".encode(),
    b"=?idna?q?xn--zz?=",
    b"charset=idna",
    b'charset="utf\x008"',
    b"charset=rot13",
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n",
    b"--b--",
    b"filename*",
    b"Content-Disposition: attachment; filename*\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Date: Mon, 1 Jan 99999999999999999999 10:00:00 +0000\r\n",
    b"(" * 300,
    b"a:" * 300,
    b"\\" * 300,
    b'"' * 300,
    b"<!--",
    b"<" * 300,
    b"\xff\xfe",
    b"\xe4\xbd\xa0",
    b"\t",
    b"From: " + b"(" * 2000 + b"a@b.example\r\n",
    b"=\r\n",
    b"\r\n" * 300,
]


def _check(mail: ParsedMail) -> None:
    assert isinstance(mail, ParsedMail)
    texts = [
        mail.message_id,
        mail.subject,
        mail.sender_name,
        mail.text,
        mail.new_text,
        *mail.in_reply_to,
        *mail.references,
        *(a.filename for a in mail.attachments),
    ]
    assert not any("\0" in t for t in texts), "NUL kept"
    assert mail.sender is None or "@" in mail.sender
    assert len(mail.subject) <= 500 and mail.content_digest


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(REAL)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "splice", "repeat", "bytes", "nest"]))
        at = draw(st.integers(0, len(raw)))
        if kind == "flip" and raw:
            raw[min(at, len(raw) - 1)] = draw(st.integers(0, 255))
        elif kind == "cut":
            raw = raw[:at] + raw[at + draw(st.integers(1, 200)) :]
        elif kind == "splice":
            raw[at:at] = draw(st.sampled_from(ODD))
        elif kind == "repeat":  # a piece of the mail many times over: long headers, long lines
            piece = bytes(raw[at : at + draw(st.integers(1, 20))])
            raw[at:at] = piece * draw(st.integers(2, 400))
        elif kind == "bytes":
            raw[at:at] = draw(st.binary(max_size=64))
        else:  # nesting: multiparts inside multiparts
            depth = draw(st.integers(2, 300))
            raw[at:at] = b"".join(
                b"Content-Type: multipart/mixed; boundary=n%d\r\n\r\n--n%d\r\n" % (i, i)
                for i in range(depth)
            )
    return bytes(raw)


@settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_a_mutated_real_mail_is_read_never_raised(raw: bytes) -> None:
    _check(parse_mail(raw))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_are_read_never_raised(raw: bytes) -> None:
    _check(parse_mail(raw))


POISON = {
    "idna charset": HEAD + b"Content-Type: text/plain; charset=idna\r\n\r\nxn--zz",
    "NUL in a charset": HEAD + b'Content-Type: text/plain; charset="utf\x008"\r\n\r\nhi',
    "a year of twenty digits": HEAD + b"Date: 1 Jan 99999999999999999999 10:00 +0000\r\n\r\nx",
    "a zone of twenty digits": HEAD + b"Date: 1 Jan 2020 10:00:00 99999999999999999999\r\n\r\nx",
    "bad base64 word": b"From: =?utf-8?B?A?= <a@b.example>\r\n\r\nhi",
    "bad charset word": "From: =?utf½8?Q?x?= <a@b.example>\r\n\r\nhi".encode(),
    "2,000 (": b"From: " + b"(" * 2000 + b"a@b.example\r\n\r\nhi",
    "2,000 a:": b"From: " + b"a:" * 2000 + b"a@b.example\r\n\r\nhi",
    "filename* alone": HEAD + b"Content-Disposition: attachment; filename*\r\n\r\nhi",
    "1,000 nested multiparts": HEAD
    + b"MIME-Version: 1.0\r\n"
    + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(1000)
    )
    + b"hi",
    "NUL in the body": HEAD + b"\r\nhello\x00world",
}


@pytest.mark.parametrize("raw", POISON.values(), ids=POISON.keys())
def test_inputs_that_once_raised_are_read(raw: bytes) -> None:
    mail = parse_mail(raw)
    _check(mail)
    assert mail.text or mail.attachments  # something to show the agent


def test_a_nul_in_the_body_is_removed_and_the_rest_kept() -> None:
    assert parse_mail(POISON["NUL in the body"]).text == "helloworld"


def test_a_mail_the_mime_reader_gives_up_on_keeps_its_sender_and_text() -> None:
    mail = parse_mail(POISON["1,000 nested multiparts"])
    assert mail.sender == "eve@example.org" and mail.subject == "x"
    assert any("read as plain text" in p for p in mail.problems)


def test_every_corpus_mail_reads_cleanly() -> None:
    assert len(REAL) >= 5
    for path, raw in zip(CORPUS, REAL, strict=True):
        mail = parse_mail(raw)
        assert mail.sender and mail.text, path.name
        assert not any("unreadable" in p for p in mail.problems), (path.name, mail.problems)
