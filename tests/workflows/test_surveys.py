"""Who is surveyed after what, how answers are read, and the figures made of them."""

from datetime import UTC, datetime, timedelta

import pytest

from workflows.relationship_policy import RelationshipPolicyError, parse_relationship_policy
from workflows.surveys import AnswerError, Answers, Ask, Figures, SurveyPolicy, decide, read_answers

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
POLICY = SurveyPolicy(
    send={"key_account": frozenset({"voice", "email"}), "transactional": frozenset({"chat"})}
)


def _decide(status: str = "closed", channel: str = "email", tier: str = "key_account", **kw):  # type: ignore[no-untyped-def]
    args = {"auto_replied_only": False, "last_survey_at": None} | kw
    return decide(status=status, channel=channel, tier=tier, now=NOW, policy=POLICY, **args)


def test_who_is_surveyed() -> None:
    assert _decide().ask is Ask.SURVEY
    assert _decide(status="abandoned").why == "the customer left before anyone answered"
    assert _decide(auto_replied_only=True).ask is None
    assert _decide(status="self_served", channel="chat").ask is Ask.SOLVED
    assert _decide(channel="fax").why == "key_account customers are not surveyed on fax"
    assert _decide(tier="relationship").ask is None  # no channel for that tier
    recent = _decide(last_survey_at=NOW - timedelta(days=29))
    assert recent.ask is None and recent.why == "surveyed within the last 30 days"
    assert _decide(last_survey_at=NOW - timedelta(days=30)).ask is Ask.SURVEY


def test_a_survey_asked_for_goes_out_but_never_after_abandoned_or_auto_replied_work() -> None:
    assert _decide(channel="fax", asked_for=True).ask is Ask.SURVEY
    assert _decide(last_survey_at=NOW, asked_for=True).ask is Ask.SURVEY
    assert _decide(status="abandoned", asked_for=True).ask is None
    assert _decide(auto_replied_only=True, asked_for=True).ask is None


def test_answers_are_read_and_checked_question_by_question() -> None:
    questions = SurveyPolicy().questions  # csat (required), comment (optional)
    assert read_answers(Ask.SURVEY, questions, {"csat": "5"}) == Answers(csat=5)
    got = read_answers(Ask.SURVEY, questions, {"csat": " 2 ", "comment": " slow "})
    assert got == Answers(csat=2, comment="slow") and got.low
    for given, field in [
        ({}, "csat"),
        ({"csat": "6"}, "csat"),
        ({"csat": "0"}, "csat"),
        ({"csat": "4.5"}, "csat"),
        ({"csat": "³"}, "csat"),  # a digit to isdigit(), not to int(): refused, not crashed
        ({"csat": "٣"}, "csat"),  # digits of other scripts are not what the form sends
        ({"csat": "1e1"}, "csat"),
        ({"csat": "3", "comment": "x" * 2001}, "comment"),
    ]:
        with pytest.raises(AnswerError) as raised:
            read_answers(Ask.SURVEY, questions, given)
        assert raised.value.field == field
    assert read_answers(Ask.SOLVED, questions, {"solved": "Yes"}) == Answers(solved=True)
    with pytest.raises(AnswerError):
        read_answers(Ask.SOLVED, questions, {"solved": "maybe"})


def test_csat_percent_and_response_rate() -> None:
    figures = Figures(sent=8, responses=4, satisfied=3)
    assert (figures.csat_percent, figures.response_rate) == (75.0, 50.0)
    assert Figures(0, 0, 0).csat_percent is None and Figures(0, 0, 0).response_rate is None


def test_the_survey_section_of_the_policy() -> None:
    policy = parse_relationship_policy(
        "surveys:\n"
        "  send: {transactional: [chat]}\n"
        "  questions:\n"
        "    - {id: csat, kind: csat, text: {en: 'How was it?'}}\n"
        "    - {id: nps, kind: nps, optional: true, text: {en: 'Recommend us?', zh: '推荐吗？'}}\n"
    ).surveys
    assert [q.id for q in policy.questions] == ["csat", "nps"]
    assert policy.send["transactional"] == {"chat"} and "email" in policy.send["key_account"]
    assert (
        policy.questions[1].said("zh") == "推荐吗？"
        and policy.questions[0].said("zh") == "How was it?"  # English stands in
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "surveys: {send: {transactional: [sms]}}\n",
            "surveys.send.transactional: unknown channel",
        ),
        (
            "surveys:\n  questions:\n    - {id: c, kind: comment, text: {en: x}}\n",
            "one question must be of kind csat",
        ),
        (
            "surveys:\n  questions:\n    - {id: a, kind: csat, optional: true, text: {en: x}}\n",
            "the csat question is required",
        ),
        (
            "surveys:\n  questions:\n    - {id: a, kind: stars, text: {en: x}}\n",
            "surveys.questions[0].kind: one of",
        ),
        (
            "surveys:\n  questions:\n    - {id: a, kind: csat, text: {}}\n",
            "give the words in at least one language",
        ),
        ("surveys: {every_days: -1}\n", "surveys.every_days: must be between"),
    ],
)
def test_a_wrong_survey_section_names_the_field(text: str, message: str) -> None:
    with pytest.raises(RelationshipPolicyError) as raised:
        parse_relationship_policy(text)
    assert message in str(raised.value)
