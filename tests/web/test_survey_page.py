"""Surveys by mail on both backends: an email resolved by an agent is followed by a survey mail
whose link opens a page that records nothing until it is submitted; answers are checked and
recorded once, on the interaction, the timeline and the event stream; a low score opens a
complaint; links expire; whatever a stranger posts to the page changes nothing it should not."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from contactcenter.events import SurveyAnswered
from contactcenter.model import Channel, Presence
from contactcenter.runtime.clock import now
from contactcenter.store.tables import outbox, surveys
from tests.conftest import Api

LINK = re.compile(r"http://[^\s]+/survey/([A-Za-z0-9_-]+)")


async def _resolved(
    api: Api, team: dict[str, Any], email: str, channel: Channel = Channel.EMAIL
) -> int:
    customer = (await api.services.customers.resolve("email", email)).customer
    interaction_id = await api.services.queue.enqueue(customer, channel, subject="Where is it?")
    await api.services.queue.set_presence(team["ana"], Presence.AVAILABLE)
    await api.json("POST", f"/api/v1/interactions/{interaction_id}/accept", "ana")
    await api.json(
        "POST",
        f"/api/v1/interactions/{interaction_id}/complete",
        "ana",
        json={"disposition": "resolved"},
    )
    return interaction_id


async def _survey_mails(api: Api) -> list[Any]:
    async with api.services.db.connect() as conn:
        return list(await conn.execute(select(outbox).where(outbox.c.kind == "survey")))


async def _link(api: Api, interaction_id: int) -> str:
    """The survey link as the customer's mail carries it (read from the stored mail)."""
    (mail,) = [m for m in await _survey_mails(api) if m.interaction_id == interaction_id]
    raw = await api.services.blobs.get(mail.sha256)
    body = message_from_bytes(raw, policy=default).get_body().get_content()  # type: ignore[union-attr]
    match = LINK.search(body)
    assert match is not None, body
    return urlsplit(match.group(0)).path


async def test_a_resolved_email_is_surveyed_once_and_the_page_records_only_what_is_sent(
    api: Api, team: dict[str, Any]
) -> None:
    interaction_id = await _resolved(api, team, "mei@example.com")
    (mail,) = await _survey_mails(api)
    assert mail.recipient == "mei@example.com"
    path = await _link(api, interaction_id)

    page = await api.call("GET", path, None)
    html = await page.text()
    assert page.status == 200 and "How satisfied are you" in html and 'name="csat"' in html
    assert (await api.call("GET", path, None)).status == 200  # scanners may open it: nothing
    async with api.services.db.connect() as conn:
        (row,) = list(await conn.execute(select(surveys)))
    assert row.answered_at is None and row.token_sha256 not in path

    wrong = await api.call("POST", path, None, data={"csat": "9", "comment": "hmm"})
    assert wrong.status == 422 and "a whole number from 1 to 5" in await wrong.text()
    async with api.services.bus.subscribe() as heard:
        done = await api.call(
            "POST", path, None, data={"csat": "4", "effort": "5", "comment": "quick"}
        )
        assert done.status == 200 and "Thank you" in await done.text()
        answered = heard.queue.get_nowait()
    assert isinstance(answered, SurveyAnswered) and answered.csat == 4 and not answered.low
    again = await api.call("POST", path, None, data={"csat": "1"})
    assert again.status == 409 and "answered" in await again.text()
    stored = await api.json("GET", f"/api/v1/interactions/{interaction_id}", "agent")
    assert stored["satisfaction"] == 4
    timeline = await api.json("GET", f"/api/v1/customers/{stored['customer_id']}/timeline", "agent")
    (event,) = [e["event"] for e in timeline["entries"] if e["kind"] == "event"]
    assert event["type"] == "survey_answered"
    assert event["data"] == {
        "interaction_id": interaction_id,
        "csat": 4,
        "effort": 5,
        "comment": "quick",
    }

    # The same customer again within 30 days: no second survey.
    await _resolved(api, team, "mei@example.com")
    assert len(await _survey_mails(api)) == 1


async def test_a_low_score_opens_a_complaint_and_links_expire(
    api: Api, team: dict[str, Any]
) -> None:
    first = await _resolved(api, team, "bo@example.com")
    path = await _link(api, first)
    done = await api.call("POST", path, None, data={"csat": "1", "comment": "never arrived"})
    assert done.status == 200
    cases = await api.json("GET", "/api/v1/complaints", "agent")
    (case,) = cases["complaints"]
    assert case["source"] == "survey" and case["interaction_ids"] == [first]
    assert case["summary"] == "Satisfaction 1/5. never arrived"

    later = await _resolved(api, team, "li@example.com")
    path = await _link(api, later)
    async with api.services.db.begin() as conn:
        await conn.execute(update(surveys).values(expires_at=now() - timedelta(seconds=1)))
    page = await api.call("GET", path, None)
    assert page.status == 200 and "expired" in await page.text()
    late = await api.call("POST", path, None, data={"csat": "5"})
    assert late.status == 409
    unknown = await api.call("GET", "/survey/" + "x" * 32, None)
    assert unknown.status == 404


async def test_other_systems_ask_for_a_survey_and_get_its_link(
    api: Api, team: dict[str, Any]
) -> None:
    customer = (await api.services.customers.resolve("phone", "+16175550100")).customer
    call = await api.services.queue.enqueue(customer, Channel.VOICE, subject="Call")
    asked = await api.json("POST", f"/api/v1/interactions/{call}/survey", "agent", status=201)
    assert asked["mailed"] is False and "/survey/" in asked["url"]  # no address: link only
    page = await api.call("GET", urlsplit(asked["url"]).path, None)
    assert page.status == 200
    twice = await api.call("POST", f"/api/v1/interactions/{call}/survey", "agent")
    assert twice.status == 409
    gone = await api.services.queue.enqueue(customer, Channel.CHAT, subject="Chat")
    await api.services.queue.abandon(gone)
    not_sent = await api.json("POST", f"/api/v1/interactions/{gone}/survey", "agent")
    assert not_sent["survey_id"] is None and "left before" in not_sent["why"]


_FIELDS = st.sampled_from(["csat", "effort", "nps", "comment", "solved", "", "csat[]", "x" * 300])
_VALUES = st.one_of(
    st.sampled_from(["1", "5", "0", "6", "-1", "4.0", "³", "", " 3 ", "yes", "1e3", "9" * 40]),
    st.text(max_size=300),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=st.dictionaries(_FIELDS, _VALUES, max_size=5))
async def test_whatever_is_posted_to_a_survey_page_it_answers_and_records_only_valid_answers(
    api: Api, team: dict[str, Any], form: dict[str, str]
) -> None:
    customer = (await api.services.customers.resolve("phone", "+16175550111")).customer
    call = await api.services.queue.enqueue(customer, Channel.VOICE, subject="Call")
    path = urlsplit(
        (await api.json("POST", f"/api/v1/interactions/{call}/survey", "agent", status=201))["url"]
    ).path
    response = await api.call("POST", path, None, data=form)
    assert response.status in (200, 422), (form, response.status)
    async with api.services.db.connect() as conn:
        (row,) = list(await conn.execute(select(surveys).where(surveys.c.interaction_id == call)))
    csat = form.get("csat", "").strip()
    valid = csat.isascii() and csat.lstrip("+-").isdigit() and 1 <= int(csat) <= 5
    assert (response.status == 200) == (row.answered_at is not None)
    if row.answered_at is not None:
        assert valid and row.csat == int(csat)


async def test_supervisors_see_csat_and_response_rate_by_tier_channel_group_and_agent(
    api: Api, team: dict[str, Any]
) -> None:
    answered = await _resolved(api, team, "one@example.com")
    await _resolved(api, team, "two@example.com")  # sent, never answered
    await api.call("POST", await _link(api, answered), None, data={"csat": "5"})
    report = await api.json("GET", "/api/v1/reports/surveys?days=7", "supervisor")
    assert (report["sent"], report["responses"], report["csat_percent"]) == (2, 1, 100.0)
    assert report["response_rate"] == 50.0
    assert report["by_channel"] == [
        {"key": "email", "sent": 2, "responses": 1, "csat_percent": 100.0, "response_rate": 50.0}
    ]
    assert [r["key"] for r in report["by_agent"]] == ["ana"]
    assert [r["key"] for r in report["by_group"]] == ["general"]
    assert report["by_tier"][0]["key"] == "transactional"
    await api.json("GET", "/api/v1/reports/surveys", "agent", status=403)
