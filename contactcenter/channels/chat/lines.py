"""A chat's lines as the widget shows them and as a transcript mail tells them (pure).

A line is a message of the chat interaction: its id is the line's sequence number. The articles
a bot line offered are kept in the message's external id (`kb:3,12`), so that a replayed line
still asks "did this help?" about them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contactcenter.model import Initiator

AUTHORS = {
    Initiator.CUSTOMER.value: "visitor",
    Initiator.SYSTEM.value: "bot",
    Initiator.AGENT.value: "agent",
}
_SPEAKERS = {"visitor": "You", "bot": "Assistant", "agent": "Agent"}
_OFFERED = "kb:"


def offered_ref(articles: list[dict[str, Any]] | None) -> str | None:
    """The external id that keeps the articles a line offered (None: it offered none)."""
    if not articles:
        return None
    return _OFFERED + ",".join(str(a["article_id"]) for a in articles)


def line(
    seq: int, author: str, text: str, at: datetime, articles: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A line as the widget receives it; `author` as stored (customer, system, agent)."""
    found: dict[str, Any] = {
        "seq": seq,
        "author": AUTHORS.get(author, author),
        "text": text,
        "at": at.isoformat(),
    }
    if articles:
        found["articles"] = articles
    return found


def stored_line(row: Any) -> dict[str, Any]:
    """A line from its message row (replays and transcripts)."""
    ref = row.external_id or ""
    ids = (
        [int(i) for i in ref.removeprefix(_OFFERED).split(",") if i.isdigit()]
        if ref.startswith(_OFFERED)
        else []
    )
    return line(row.id, row.author, row.body, row.created_at, [{"article_id": i} for i in ids])


def transcript(lines: list[dict[str, Any]]) -> str:
    """The conversation as a mail tells it: who, when (UTC) and what, line by line."""
    return "\n\n".join(
        f"{_SPEAKERS.get(x['author'], x['author'])} ({x['at'][11:16]} UTC):\n{x['text']}"
        for x in lines
    )
