"""Reading an inbound mail: headers (RFC 2047), the text (plain preferred, HTML made safe text),
the new part of a reply apart from its quoted history, attachments, and the signs of mail that
must never be answered (RFC 3834). Pure: bytes in, a `ParsedMail` out; whatever is wrong with the
message is listed in `problems` rather than raised, so that nothing is dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from functools import lru_cache
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

# Charsets that mail declares but writes in a superset of.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs",
              "iso-8859-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}  # fmt: skip
_NEVER_ANSWER = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+.-].*)?$", re.I
)
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
# `"Name" <a@b.c>`, `Name <a@b.c>` or `a@b.c`, in plain ASCII: most From headers.
_SIMPLE_ADDRESS = re.compile(
    r'^\s*(?:(?:"([^"\\]*)"|([^"<>,;:@\\()\[\]]*?))\s*<([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>'
    r"|([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+))\s*$"
)
_EIGHT_BIT = re.compile("[\udc80-\udcff]")  # bytes the parser could not read as ASCII
MAX_PARTS = 200
MAX_DEPTH = 10


class _RememberedHeaders(HeaderRegistry):
    """The standard header registry, remembering the headers it has parsed: `policy.default`
    parses a header each time it is read, and most mails share most header values
    (`Content-Type: text/plain; charset="utf-8"`, `MIME-Version: 1.0`). Parsed headers are
    immutable, so sharing them is safe."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed = lru_cache(maxsize=4096)(super().__call__)

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > 300:  # long values are rarely repeated; not worth their memory
            return super().__call__(name, value)
        return self._parsed(name, value)


# `policy.default` with the remembering registry: what every mail is read and written with.
POLICY = policy.default.clone(header_factory=_RememberedHeaders())


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class ParsedMail:
    message_id: str  # without the angle brackets; made from the content when missing
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: str | None  # the From address, lower case; None when missing or unreadable
    sender_name: str
    recipients: list[str]  # To, Cc and Delivered-To addresses, lower case
    date: datetime | None
    text: str  # the body as text
    new_text: str  # the body without the quoted history of a reply
    attachments: list[Attachment]
    do_not_answer: str | None  # why no acknowledgement may go back (RFC 3834), or None
    problems: list[str] = field(default_factory=list)
    digest: str = ""  # SHA-256 of the raw message
    message: EmailMessage | None = field(default=None, repr=False, compare=False)

    def header(self, name: str) -> str:
        """Any other header as text ("" when absent), read as safely as the ones above."""
        return "" if self.message is None else _header(self.message, name, [])

    def headers_for_threading(self) -> list[str]:
        """Message-IDs this mail answers, nearest first."""
        return [*self.in_reply_to, *reversed(self.references)]


def parse_mail(raw: bytes) -> ParsedMail:
    problems: list[str] = []
    digest = hashlib.sha256(raw).hexdigest()
    message = message_from_bytes(raw, policy=POLICY)
    assert isinstance(message, EmailMessage)
    for defect in message.defects[:5]:
        problems.append(f"malformed: {type(defect).__name__}")
    # Headers that are read as written (ids, flags, dates) skip the header registry, whose
    # parsing of every header read is most of the cost of reading a mail.
    plain = _plain_headers(message)
    subject = plain.get("subject", "")
    if not subject.isascii() or "=?" in subject:  # encoded words or 8-bit bytes to read
        subject = _header(message, "Subject", problems)
    sender_name, sender = _sender(_written(plain, "From", problems), problems)
    if sender is None:  # someone to answer may still be named elsewhere
        for name in ("Reply-To", "Sender", "Return-Path"):
            sender = _sender(_written(plain, name, []), [])[1]
            if sender is not None:
                problems.append(f"sender taken from {name}")
                break
    recipients = [
        address.lower()
        for _, address in getaddresses(
            [_written(plain, name, problems) for name in ("To", "Cc", "Delivered-To")]
        )
        if "@" in address
    ]
    ids = _MESSAGE_ID.findall(plain.get("message-id", ""))
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    _walk(message, texts, htmls, attachments, problems, depth=0, count=[0])
    text = "\n\n".join(t for t in texts if t.strip()) or "\n\n".join(_html_text(h) for h in htmls)
    text = text.replace("\r\n", "\n").strip()
    return ParsedMail(
        message_id=ids[0] if ids else f"{digest[:32]}@no-message-id",
        in_reply_to=_MESSAGE_ID.findall(plain.get("in-reply-to", "")),
        references=_MESSAGE_ID.findall(plain.get("references", "")),
        subject=" ".join(subject.split())[:500],
        sender=sender,
        sender_name=sender_name[:200],
        recipients=recipients,
        date=_date(plain.get("date", "")),
        text=text,
        new_text=_new_part(text),
        attachments=attachments,
        do_not_answer=_do_not_answer(plain, sender),
        problems=problems,
        digest=digest,
        message=message,
    )


def _plain_headers(message: EmailMessage) -> dict[str, str]:
    """Each header's first value as written, by lower-case name, unfolded."""
    found: dict[str, str] = {}
    for name, value in message.raw_items():
        key = name.lower()
        if key not in found:
            found[key] = " ".join(str(value).split())
    return found


def _written(plain: dict[str, str], name: str, problems: list[str]) -> str:
    """An address header as written (its encoded words are only in display names, decoded by
    `_sender`), with raw 8-bit bytes guessed."""
    raw = plain.get(name.lower(), "")
    if _EIGHT_BIT.search(raw):
        problems.append(f"8-bit bytes in the {name} header")
        raw = _guess(raw.encode("utf-8", "surrogateescape"))
    return raw


def _header(message: EmailMessage, name: str, problems: list[str]) -> str:
    """A header as text; one that cannot be read as written is kept with its bytes guessed."""
    try:
        value = message.get(name)
    except Exception as exc:  # the email package raises many kinds on broken headers
        problems.append(f"unreadable {name} header: {exc}")
        value = message.get_all(name, [""])[0] if hasattr(message, "get_all") else ""
    text = "" if value is None else str(value)
    if "\ufffd" in text:  # raw 8-bit bytes in the header: guess them from the raw value
        problems.append(f"8-bit bytes in the {name} header")
        raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), "")
        text = " ".join(_guess(raw.encode("utf-8", "surrogateescape")).split())
    return text


def _guess(data: bytes, declared: str | None = None) -> str:
    """Bytes as text in the declared charset (or the superset mail really uses), else UTF-8,
    else GB18030, else Windows-1252, which reads any byte."""
    names = [_SUPERSETS.get(declared.lower(), declared)] if declared else []
    for name in [*names, "utf-8", "gb18030"]:
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", "replace")


def _sender(value: str, problems: list[str]) -> tuple[str, str | None]:
    simple = _SIMPLE_ADDRESS.match(value)
    if simple:  # the usual `Name <address>` or a bare address, without the general parser
        name = (simple.group(1) or simple.group(2) or "").strip()
        address = (simple.group(3) or simple.group(4)).lower()
    else:
        name, address = parseaddr(value)
        address = address.strip().lower()
        try:
            Address(addr_spec=address)
        except Exception:
            address = ""
    if "=?" in name:  # encoded words; a name that cannot be decoded stays as written
        with contextlib.suppress(ValueError, LookupError, UnicodeDecodeError):
            name = str(make_header(decode_header(name)))
    if "@" not in address:
        problems.append(f"no readable sender address in From: {value[:100]!r}")
        return name, None
    return name, address


def _walk(
    part: EmailMessage, texts: list[str], htmls: list[str], attachments: list[Attachment],
    problems: list[str], depth: int, count: list[int],
) -> None:  # fmt: skip
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_PARTS:
        if "too deeply nested or too many parts" not in problems:
            problems.append("too deeply nested or too many parts")
        return
    if part.is_multipart():
        subtype = part.get_content_subtype()
        children = [p for p in part.iter_parts() if isinstance(p, EmailMessage)]
        if subtype == "alternative":  # one of them: plain text preferred
            plain = [c for c in children if c.get_content_type() == "text/plain"]
            children = plain[:1] or children[-1:]
        for child in children:
            _walk(child, texts, htmls, attachments, problems, depth + 1, count)
        return
    content_type = part.get_content_type()
    filename = part.get_filename()
    if (
        filename
        or part.get_content_disposition() == "attachment"
        or not content_type.startswith("text/")
    ):
        data = part.get_payload(decode=True) or b""
        name = filename or f"attachment-{len(attachments) + 1}"
        attachments.append(Attachment(name[:255], content_type, data))
        return
    payload = part.get_payload(decode=True) or b""
    body = _guess(payload, part.get_content_charset())
    (htmls if content_type == "text/html" else texts).append(body)


class _TextOfHtml(HTMLParser):
    """The text a reader sees: no scripts, styles or markup; blocks on their own lines."""

    _BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "blockquote",
                         "table"})  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _html_text(html: str) -> str:
    reader = _TextOfHtml()
    reader.feed(html)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _new_part(text: str) -> str:
    """What the sender wrote this time, without the quoted mail they answered."""
    if not text:
        return ""
    try:
        latest = EmailReplyParser(languages=["en", "de", "fr", "es", "zh"]).read(text=text)
        reply = latest.latest_reply or ""
    except Exception:
        reply = ""
    return reply.strip() or text


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _do_not_answer(plain: dict[str, str], sender: str | None) -> str | None:
    """Why an automatic answer must not go back (RFC 3834 and the usual list and robot signs)."""
    auto = plain.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = plain.get("precedence", "").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "List-Post", "X-Autoreply", "X-Autorespond"):
        if name.lower() in plain:
            return f"{name} header"
    if plain.get("return-path", "").strip() == "<>":
        return "null Return-Path (a bounce)"
    if sender is None:
        return "no sender address"
    if _NEVER_ANSWER.match(sender.split("@", 1)[0]):
        return f"sender {sender} is a robot address"
    return None
