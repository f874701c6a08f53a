"""Surveys by mail: after an email or fax interaction is resolved, and when another system asks
for one. The mail carries the survey page's link (`/survey/<token>`), in the customer's
language; a customer without an email address gets no mail (the API still answers the link)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import select

from contactcenter.errors import Conflict
from contactcenter.mail.compose import notice, subject_token
from contactcenter.mail.outbox import Outbox
from contactcenter.store.tables import identities, interactions
from contactcenter.surveys.records import SurveyRecords

log = structlog.get_logger(__name__)
BY_MAIL = frozenset({"email", "fax"})
_WORDS = {
    "en": (
        "How did we do?",
        "Thank you for contacting us. Would you tell us how we did? It takes a minute:\n\n{url}\n\n"
        "The link works once, for {days:g} days.",
    ),
    "zh": (
        "您对我们的服务满意吗？",
        "感谢您联系我们。请花一分钟告诉我们您的感受：\n\n{url}\n\n"
        "此链接仅可使用一次，有效期 {days:g} 天。",
    ),
}


@dataclass(frozen=True, slots=True)
class Delivered:
    survey_id: int | None
    url: str | None
    mailed: bool
    why: str


class SurveyMail:
    def __init__(
        self, *, records: SurveyRecords, outbox: Outbox, mail_from: str, public_url: str
    ) -> None:
        self.records = records
        self.outbox = outbox
        self.mail_from = mail_from
        self.public_url = public_url.rstrip("/")

    async def after_resolution(self, interaction_id: int, base_url: str) -> Delivered | None:
        """The survey mail for an email or fax interaction just resolved (None for others)."""
        async with self.records.db.connect() as conn:
            channel = (
                await conn.execute(
                    select(interactions.c.channel).where(interactions.c.id == interaction_id)
                )
            ).scalar_one_or_none()
        if channel not in BY_MAIL:
            return None
        try:
            return await self.send(interaction_id, base_url)
        except Conflict:
            return None  # resolved before (a thread answered again): surveyed once

    async def send(
        self, interaction_id: int, base_url: str, *, asked_for: bool = False
    ) -> Delivered:
        """Decide, store and mail a survey; what was done."""
        sent = await self.records.offer(interaction_id, asked_for=asked_for)
        if sent.token is None:
            return Delivered(None, None, False, sent.decision.why)
        url = f"{self.public_url or base_url.rstrip('/')}/survey/{sent.token}"
        to = await self._address(interaction_id)
        if to is not None:
            subject, body = _WORDS.get(sent.language, _WORDS["en"])
            text = body.format(url=url, days=self.records.policy.link_days)
            message = notice(self.mail_from, to, f"{subject} {subject_token(interaction_id)}", text)
            await self.outbox.put(message, "survey", interaction_id)
        log.info("survey.mailed", interaction_id=interaction_id, mailed=to is not None)
        return Delivered(sent.survey_id, url, to is not None, sent.decision.why)

    async def _address(self, interaction_id: int) -> str | None:
        async with self.records.db.connect() as conn:
            return (
                await conn.execute(
                    select(identities.c.value)
                    .join(interactions, interactions.c.customer_id == identities.c.customer_id)
                    .where(interactions.c.id == interaction_id, identities.c.kind == "email")
                    .order_by(identities.c.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
