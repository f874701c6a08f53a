"""Whether a new mail is acknowledged ("we have your mail, reference …, we answer within …").

Pure: the email intake (`contactcenter/channels/email/intake.py`) reads who was acknowledged
recently and sends what this decides. An acknowledgement must never feed a mail loop.
"""

from __future__ import annotations


def why_not_acknowledged(
    *,
    do_not_answer: str | None,
    sender: str,
    support: frozenset[str],
    acknowledged: set[str | None],
) -> str | None:
    """None when the sender is to be acknowledged; otherwise the reason not to: the mail says
    not to be answered (RFC 3834: auto-replies, lists, bounces), it came from one of our own
    support addresses, or the sender was acknowledged within the period (or earlier in the
    same batch: `acknowledged` grows as the batch is decided)."""
    if do_not_answer is not None:
        return do_not_answer
    if sender in support:
        return "sent from one of our own support addresses"
    if sender in acknowledged:
        return "acknowledged within the last period"
    return None
