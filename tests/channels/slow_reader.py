"""A mail reader's worker that never finishes a mail whose subject says HANG (imported by name
in the reader's worker processes)."""

from __future__ import annotations

import time

from contactcenter.mail.parse import ParsedMail, parse_mail


def read_all_but_hang(raws: list[bytes]) -> list[ParsedMail]:
    mails = [parse_mail(raw) for raw in raws]
    if any(mail.subject == "HANG" for mail in mails):
        time.sleep(3600)
    return mails
