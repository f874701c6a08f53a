"""Reading an inbound mail: headers (RFC 2047), the text (plain preferred, HTML made safe text),
the new part of a reply apart from its quoted history, attachments, and the signs of mail that
must never be answered (RFC 3834). Pure: bytes in, a `ParsedMail` out; whatever is wrong with the
message is listed in `problems` rather than raised, so that nothing is dropped.

Strangers write these bytes, so `parse_mail` never raises (a mail the careful reading fails on is
read again plainly: its headers by pattern, its body as text) and the steps whose cost grows
faster than their input (the `email` package's header grammar, the reply parser's patterns) are
handed bounded inputs. NUL characters are removed from every text, as PostgreSQL refuses them.
The channels run it in worker processes with a deadline (`email_reader.py`), never on the loop.
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
from html import unescape

from mailparser_reply import EmailReplyParser

# Charsets that mail declares but writes in a superset of.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}
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
# Longest header value handed to the `email` package's grammar (its cost grows with the square
# of odd input); real structured headers are far shorter, address lists are read apart.
MAX_PARSED_HEADER = 1000
MAX_ADDRESS_HEADER = 20_000  # To/Cc/Delivered-To read for recipients
MAX_REPLY_TEXT = 32_000  # text the reply parser looks at for the quoted history
MAX_KEPT_HEADER = 2000  # header values kept on `ParsedMail.headers`
_BLANK_RUNS = re.compile(r"\n(?:[ \t\r\f\v]*\n){2,}")
_RAW_HEADER = re.compile(rb"^([!-9;-~]{1,76}):[ \t]*(.*(?:\r?\n[ \t].*)*)", re.M)


class _RememberedHeaders(HeaderRegistry):
    """The standard header registry, remembering the headers it has parsed: `policy.default`
    parses a header each time it is read, and most mails share most header values
    (`Content-Type: text/plain; charset="utf-8"`, `MIME-Version: 1.0`). Parsed headers are
    immutable, so sharing them is safe."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed = lru_cache(maxsize=4096)(super().__call__)

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > MAX_PARSED_HEADER:  # cut, so that odd input cannot cost seconds
            value = value[:MAX_PARSED_HEADER]
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
    content_digest: str = ""  # SHA-256 of what the sender wrote: sender, subject, text, files
    # Every header's first value as written, unfolded, by lower-case name (cut to 2,000 chars).
    headers: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def header(self, name: str) -> str:
        """Any other header as text ("" when absent), encoded words decoded where they can be."""
        return _decoded(self.headers.get(name.lower(), "")).replace("\0", "")

    def headers_for_threading(self) -> list[str]:
        """Message-IDs this mail answers, nearest first."""
        return [*self.in_reply_to, *reversed(self.references)]


def parse_mail(raw: bytes) -> ParsedMail:
    """The mail read carefully, or, when the careful reading fails, plainly (`_plain_mail`)."""
    try:
        if raw.count(b"oundary=") > MAX_PARTS:  # the email package recurses once per level
            raise RecursionError("too many multipart boundaries")
        mail = _parse(raw)
    except Exception as exc:  # anything the email package or a codec raises on odd bytes
        mail = _plain_mail(raw, f"unreadable as MIME ({type(exc).__name__}); read as plain text")
    return _without_nul(mail)


def _parse(raw: bytes) -> ParsedMail:
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
    sender_name, sender = _who(plain, problems)
    recipients = _recipients(plain, problems)
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
        headers={k: v[:MAX_KEPT_HEADER] for k, v in plain.items()},
    )


def _plain_mail(raw: bytes, problem: str) -> ParsedMail:
    """A mail the `email` package cannot read: headers found by pattern in the header block,
    the rest as text. Enough to know who wrote and what, so that the mail still reaches someone."""
    head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    plain: dict[str, str] = {}
    for found in _RAW_HEADER.finditer(head[:200_000]):
        name = found.group(1).decode("ascii").lower()
        if name not in plain:
            plain[name] = " ".join(_guess(found.group(2)).split())[:MAX_KEPT_HEADER]
    problems = [problem]
    sender_name, sender = _who(plain, problems)
    digest = hashlib.sha256(raw).hexdigest()
    ids = _MESSAGE_ID.findall(plain.get("message-id", ""))
    text = _guess(body[:1_000_000]).replace("\r\n", "\n").strip()
    subject = _decoded(plain.get("subject", ""))
    return ParsedMail(
        message_id=ids[0] if ids else f"{digest[:32]}@no-message-id",
        in_reply_to=_MESSAGE_ID.findall(plain.get("in-reply-to", "")),
        references=_MESSAGE_ID.findall(plain.get("references", "")),
        subject=" ".join(subject.split())[:500],
        sender=sender,
        sender_name=sender_name[:200],
        recipients=[],
        date=_date(plain.get("date", "")),
        text=text,
        new_text=_new_part(text),
        attachments=[],
        do_not_answer=_do_not_answer(plain, sender),
        problems=problems,
        digest=digest,
        headers=plain,
    )


def _without_nul(mail: ParsedMail) -> ParsedMail:
    """Every text without NUL (PostgreSQL refuses it in text), and the content digest."""
    for name in ("message_id", "subject", "sender_name", "text", "new_text"):
        setattr(mail, name, getattr(mail, name).replace("\0", ""))
    mail.in_reply_to = [i.replace("\0", "") for i in mail.in_reply_to]
    mail.references = [i.replace("\0", "") for i in mail.references]
    mail.attachments = [
        Attachment(a.filename.replace("\0", ""), a.content_type.replace("\0", ""), a.data)
        for a in mail.attachments
    ]
    content = hashlib.sha256()
    for part in (mail.sender or "", mail.subject, mail.text):
        content.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for attachment in mail.attachments:
        content.update(hashlib.sha256(attachment.data).digest())
    mail.content_digest = content.hexdigest()
    return mail


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


def _recipients(plain: dict[str, str], problems: list[str]) -> list[str]:
    """To, Cc and Delivered-To addresses, lower case; an unreadable list gives none."""
    values = [
        _written(plain, name, problems)[:MAX_ADDRESS_HEADER]
        for name in ("To", "Cc", "Delivered-To")
    ]
    try:
        found = getaddresses(values)
    except Exception:
        problems.append("unreadable recipients")
        return []
    return [address.lower() for _, address in found if "@" in address]


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


def _guess(data: bytes, declared: str | None = None, problems: list[str] | None = None) -> str:
    """Bytes as text in the declared charset (or the superset mail really uses), else UTF-8,
    else GB18030, else Windows-1252, which reads any byte. A declared charset that does not
    read them is a problem of the mail."""
    names = [_SUPERSETS.get(declared.lower(), declared)] if declared else []
    for name in [*names, "utf-8", "gb18030"]:
        try:  # a declared name may be no charset at all (`idna`, one with a NUL, `rot13`)
            return data.decode(name)
        except (LookupError, ValueError, TypeError):
            if names and name == names[0] and problems is not None:
                problems.append(f"text not in its declared charset {declared[:40]!r}; guessed")
            continue
    return data.decode("cp1252", "replace")


def _decoded(value: str) -> str:
    """Encoded words (RFC 2047) decoded; a value that cannot be decoded stays as written."""
    if "=?" in value:
        with contextlib.suppress(Exception):
            return str(make_header(decode_header(value)))
    return value


def _who(plain: dict[str, str], problems: list[str]) -> tuple[str, str | None]:
    """The sender's name and address from From, else an address to answer named elsewhere."""
    name, sender = _sender(_written(plain, "From", problems), problems)
    if sender is None:
        for header in ("Reply-To", "Sender", "Return-Path"):
            sender = _sender(_written(plain, header, []), [])[1]
            if sender is not None:
                problems.append(f"sender taken from {header}")
                break
    return name, sender


def _sender(value: str, problems: list[str]) -> tuple[str, str | None]:
    value = value[:MAX_PARSED_HEADER]  # an address with its name is far shorter
    simple = _SIMPLE_ADDRESS.match(value)
    if simple:  # the usual `Name <address>` or a bare address, without the general parser
        name = (simple.group(1) or simple.group(2) or "").strip()
        address = (simple.group(3) or simple.group(4)).lower()
    else:
        try:
            name, address = parseaddr(value)
            address = address.strip().lower()
            Address(addr_spec=address)
        except Exception:  # the grammar gives up on deep nesting or odd quoting
            name, address = "", ""
    name = _decoded(name)
    if "@" not in address:
        problems.append(f"no readable sender address in From: {value[:100]!r}")
        return name, None
    return name, address


def _walk(
    part: EmailMessage,
    texts: list[str],
    htmls: list[str],
    attachments: list[Attachment],
    problems: list[str],
    depth: int,
    count: list[int],
) -> None:
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
    try:
        _leaf(part, texts, htmls, attachments, problems)
    except Exception as exc:  # a part whose headers or encoding the email package fails on
        problems.append(f"unreadable part ({type(exc).__name__}); kept as a file")
        data = part.get_payload(decode=False)
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else b""
        attachments.append(
            Attachment(f"attachment-{len(attachments) + 1}", "application/octet-stream", raw)
        )


def _leaf(
    part: EmailMessage,
    texts: list[str],
    htmls: list[str],
    attachments: list[Attachment],
    problems: list[str],
) -> None:
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
    body = _guess(payload, part.get_content_charset(), problems)
    (htmls if content_type == "text/html" else texts).append(body)


_BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table"})
_HIDDEN = ("script", "style", "head")
MAX_HTML = 2_000_000


def _html_text(html: str) -> str:
    """The text a reader sees: no scripts, styles, comments or markup; blocks on their own
    lines. A single forward scan by `str.find`, so that its time grows with the input and no
    faster (the standard HTMLParser takes seconds over an unclosed comment of a few pages)."""
    html = html[:MAX_HTML]
    lower = html.lower()
    parts: list[str] = []
    at, size, close = 0, len(html), -1
    while at < size:
        lt = html.find("<", at)
        if lt < 0:
            parts.append(html[at:])
            break
        parts.append(html[at:lt])
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            at = size if end < 0 else end + 3
            continue
        if close < lt:
            close = html.find(">", lt)
            if close < 0:  # no tag ends after here: the rest is text
                parts.append(html[lt:])
                break
        inner = html.find("<", lt + 1, close)
        if inner >= 0:  # a `<` that opens no tag is text
            parts.append("<")
            at = lt + 1
            continue
        tag = lower[lt + 1 : close].lstrip("/!?").split(None, 1)
        name = tag[0].rstrip("/") if tag else ""
        at = close + 1
        if name in _HIDDEN and not lower.startswith("</", lt):
            end = lower.find(f"</{name}", at)
            at = size if end < 0 else end
        elif name in _BLOCKS:
            parts.append("\n")
    text = unescape("".join(parts))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _new_part(text: str) -> str:
    """What the sender wrote this time, without the quoted mail they answered. The reply parser
    sees the text with runs of blank lines made one and at most `MAX_REPLY_TEXT` characters: its
    patterns cost the square of a run of blank lines, and the new part is at the top."""
    if not text:
        return ""
    looked_at = _BLANK_RUNS.sub("\n\n", text)[:MAX_REPLY_TEXT]
    try:
        latest = EmailReplyParser(languages=["en", "de", "fr", "es", "zh"]).read(text=looked_at)
        reply = latest.latest_reply or ""
    except Exception:
        reply = ""
    return reply.strip() or text


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value[:200]) if value else None
    except (TypeError, ValueError, OverflowError):  # a year or zone of twenty digits
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
