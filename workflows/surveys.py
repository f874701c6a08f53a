"""Satisfaction surveys: whether one goes out after an interaction, what it asks, what a
customer's answers mean, and the figures made of them. Pure: the survey records
(`contactcenter/surveys/`) store and send what these decide.

    CSAT % = responses scoring 4 or 5 ÷ responses;  response rate = responses ÷ surveys sent
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Kind(StrEnum):
    CSAT = "csat"  # 1–5, the one every survey asks
    EFFORT = "effort"  # 1–5: how easy it was
    NPS = "nps"  # 0–10: would they recommend us
    COMMENT = "comment"  # words


RANGES = {Kind.CSAT: (1, 5), Kind.EFFORT: (1, 5), Kind.NPS: (0, 10)}
COMMENT_LIMIT = 2000
LOW = 2  # a score at or below this raises an alert and opens a complaint


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: Kind
    text: dict[str, str]  # language → words
    optional: bool = False

    def said(self, language: str) -> str:
        return self.text.get(language) or self.text.get("en") or next(iter(self.text.values()))


def _default_questions() -> tuple[Question, ...]:
    return (
        Question(
            "csat",
            Kind.CSAT,
            {"en": "How satisfied are you with the help you got?", "zh": "您对我们的服务满意吗？"},
        ),
        Question(
            "comment",
            Kind.COMMENT,
            {"en": "Anything you would like to tell us?", "zh": "还有什么想告诉我们的吗？"},
            optional=True,
        ),
    )


@dataclass(frozen=True, slots=True)
class SurveyPolicy:
    """Which tiers are surveyed on which channels; at most one survey per customer per
    `every_days`; links valid for `link_days`; the questions, in order."""

    send: dict[str, frozenset[str]] = field(
        default_factory=lambda: {
            tier: frozenset({"voice", "chat", "email", "fax"})
            for tier in ("key_account", "relationship", "transactional")
        }
    )
    every_days: float = 30
    link_days: float = 14
    questions: tuple[Question, ...] = field(default_factory=_default_questions)
    solved_question: dict[str, str] = field(
        default_factory=lambda: {"en": "Did this solve it?", "zh": "这解决了您的问题吗？"}
    )


class Ask(StrEnum):
    SURVEY = "survey"  # the policy's questions
    SOLVED = "solved"  # self-served: only "did this solve it?"


@dataclass(frozen=True, slots=True)
class Decision:
    ask: Ask | None  # None: nothing is sent
    why: str


def decide(
    *,
    status: str,
    channel: str,
    tier: str,
    auto_replied_only: bool,
    last_survey_at: datetime | None,
    now: datetime,
    policy: SurveyPolicy,
    asked_for: bool = False,
) -> Decision:
    """Whether a survey goes out after an interaction, and which. `asked_for` (another system
    asked through the API) sends one whatever the tier, channel and period say, but never for
    abandoned or auto-replied work."""
    if status == "abandoned":
        return Decision(None, "the customer left before anyone answered")
    if auto_replied_only:
        return Decision(None, "only an automatic reply was sent")
    if status == "self_served":
        return Decision(Ask.SOLVED, "served by an article: asked whether it solved it")
    if asked_for:
        return Decision(Ask.SURVEY, "asked for through the API")
    if channel not in policy.send.get(tier, frozenset()):
        return Decision(None, f"{tier} customers are not surveyed on {channel}")
    if last_survey_at is not None and now - last_survey_at < timedelta(days=policy.every_days):
        return Decision(None, f"surveyed within the last {policy.every_days:g} days")
    return Decision(Ask.SURVEY, "eligible")


@dataclass(frozen=True, slots=True)
class Answers:
    csat: int | None = None
    effort: int | None = None
    nps: int | None = None
    comment: str = ""
    solved: bool | None = None

    @property
    def low(self) -> bool:
        return self.csat is not None and self.csat <= LOW


class AnswerError(ValueError):
    """An answer that cannot be recorded; `field` names the question."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def read_answers(ask: Ask, questions: tuple[Question, ...], given: Mapping[str, str]) -> Answers:
    """The answers in a submitted form (strings as a browser sends them), checked against the
    questions: a required one answered, each score a whole number in its range, a comment
    within its length. Raises AnswerError naming the first question at fault."""
    if ask is Ask.SOLVED:
        value = given.get("solved", "").strip().lower()
        if value not in ("yes", "no"):
            raise AnswerError("answer yes or no", "solved")
        return Answers(solved=value == "yes")
    found: dict[str, object] = {}
    for question in questions:
        raw = given.get(question.id, "").strip()
        if not raw:
            if not question.optional:
                raise AnswerError("this question needs an answer", question.id)
            continue
        if question.kind is Kind.COMMENT:
            if len(raw) > COMMENT_LIMIT:
                raise AnswerError(f"at most {COMMENT_LIMIT} characters", question.id)
            found["comment"] = raw.replace("\x00", "")  # no database keeps NUL in text
            continue
        low, high = RANGES[question.kind]
        try:
            score = int(raw) if raw.isascii() else None
        except ValueError:
            score = None
        if score is None or not low <= score <= high:
            raise AnswerError(f"a whole number from {low} to {high}", question.id)
        found[question.kind.value] = score
    return Answers(**found)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Figures:
    sent: int
    responses: int
    satisfied: int  # CSAT 4 or 5

    @property
    def csat_percent(self) -> float | None:
        return round(100 * self.satisfied / self.responses, 1) if self.responses else None

    @property
    def response_rate(self) -> float | None:
        return round(100 * self.responses / self.sent, 1) if self.sent else None
