"""Satisfaction surveys on the record: decided and sent after an interaction, answered once.

Whether one goes out is `workflows/surveys.py`'s decision. A survey by mail (email and fax) is
a link to a page this service serves (`web/survey_page.py`): the token in the link is random,
kept here only as its SHA-256, good once and until it expires; opening the page records
nothing (mail scanners follow links), submitting it does. An answer is stored with the
interaction's satisfaction, as an event on the customer's timeline, and published; a low score
opens a complaint case.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from contactcenter import events as ev
from contactcenter.complaints.records import ComplaintRecords
from contactcenter.customers.record_events import add_event
from contactcenter.errors import Conflict, NotFound
from contactcenter.runtime.clock import now
from contactcenter.store.db import Database
from contactcenter.store.tables import (
    customers,
    interactions,
    outbox,
    surveys,
)
from workflows.surveys import Answers, Ask, Decision, SurveyPolicy, decide, read_answers

log = structlog.get_logger(__name__)
LANGUAGES = ("en", "zh")  # the languages the survey page speaks


@dataclass(frozen=True, slots=True)
class Sent:
    """A survey decided for an interaction: its id and the token of its link (None when no
    survey goes out: `decision.why` says why)."""

    decision: Decision
    survey_id: int | None = None
    token: str | None = None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Open:
    """A survey reached by its link, as the page shows it."""

    survey_id: int
    ask: Ask
    language: str
    state: str  # open, answered, expired


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class SurveyRecords:
    def __init__(
        self,
        *,
        db: Database,
        policy: SurveyPolicy,
        events: ev.EventBus,
        complaints: ComplaintRecords,
    ) -> None:
        self.db = db
        self.policy = policy
        self.events = events
        self.complaints = complaints

    async def offer(self, interaction_id: int, *, asked_for: bool = False) -> Sent:
        """Decide whether the interaction's customer is surveyed and, if so, store the survey
        with a new link token (once per interaction: a second call answers `Conflict`)."""
        at = now()
        decision, row = await self._decide(interaction_id, at, asked_for)
        if decision.ask is None:
            log.info("survey.not_sent", interaction_id=interaction_id, why=decision.why)
            return Sent(decision)
        token = secrets.token_urlsafe(24)
        language = _language(row.language)
        try:
            async with self.db.begin() as conn:
                survey_id = (
                    await conn.execute(
                        insert(surveys)
                        .values(
                            interaction_id=interaction_id,
                            customer_id=row.customer_id,
                            agent_id=row.agent_id,
                            channel=row.channel,
                            tier=row.tier,
                            ask=decision.ask.value,
                            language=language,
                            token_sha256=token_hash(token),
                            sent_at=at,
                            expires_at=at + timedelta(days=self.policy.link_days),
                            comment="",
                        )
                        .returning(surveys.c.id)
                    )
                ).scalar_one()
        except IntegrityError:
            raise Conflict(
                f"interaction {interaction_id} has had its survey already", "interaction_id"
            ) from None
        log.info("survey.sent", interaction_id=interaction_id, survey_id=survey_id)
        return Sent(decision, survey_id, token, language)

    async def would_ask(self, interaction_id: int) -> bool:
        """Whether a survey would go out after this interaction, were it over now (the phone
        channel offers the survey as it puts the call through)."""
        decision, _ = await self._decide(interaction_id, now(), False, status="closed")
        return decision.ask is Ask.SURVEY

    async def _decide(
        self, interaction_id: int, at: datetime, asked_for: bool, status: str | None = None
    ) -> tuple[Decision, Any]:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        interactions.c.id,
                        interactions.c.status,
                        interactions.c.channel,
                        interactions.c.customer_id,
                        interactions.c.agent_id,
                        customers.c.tier,
                        customers.c.language,
                    )
                    .join(customers, customers.c.id == interactions.c.customer_id)
                    .where(interactions.c.id == interaction_id)
                )
            ).one_or_none()
            if row is None:
                raise NotFound("interaction", interaction_id)
            last = (
                await conn.execute(
                    select(func.max(surveys.c.sent_at)).where(
                        surveys.c.customer_id == row.customer_id
                    )
                )
            ).scalar_one_or_none()
            auto_only = await _auto_replied_only(conn, interaction_id)
        decision = decide(
            status=status or row.status,
            channel=row.channel,
            tier=row.tier,
            auto_replied_only=auto_only,
            last_survey_at=last,
            now=at,
            policy=self.policy,
            asked_for=asked_for,
        )
        return decision, row

    async def by_token(self, token: str) -> Open:
        """The survey behind a link; NotFound for a token that is not one of ours."""
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(surveys).where(surveys.c.token_sha256 == token_hash(token))
                )
            ).one_or_none()
        if row is None:
            raise NotFound("survey", "for this link")
        return _open(row)

    async def answer(self, token: str, given: dict[str, str]) -> Answers:
        """Record what the customer submitted (AnswerError for a wrong answer, Conflict when
        the link was used or has expired); a low score opens a complaint."""
        survey = await self.by_token(token)
        return await self._record(survey, given)

    async def answer_for(self, interaction_id: int, given: dict[str, str]) -> Answers:
        """The answers to an interaction's survey given where no link is needed (the chat
        widget, on the visitor's own socket)."""
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(surveys).where(surveys.c.interaction_id == interaction_id)
                )
            ).one_or_none()
        if row is None:
            raise NotFound("survey", f"for interaction {interaction_id}")
        return await self._record(_open(row), given)

    async def _record(self, survey: Open, given: dict[str, str]) -> Answers:
        if survey.state != "open":
            raise Conflict(f"this survey is {survey.state}", "token")
        answers = read_answers(survey.ask, self.policy.questions, given)
        at = now()
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    update(surveys)
                    .where(
                        surveys.c.id == survey.survey_id,
                        surveys.c.answered_at.is_(None),
                        surveys.c.expires_at > at,
                    )
                    .values(
                        answered_at=at,
                        csat=answers.csat,
                        effort=answers.effort,
                        nps=answers.nps,
                        solved=answers.solved,
                        comment=answers.comment,
                    )
                    .returning(surveys.c.interaction_id, surveys.c.customer_id, surveys.c.agent_id)
                )
            ).one_or_none()
            if row is None:  # answered by another request a moment ago
                raise Conflict("this survey is answered", "token")
            if answers.csat is not None:
                await conn.execute(
                    update(interactions)
                    .where(interactions.c.id == row.interaction_id)
                    .values(satisfaction=answers.csat)
                )
            data = _answer_data(row.interaction_id, answers)
            await add_event(conn, row.customer_id, "survey_answered", data, at)
        self.events.publish(
            ev.SurveyAnswered(
                interaction_id=row.interaction_id,
                customer_id=row.customer_id,
                agent_id=row.agent_id,
                csat=answers.csat,
                solved=answers.solved,
                low=answers.low,
            )
        )
        log.info("survey.answered", survey_id=survey.survey_id, csat=answers.csat)
        if answers.low:
            await self.complaints.open(
                row.customer_id,
                source="survey",
                interaction_ids=[row.interaction_id],
                summary=f"Satisfaction {answers.csat}/5. {answers.comment}".strip(),
            )
        return answers


def _open(row: Any) -> Open:
    state = (
        "answered"
        if row.answered_at is not None
        else "expired"
        if row.expires_at <= now()
        else "open"
    )
    return Open(row.id, Ask(row.ask), row.language, state)


def _language(language: str | None) -> str:
    base = (language or "en").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


def _answer_data(interaction_id: int, answers: Answers) -> dict[str, Any]:
    data: dict[str, Any] = {"interaction_id": interaction_id}
    for name in ("csat", "effort", "nps", "solved"):
        if (value := getattr(answers, name)) is not None:
            data[name] = value
    if answers.comment:
        data["comment"] = answers.comment[:500]
    return data


async def _auto_replied_only(conn: Any, interaction_id: int) -> bool:
    """Whether the only mail we sent on the interaction was an automatic acknowledgement."""
    kinds = set(
        (
            await conn.execute(
                select(outbox.c.kind).where(outbox.c.interaction_id == interaction_id).distinct()
            )
        ).scalars()
    )
    return bool(kinds) and kinds <= {"ack"}
