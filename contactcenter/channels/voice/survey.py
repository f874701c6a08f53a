"""The post-call survey by keypad, as Twilio documents it: when the agent's leg of a call ends
and the caller is still on the line, the Dial's action (our status hook) answers with a Gather,
and each answer's Gather leads to the next question.

The keypad questions are the relationship policy's scores (csat, effort, nps; a comment cannot
be keyed). The survey is stored when the first question is asked (`SurveyRecords.offer`); the
answers so far travel in the Gather's action URL, which Twilio signs with every request, and
are recorded together after the last question. A caller who hangs up half-way leaves the survey
unanswered; a required question gets one second chance.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import structlog
from twilio.twiml.voice_response import VoiceResponse

from contactcenter.channels.voice import twiml
from contactcenter.channels.voice.calls import CallRecord
from contactcenter.channels.voice.twiml import Speaker
from contactcenter.errors import Conflict, NotFound
from contactcenter.surveys.records import SurveyRecords
from workflows.ivr import Flow
from workflows.surveys import RANGES, AnswerError, Ask, Question

log = structlog.get_logger(__name__)


class CallSurvey:
    def __init__(self, *, surveys: SurveyRecords, flow: Flow) -> None:
        self.surveys = surveys
        self.flow = flow

    def keypad(self) -> list[Question]:
        return [q for q in self.surveys.policy.questions if q.kind in RANGES]

    async def offered(self, interaction_id: int) -> bool:
        """Whether the caller is told, as the call is put through, to stay for the survey."""
        return await self.surveys.would_ask(interaction_id)

    async def after_talk(self, call: CallRecord) -> VoiceResponse:
        """The agent hung up on a call that was answered: its survey's first question, or
        goodbye when the customer is not surveyed now."""
        if call.interaction_id is None:
            return twiml.goodbye()
        try:
            sent = await self.surveys.offer(call.interaction_id)
        except Conflict:
            return twiml.goodbye()  # surveyed already (the hook came twice)
        if sent.token is None or sent.decision.ask is not Ask.SURVEY or not self.keypad():
            return twiml.goodbye()
        return self._ask(Speaker(self.flow, call.language), sent.token, 0, {}, intro=True)

    async def step(
        self, call: CallRecord | None, query: Mapping[str, str], digits: str
    ) -> VoiceResponse:
        """The keys for question `q` of the survey `t`; the next question, or thanks."""
        speaker = Speaker(self.flow, call.language if call else "")
        token = query.get("t", "")
        questions = self.keypad()
        try:
            index = int(query.get("q", ""))
        except ValueError:
            return twiml.goodbye()
        if not token or not 0 <= index < len(questions):
            return twiml.goodbye()
        answers = _parse(query.get("a", ""))
        question = questions[index]
        low, high = RANGES[question.kind]
        keyed = digits.strip().rstrip("#")
        if keyed.isascii() and keyed.isdigit() and low <= int(keyed) <= high:
            answers[question.id] = keyed
        elif not question.optional:
            if query.get("r") != "1":
                return self._ask(speaker, token, index, answers, again=True)
            log.info("voice.survey_unanswered", call_sid=call.call_sid if call else None)
            return twiml.goodbye()
        if index + 1 < len(questions):
            return self._ask(speaker, token, index + 1, answers)
        try:
            await self.surveys.answer(token, answers)
        except (AnswerError, Conflict, NotFound) as exc:
            log.info("voice.survey_not_recorded", error=str(exc))
        return twiml.goodbye(speaker, self.flow.survey_thanks)

    def _ask(
        self,
        speaker: Speaker,
        token: str,
        index: int,
        answers: dict[str, str],
        *,
        intro: bool = False,
        again: bool = False,
    ) -> VoiceResponse:
        question = self.keypad()[index]
        low, high = RANGES[question.kind]
        query = {"t": token, "q": str(index), "a": _joined(answers)}
        if again:
            query["r"] = "1"
        action = f"{twiml.HOOKS}/survey?{urlencode(query)}"
        return twiml.survey_question(
            speaker, question.said(speaker.language), low, high, action, intro=intro
        )


def _joined(answers: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in answers.items())


def _parse(text: str) -> dict[str, str]:
    """The answers so far, as `_joined` wrote them; anything else is dropped."""
    found: dict[str, str] = {}
    for part in text.split(",")[:10]:
        key, _, value = part.partition("=")
        if key.isidentifier() and value.isascii() and value.isdigit() and len(value) <= 2:
            found[key] = value
    return found
