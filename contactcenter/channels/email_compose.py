"""Mail the service writes: acknowledgements, and the threading headers every answer carries.
Pure: the outbox sends what these build."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from contactcenter.channels.email_parse import POLICY, ParsedMail


def subject_token(interaction_id: int) -> str:
    """What our mail puts in the subject so that an answer finds its interaction."""
    return f"[#CC-{interaction_id}]"


def answer(support: str, to: str, subject: str, interaction_id: int,
           answering: ParsedMail | None) -> EmailMessage:  # fmt: skip
    """A mail from the support address on an interaction's thread: its token in the subject,
    and In-Reply-To / References to the mail it answers."""
    message = EmailMessage(policy=POLICY)
    message["From"] = support
    message["To"] = to
    token = subject_token(interaction_id)
    base = subject if token in subject else f"{subject} {token}".strip()
    message["Subject"] = base if base.lower().startswith("re:") else f"Re: {base}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=support.rsplit("@", 1)[-1])
    if answering is not None:
        message["In-Reply-To"] = f"<{answering.message_id}>"
        chain = [*answering.references, answering.message_id][-20:]
        message["References"] = " ".join(f"<{m}>" for m in chain)
    return message


def acknowledgement(support: str, mail: ParsedMail, interaction_id: int,
                    within_seconds: float | None) -> EmailMessage:  # fmt: skip
    """ "We have your mail": its reference and when to expect an answer. Marked
    Auto-Submitted (RFC 3834), so that well-behaved responders do not answer it."""
    assert mail.sender is not None
    message = answer(support, mail.sender, mail.subject or "Your message", interaction_id, mail)
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
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
