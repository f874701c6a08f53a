"""The chat's satisfaction survey, in the widget when the chat ends: the `ended` frame carries
the questions in the customer's language, and the widget sends the answers back on its socket
(`{"type": "survey", "chat_id": N, "answers": {...}}`); only the chat's own visitor may answer.

A survey is offered when an agent ends the chat or an article answered it (then only "did this
solve it?"), as `workflows/surveys.py` decides; a visitor who closes the chat gets none.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select

from contactcenter.channels.chat.visitors import Visitor
from contactcenter.errors import Conflict, NotFound
from contactcenter.model import Channel
from contactcenter.store.tables import interactions
from contactcenter.surveys.records import SurveyRecords
from workflows.surveys import RANGES, Ask, Kind

log = structlog.get_logger(__name__)


class ChatSurvey:
    def __init__(self, *, surveys: SurveyRecords) -> None:
        self.surveys = surveys

    async def offered(self, chat_id: int) -> dict[str, Any] | None:
        """The survey for the chat that just ended, as the widget draws it; None when none."""
        try:
            sent = await self.surveys.offer(chat_id)
        except (Conflict, NotFound):
            return None  # told twice that it ended: surveyed once
        if sent.decision.ask is None:
            return None
        policy = self.surveys.policy
        language = sent.language
        if sent.decision.ask is Ask.SOLVED:
            words = policy.solved_question
            text = words.get(language) or words.get("en") or next(iter(words.values()))
            return {"ask": "solved", "language": language, "questions": [], "text": text}
        questions = []
        for question in policy.questions:
            item: dict[str, Any] = {
                "id": question.id,
                "kind": question.kind.value,
                "text": question.said(language),
                "optional": question.optional,
            }
            if question.kind is not Kind.COMMENT:
                item["low"], item["high"] = RANGES[question.kind]
            questions.append(item)
        return {"ask": "survey", "language": language, "questions": questions}

    async def answer(self, visitor: Visitor, chat_id: int, answers: dict[str, str]) -> None:
        """The visitor's answers to their chat's survey (NotFound for anyone else's chat)."""
        async with self.surveys.db.connect() as conn:
            row = (
                await conn.execute(
                    select(interactions.c.customer_id, interactions.c.channel).where(
                        interactions.c.id == chat_id
                    )
                )
            ).one_or_none()
        mine = (
            row is not None
            and visitor.customer is not None
            and row.customer_id == visitor.customer.id
            and row.channel == Channel.CHAT.value
        )
        if not mine:
            raise NotFound("chat", chat_id)
        await self.surveys.answer_for(chat_id, answers)
        log.info("chat.survey_answered", interaction_id=chat_id)
