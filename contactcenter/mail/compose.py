"""Mail the service writes: acknowledgements, chat transcripts, and the threading headers every
answer carries. Pure: the outbox sends what these build."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from contactcenter.mail.parse import POLICY, ParsedMail


def reply_address(support: list[str]) -> str:
    """The address the service writes from: the first support address."""
    return support[0] if support else "support@example.com"


def subject_token(interaction_id: int) -> str:
    """What our mail puts in the subject so that an answer finds its interaction."""
    return f"[#CC-{interaction_id}]"


def answer(
    support: str, to: str, subject: str, interaction_id: int, answering: ParsedMail | None
) -> EmailMessage:
    """A mail from the support address on an interaction's thread: its token in the subject,
    and In-Reply-To / References to the mail it answers."""
    token = subject_token(interaction_id)
    base = subject if token in subject else f"{subject} {token}".strip()
    headers = {
        "From": support,
        "To": to,
        "Subject": base if base.lower().startswith("re:") else f"Re: {base}",
        "Date": formatdate(localtime=False),
        "Message-ID": make_msgid(domain=support.rsplit("@", 1)[-1]),
    }
    if answering is not None:
        headers["In-Reply-To"] = f"<{answering.message_id}>"
        # RFC 5322 3.6.4: the parent's References, or else its In-Reply-To when that names
        # one mail, then the parent itself.
        earlier = answering.references or (
            answering.in_reply_to if len(answering.in_reply_to) == 1 else []
        )
        chain = [*earlier, answering.message_id][-20:]
        headers["References"] = " ".join(f"<{m}>" for m in chain)
    return build(headers)


def build(headers: dict[str, str]) -> EmailMessage:
    """A message with these headers. ASCII values are kept as written (the policy refolds long
    ones when the message is written), so the usual headers are never parsed to be built; others
    go through the policy, which encodes them (RFC 2047)."""
    message = EmailMessage(policy=POLICY)
    for name, value in headers.items():
        if value.isascii():
            message.set_raw(name, value)
        else:
            message[name] = value
    return message


def written(message: EmailMessage, name: str) -> str:
    """A header of a message as it was set, without parsing it."""
    return next((str(v) for k, v in message.raw_items() if k.lower() == name.lower()), "")


def acknowledgement(
    support: str, mail: ParsedMail, interaction_id: int, within_seconds: float | None
) -> EmailMessage:
    """ "We have your mail": its reference and when to expect an answer. Marked
    Auto-Submitted (RFC 3834), so that well-behaved responders do not answer it."""
    assert mail.sender is not None
    message = answer(support, mail.sender, mail.subject or "Your message", interaction_id, mail)
    message.set_raw("Auto-Submitted", "auto-replied")
    message.set_raw("X-Auto-Response-Suppress", "All")
    expect = f" We aim to answer within {_duration(within_seconds)}." if within_seconds else ""
    message.set_content(
        f"Hello{' ' + mail.sender_name if mail.sender_name else ''},\n\n"
        f"Thank you for writing to us. Your message has reference CC-{interaction_id}; "
        f"please keep {subject_token(interaction_id)} in the subject of any reply.{expect}\n\n"
        "This is an automatic message.\n"
    )
    return message


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days > 1 else ''}"
    if hours >= 1:
        whole = round(hours)
        return f"{whole} hour{'s' if whole > 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minutes"


def notice(mail_from: str, to: str, subject: str, body: str) -> EmailMessage:
    """A mail the service writes on its own (a complaint's acknowledgement, a reminder to its
    owner): marked Auto-Submitted, so that no robot answers it."""
    message = build(
        {
            "From": mail_from,
            "To": to,
            "Subject": subject,
            "Date": formatdate(localtime=False),
            "Message-ID": make_msgid(domain=mail_from.rsplit("@", 1)[-1]),
            "Auto-Submitted": "auto-generated",
        }
    )
    message.set_content(body if body.endswith("\n") else body + "\n")
    return message


def transcript_mail(mail_from: str, to: str, chat_id: int, body: str) -> EmailMessage:
    """A chat's conversation so far, mailed to the visitor who asked for it."""
    message = build(
        {
            "From": mail_from,
            "To": to,
            "Subject": f"Your chat with us {subject_token(chat_id)}",
            "Date": formatdate(localtime=False),
            "Message-ID": make_msgid(domain=mail_from.rsplit("@", 1)[-1]),
            "Auto-Submitted": "auto-generated",  # nobody's robot answers it
        }
    )
    message.set_content(f"Here is our conversation, as you asked.\n\n{body}\n")
    return message
