"""A new mail is acknowledged unless that could feed a mail loop."""

from __future__ import annotations

from workflows.acknowledgement import why_not_acknowledged

SUPPORT = frozenset({"support@example.com"})


def test_a_new_sender_is_acknowledged() -> None:
    assert (
        why_not_acknowledged(
            do_not_answer=None, sender="ann@example.org", support=SUPPORT, acknowledged=set()
        )
        is None
    )


def test_auto_replies_our_own_addresses_and_recent_senders_are_not() -> None:
    auto = why_not_acknowledged(
        do_not_answer="Auto-Submitted: auto-replied",
        sender="ann@example.org",
        support=SUPPORT,
        acknowledged=set(),
    )
    assert auto == "Auto-Submitted: auto-replied"
    ours = why_not_acknowledged(
        do_not_answer=None, sender="support@example.com", support=SUPPORT, acknowledged=set()
    )
    assert ours == "sent from one of our own support addresses"
    again = why_not_acknowledged(
        do_not_answer=None,
        sender="ann@example.org",
        support=SUPPORT,
        acknowledged={"ann@example.org"},
    )
    assert again == "acknowledged within the last period"
