"""Reading inbound mail: charsets, HTML-only mail, replies with their quoted history, forwarded
chains, attachments, auto-replies that must not be answered, and broken messages."""

from __future__ import annotations

import functools
from email.message import EmailMessage

from contactcenter.mail.parse import parse_mail
from tests.channels.mail_desk import mail as desk_mail

# The tests' mail, from a sender of their own.
mail = functools.partial(desk_mail, sender="Ann <ann@example.com>")


def test_a_gbk_subject_and_body_are_read_as_written() -> None:
    message = EmailMessage()
    message["From"] = "王芳 <wang.fang@huaxin.example>"
    message["To"] = "support@example.com"
    message["Subject"] = "订单没有收到"
    message.set_content("我的订单还没有到，请帮忙查一下。", charset="gbk")
    parsed = parse_mail(message.as_bytes())
    assert parsed.subject == "订单没有收到" and parsed.sender_name == "王芳"
    assert parsed.sender == "wang.fang@huaxin.example"
    assert parsed.text == "我的订单还没有到，请帮忙查一下。" and parsed.problems == []


def test_gb2312_declared_but_gbk_written_iso_2022_jp_big5_and_windows_1252() -> None:
    samples = [
        ("镕基", "gb2312", "gbk"),
        ("お問い合わせ", "iso-2022-jp", None),
        ("訂單查詢", "big5", None),
        ("naïve “quotes” €", "iso-8859-1", "cp1252"),
    ]
    for text, declared, written in samples:
        raw = (
            f"From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset={declared}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode() + text.encode(written or declared)
        assert parse_mail(raw).text == text, declared


def test_html_only_mail_becomes_safe_text() -> None:
    message = mail()
    message.set_content(
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<p>My <b>printer</b> is broken.</p><p>Serial: X-100</p></body></html>",
        subtype="html",
    )
    parsed = parse_mail(message.as_bytes())
    assert parsed.text == "My printer is broken.\n\nSerial: X-100"
    assert "alert" not in parsed.text and "<" not in parsed.text


def test_plain_text_preferred_in_an_alternative() -> None:
    message = mail("Plain words")
    message.add_alternative("<p>HTML words</p>", subtype="html")
    assert parse_mail(message.as_bytes()).text == "Plain words"


def test_a_reply_keeps_its_thread_and_its_new_text_apart_from_the_quote() -> None:
    first = "<1234@support.example.com>"
    reply = mail(
        "Thanks, that fixed it.\n\nOn Tue, Nov 24, 2026 at 10:00 AM Support "
        "<support@example.com> wrote:\n> Please restart the router.\n> Regards\n",
        subject="Re: [#CC-1042] Router",
        In_Reply_To=first,
        References=first,
    )
    parsed = parse_mail(reply.as_bytes())
    assert parsed.in_reply_to == ["1234@support.example.com"]
    assert parsed.headers_for_threading() == ["1234@support.example.com"] * 2
    assert parsed.new_text == "Thanks, that fixed it."
    assert "Please restart the router." in parsed.text


def test_a_forwarded_chain_is_read_with_its_forwarded_mail_kept_as_the_new_text() -> None:
    """A customer forwarding the shop's mail writes above it; the forwarded mail is theirs to
    show us, so the whole of it stays in the new text rather than being cut as a quote."""
    original = mail(
        "Your order 1001 has shipped.", subject="Shipped", sender="Shop <orders@shop.example>"
    )
    forward = mail("This says shipped but nothing came.", subject="Fwd: Shipped")
    forward.add_attachment(original)  # a message/rfc822 part, as mail programs forward
    inline = mail(
        "See below, nothing arrived.\n\n---------- Forwarded message ---------\n"
        "From: Shop <orders@shop.example>\nDate: Mon, 23 Nov 2026\nSubject: Shipped\n"
        "To: <ann@example.org>\n\nYour order 1001 has shipped.\n",
        subject="Fwd: Shipped",
    )
    attached = parse_mail(forward.as_bytes())
    assert attached.sender == "ann@example.com" and attached.subject == "Fwd: Shipped"
    assert "This says shipped but nothing came." in attached.new_text
    assert "Your order 1001 has shipped." in attached.text
    written = parse_mail(inline.as_bytes())
    assert written.new_text.startswith("See below, nothing arrived.")
    assert "Your order 1001 has shipped." in written.text


def test_attachments_with_names_types_and_bytes() -> None:
    message = mail("See attached")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="invoice 42.pdf"
    )
    [attachment] = parse_mail(message.as_bytes()).attachments
    assert attachment.filename == "invoice 42.pdf"
    assert attachment.content_type == "application/pdf" and attachment.data == b"%PDF-1.4 fake"


def test_mail_that_must_not_be_answered() -> None:
    cases = {
        "Auto-Submitted: auto-replied": mail(Auto_Submitted="auto-replied"),
        "Precedence: bulk": mail(Precedence="bulk"),
        "List-Id header": mail(List_Id="<news.example.com>"),
        "sender mailer-daemon@example.com is a robot address": mail(
            sender="MAILER-DAEMON@example.com"
        ),
        "sender no-reply@shop.example is a robot address": mail(sender="no-reply@shop.example"),
    }
    for reason, message in cases.items():
        assert parse_mail(message.as_bytes()).do_not_answer == reason
    assert parse_mail(mail(Auto_Submitted="no").as_bytes()).do_not_answer is None


def test_broken_messages_are_read_as_far_as_they_go_with_the_problems_named() -> None:
    garbage = b"From: \xff\xfe<broken\r\nSubject: \xc3\x28 bad utf8\r\n\r\nbody \xff text"
    parsed = parse_mail(garbage)
    assert parsed.sender is None
    assert any("sender" in p for p in parsed.problems)
    assert any("8-bit" in p for p in parsed.problems)
    assert parsed.message_id.endswith("@no-message-id") and "body" in parsed.text

    nested = mail("deep")
    for _ in range(15):
        outer = mail("wrapper")
        outer.add_attachment(nested)
        nested = outer
    assert "too deeply nested or too many parts" in parse_mail(nested.as_bytes()).problems
