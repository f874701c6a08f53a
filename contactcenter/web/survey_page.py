"""The survey page a customer reaches from the link in our mail: `/survey/<token>`.

Served as plain HTML (a form, no script), in the customer's language (English or Chinese).
Opening it records nothing: mail scanners follow links. Submitting the form records the answers
once; the link then says it was used, and after its days it says it has expired. A token that is
not ours is a 404 that tells nothing more. The token is the only credential: no login, no CSRF
token (`middleware.py`).
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from contactcenter.errors import Conflict, NotFound
from contactcenter.web.endpoints import SERVICES
from contactcenter.web.pages import page_headers
from workflows.surveys import RANGES, AnswerError, Ask, Kind, Question

TOKEN = r"{token:[A-Za-z0-9_-]{20,64}}"
_FORM_LIMIT = 20_000  # bytes of a submitted form: the comment's 2,000 characters and the rest
_UI = {
    "en": {
        "title": "How did we do?",
        "send": "Send",
        "thanks": "Thank you. Your answers help us do better.",
        "answered": "This survey has been answered. Thank you.",
        "expired": "This survey link has expired.",
        "unknown": "This link is not one of ours.",
        "yes": "Yes",
        "no": "No",
        "optional": "(optional)",
        "low": "Not at all",
        "high": "Very",
    },
    "zh": {
        "title": "您对我们的服务满意吗？",
        "send": "提交",
        "thanks": "谢谢！您的反馈帮助我们做得更好。",
        "answered": "此问卷已提交，谢谢。",
        "expired": "此问卷链接已过期。",
        "unknown": "此链接无效。",
        "yes": "是",
        "no": "否",
        "optional": "（可选）",
        "low": "完全不",
        "high": "非常",
    },
}


def _page(language: str, body: str, status: int = 200) -> web.Response:
    ui = _UI.get(language, _UI["en"])
    html = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(ui["title"])}</title><link rel="stylesheet" href="/static/app.css">'
        f'</head><body><main class="survey"><h1>{escape(ui["title"])}</h1>{body}</main>'
        "</body></html>"
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=page_headers())


def _question_html(question: Question, language: str, error: str | None, given: str) -> str:
    ui = _UI.get(language, _UI["en"])
    label = escape(question.said(language))
    optional = f' <span class="muted">{ui["optional"]}</span>' if question.optional else ""
    problem = (
        f'<p class="error" id="{question.id}-error" role="alert">{escape(error)}</p>'
        if error
        else ""
    )
    described = f' aria-describedby="{question.id}-error"' if error else ""
    if question.kind is Kind.COMMENT:
        return (
            f'<p><label for="{question.id}">{label}{optional}</label></p>{problem}'
            f'<textarea id="{question.id}" name="{question.id}" rows="4" maxlength="2000"'
            f"{described}>{escape(given)}</textarea>"
        )
    low, high = RANGES[question.kind]
    choices = "".join(
        f'<label class="choice"><input type="radio" name="{question.id}" value="{n}"'
        f"{' checked' if given == str(n) else ''}{'' if question.optional else ' required'}>"
        f" {n}</label>"
        for n in range(low, high + 1)
    )
    return (
        f"<fieldset{described}><legend>{label}{optional}</legend>{problem}"
        f'<span class="muted small">{low} = {ui["low"]}, {high} = {ui["high"]}</span>'
        f'<div class="choices">{choices}</div></fieldset>'
    )


def _form(ask: Ask, language: str, questions: tuple[Question, ...], solved: dict[str, str],
          errors: dict[str, str], given: dict[str, str]) -> str:  # fmt: skip
    ui = _UI.get(language, _UI["en"])
    if ask is Ask.SOLVED:
        text = solved.get(language) or solved.get("en") or next(iter(solved.values()))
        problem = (
            f'<p class="error" role="alert">{escape(errors["solved"])}</p>'
            if "solved" in errors
            else ""
        )
        inner = (
            f"<fieldset><legend>{escape(text)}</legend>{problem}"
            f'<label class="choice"><input type="radio" name="solved" value="yes" required> '
            f'{ui["yes"]}</label><label class="choice"><input type="radio" name="solved" '
            f'value="no"> {ui["no"]}</label></fieldset>'
        )
    else:
        inner = "".join(
            _question_html(q, language, errors.get(q.id), given.get(q.id, "")) for q in questions
        )
    return f'<form method="post">{inner}<p><button type="submit">{ui["send"]}</button></p></form>'


async def show(request: web.Request) -> web.Response:
    """The survey's form (or why it cannot be answered); records nothing."""
    records = request.app[SERVICES].surveys
    try:
        survey = await records.by_token(request.match_info["token"])
    except NotFound:
        return _page("en", f"<p>{_UI['en']['unknown']}</p>", 404)
    if survey.state != "open":
        return _page(survey.language, f"<p>{_UI[survey.language][survey.state]}</p>")
    policy = records.policy
    body = _form(survey.ask, survey.language, policy.questions, policy.solved_question, {}, {})
    return _page(survey.language, body)


async def submit(request: web.Request) -> web.Response:
    """The submitted form: recorded once; a wrong answer shows the form again with the question
    at fault named (422), and nothing is recorded."""
    records = request.app[SERVICES].surveys
    token = request.match_info["token"]
    try:
        survey = await records.by_token(token)
    except NotFound:
        return _page("en", f"<p>{_UI['en']['unknown']}</p>", 404)
    ui = _UI[survey.language]
    if request.content_length is not None and request.content_length > _FORM_LIMIT:
        raise web.HTTPRequestEntityTooLarge(
            max_size=_FORM_LIMIT, actual_size=request.content_length
        )
    try:
        posted = await request.post()
    except ValueError:
        posted = {}  # type: ignore[assignment]
    given = {
        key: str(value)[:_FORM_LIMIT] for key, value in posted.items() if isinstance(value, str)
    }
    try:
        await records.answer(token, given)
    except AnswerError as exc:
        policy = records.policy
        errors = {exc.field: str(exc)}
        body = _form(
            survey.ask, survey.language, policy.questions, policy.solved_question, errors, given
        )
        return _page(survey.language, body, 422)
    except Conflict:
        state = (await records.by_token(token)).state
        return _page(survey.language, f"<p>{ui[state if state != 'open' else 'answered']}</p>", 409)
    return _page(survey.language, f"<p>{ui['thanks']}</p>")


def register(app: web.Application) -> None:
    app.router.add_get(f"/survey/{TOKEN}", show)
    app.router.add_post(f"/survey/{TOKEN}", submit)
