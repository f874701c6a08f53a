"""The phone flow (IVR) as data: prompts per language, the menu and what each choice does.

Read from a YAML file (`default_ivr.yaml` ships) with errors naming file, line and field. Pure:
the voice channel asks it what to say and what a caller's keys or words mean, and keeps the call's
state itself.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from yaml.nodes import Node

from routing.yaml_reader import YamlReader, compose, read_file

DEFAULT_FLOW = Path(__file__).with_name("default_ivr.yaml")


class FlowError(ValueError):
    """A flow that cannot be used; str() is `file:line: field: what is wrong`."""


class Action(StrEnum):
    QUEUE = "queue"  # into the one queue, with the option's topic
    ORDER_STATUS = "order_status"  # self-service: read an order's status back


@dataclass(frozen=True, slots=True)
class Voice:
    say_as: str  # the language code Twilio speaks and listens in (en-US, cmn-CN)
    voice: str  # a Twilio <Say> voice; empty for Twilio's default


@dataclass(frozen=True, slots=True)
class Text:
    """One prompt in every language of the flow; `{name}` parts are filled in when spoken."""

    by_language: dict[str, str]

    def get(self, language: str, **values: object) -> str:
        text = self.by_language.get(language) or next(iter(self.by_language.values()))
        return text.format_map(_Blank(values)) if values else text


class _Blank(dict[str, object]):
    """Fills in what a prompt asks for; a name the service does not give is left out."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class Option:
    key: str  # the DTMF key
    words: tuple[str, ...]  # what a caller may say instead, lower case
    action: Action
    topic: str | None


@dataclass(frozen=True, slots=True)
class Flow:
    languages: dict[str, Voice]  # the first is used when the caller's language is not here
    greeting: Text
    menu_prompt: Text
    menu_retry: Text
    menu_attempts: int
    menu_timeout: int
    options: tuple[Option, ...]
    no_choice_topic: str
    key_account_topic: str
    order_prompt: Text
    order_answer: Text
    order_not_found: Text
    order_anything_else: Text
    order_attempts: int
    order_timeout: int
    hold_music_url: str
    hold_position: Text
    hold_estimate: Text
    callback_offer: Text
    callback_confirm: Text
    callback_no_number: Text
    callback_hello: Text
    connecting: Text
    voicemail_prompt: Text
    voicemail_thanks: Text
    voicemail_max_seconds: int
    trouble: Text
    survey_offer: Text = Text(
        {"en": "After your call, please stay on the line for a short survey."}
    )
    survey_intro: Text = Text({"en": "Before you go, a short survey about your call."})
    survey_keys: Text = Text({"en": "Press a number from {low} to {high}."})
    survey_thanks: Text = Text({"en": "Thank you for your answers. Goodbye."})

    def language(self, preferred: str | None) -> str:
        """The flow's language for a caller: theirs if the flow has it (`zh-CN` finds `zh`)."""
        if preferred:
            for candidate in (preferred, preferred.split("-")[0]):
                if candidate in self.languages:
                    return candidate
        return next(iter(self.languages))

    def choose(self, digits: str | None, speech: str | None) -> Option | None:
        """The menu option a caller picked: by key first, else by the longest phrase of an
        option found in what they said (so "an agent about my order" is the agent)."""
        if digits:
            for option in self.options:
                if digits.strip().startswith(option.key):
                    return option
        said = _plain(speech or "")
        if not said:
            return None
        best: tuple[int, Option] | None = None
        for option in self.options:
            for word in option.words:
                if _contains(said, word) and (best is None or len(word) > best[0]):
                    best = (len(word), option)
        return best[1] if best else None

    def hints(self) -> str:
        """Phrases to help Twilio's speech recognition, comma-separated."""
        return ", ".join(w for o in self.options for w in o.words if w.isascii())[:500]


_PUNCTUATION = str.maketrans({c: " " for c in string.punctuation + "，。？！、"})


def _plain(text: str) -> str:
    return " ".join(text.lower().translate(_PUNCTUATION).split())


def _contains(said: str, phrase: str) -> bool:
    if not phrase.isascii():  # no spaces between words in Chinese: a substring will do
        return phrase in said
    return re.search(rf"\b{re.escape(phrase)}\b", said) is not None


def load_flow(path: Path | str = DEFAULT_FLOW) -> Flow:
    path = Path(path)
    return parse_flow(read_file(path, FlowError), str(path))


def parse_flow(text: str, source: str = "<flow>") -> Flow:
    return _Reader(source, FlowError).flow(compose(text, source, FlowError))


_SECTIONS = {
    "languages",
    "greeting",
    "menu",
    "key_accounts",
    "order_status",
    "hold",
    "connecting",
    "voicemail",
    "trouble",
}


class _Reader(YamlReader[FlowError]):
    def flow(self, root: Node) -> Flow:
        top = self.mapping(root, "flow", _SECTIONS | {"survey"})
        self.require(top, root, "flow", *sorted(_SECTIONS))
        self.languages = self.voices(top["languages"])
        menu = self.mapping(
            top["menu"],
            "menu",
            {"prompt", "retry", "attempts", "timeout_seconds", "options", "no_choice"},
        )
        self.require(menu, top["menu"], "menu", "prompt", "retry", "options", "no_choice")
        order = self.mapping(
            top["order_status"],
            "order_status",
            {"prompt", "answer", "not_found", "anything_else", "attempts", "timeout_seconds"},
        )
        self.require(
            order,
            top["order_status"],
            "order_status",
            "prompt",
            "answer",
            "not_found",
            "anything_else",
        )
        hold = self.mapping(
            top["hold"],
            "hold",
            {
                "music_url",
                "position",
                "estimate",
                "callback_offer",
                "callback_confirm",
                "no_number",
                "callback_hello",
            },
        )
        self.require(
            hold,
            top["hold"],
            "hold",
            "position",
            "estimate",
            "callback_offer",
            "callback_confirm",
            "no_number",
            "callback_hello",
        )
        voicemail = self.mapping(top["voicemail"], "voicemail", {"prompt", "thanks", "max_seconds"})
        self.require(voicemail, top["voicemail"], "voicemail", "prompt", "thanks")
        return Flow(
            languages=self.languages,
            greeting=self.text(top["greeting"], "greeting"),
            menu_prompt=self.text(menu["prompt"], "menu.prompt"),
            menu_retry=self.text(menu["retry"], "menu.retry"),
            menu_attempts=self.count(menu, "attempts", "menu", 3, 1, 10),
            menu_timeout=self.count(menu, "timeout_seconds", "menu", 5, 1, 60),
            options=self.options(menu["options"]),
            no_choice_topic=self.topic(menu["no_choice"], "menu.no_choice"),
            key_account_topic=self.topic(top["key_accounts"], "key_accounts"),
            order_prompt=self.text(order["prompt"], "order_status.prompt"),
            order_answer=self.text(order["answer"], "order_status.answer"),
            order_not_found=self.text(order["not_found"], "order_status.not_found"),
            order_anything_else=self.text(order["anything_else"], "order_status.anything_else"),
            order_attempts=self.count(order, "attempts", "order_status", 2, 1, 10),
            order_timeout=self.count(order, "timeout_seconds", "order_status", 8, 1, 60),
            hold_music_url=self.scalar(hold["music_url"], "hold.music_url")
            if "music_url" in hold
            else "",
            hold_position=self.text(hold["position"], "hold.position"),
            hold_estimate=self.text(hold["estimate"], "hold.estimate"),
            callback_offer=self.text(hold["callback_offer"], "hold.callback_offer"),
            callback_confirm=self.text(hold["callback_confirm"], "hold.callback_confirm"),
            callback_no_number=self.text(hold["no_number"], "hold.no_number"),
            callback_hello=self.text(hold["callback_hello"], "hold.callback_hello"),
            connecting=self.text(top["connecting"], "connecting"),
            voicemail_prompt=self.text(voicemail["prompt"], "voicemail.prompt"),
            voicemail_thanks=self.text(voicemail["thanks"], "voicemail.thanks"),
            voicemail_max_seconds=self.count(voicemail, "max_seconds", "voicemail", 120, 5, 3600),
            trouble=self.text(top["trouble"], "trouble"),
            **(self.survey(top["survey"]) if "survey" in top else {}),
        )

    def survey(self, node: Node) -> dict[str, Text]:
        """The post-call survey's words (optional: English defaults stand in)."""
        fields = self.mapping(node, "survey", {"offer", "intro", "keys", "thanks"})
        return {
            f"survey_{name}": self.text(value, f"survey.{name}") for name, value in fields.items()
        }

    def voices(self, node: Node) -> dict[str, Voice]:
        voices = {}
        for name, value in self.mapping(node, "languages", set()).items():
            fields = self.mapping(value, f"languages.{name}", {"say_as", "voice"})
            self.require(fields, value, f"languages.{name}", "say_as")
            voice = (
                self.scalar(fields["voice"], f"languages.{name}.voice")
                if ("voice" in fields)
                else ""
            )
            voices[name] = Voice(self.scalar(fields["say_as"], f"languages.{name}.say_as"), voice)
        if not voices:
            raise self.fail(node, "languages", "at least one language is required")
        return voices

    def text(self, node: Node, path: str) -> Text:
        """A prompt in every language of the flow, so that no caller hears another language."""
        fields = self.mapping(node, path, set(self.languages))
        missing = [lang for lang in self.languages if lang not in fields]
        if missing:
            raise self.fail(node, path, f"no text for language {missing[0]!r}")
        texts = {}
        for lang, value in fields.items():
            texts[lang] = " ".join(self.scalar(value, f"{path}.{lang}").split())
            try:
                texts[lang].format_map(_Blank())
            except (ValueError, IndexError) as exc:
                raise self.fail(value, f"{path}.{lang}", f"bad {{...}} part: {exc}") from None
        return Text(texts)

    def count(
        self, fields: dict[str, Node], name: str, path: str, default: int, low: int, high: int
    ) -> int:
        if name not in fields:
            return default
        return int(self.number(fields[name], f"{path}.{name}", low, high))

    def topic(self, node: Node, path: str) -> str:
        fields = self.mapping(node, path, {"topic"})
        self.require(fields, node, path, "topic")
        return self.scalar(fields["topic"], f"{path}.topic")

    def options(self, node: Node) -> tuple[Option, ...]:
        options = []
        keys: set[str] = set()
        for n, item in enumerate(self.sequence(node, "menu.options")):
            path = f"menu.options[{n}]"
            fields = self.mapping(item, path, {"key", "words", "action", "topic"})
            self.require(fields, item, path, "key", "action")
            key = self.scalar(fields["key"], f"{path}.key")
            if key not in "0123456789*#" or len(key) != 1:
                raise self.fail(fields["key"], f"{path}.key", "must be one phone key: 0-9, * or #")
            if key in keys:
                raise self.fail(fields["key"], f"{path}.key", f"key {key} is used twice")
            keys.add(key)
            action_text = self.scalar(fields["action"], f"{path}.action")
            try:
                action = Action(action_text)
            except ValueError:
                known = ", ".join(a.value for a in Action)
                message = f"unknown action {action_text!r}; known: {known}"
                raise self.fail(fields["action"], f"{path}.action", message) from None
            topic = self.scalar(fields["topic"], f"{path}.topic") if "topic" in fields else None
            if action is Action.QUEUE and topic is None:
                raise self.fail(item, path, "topic is required for action queue")
            words = (
                tuple(_plain(w) for w in self.strings(fields["words"], f"{path}.words"))
                if ("words" in fields)
                else ()
            )
            options.append(Option(key, words, action, topic))
        if not options:
            raise self.fail(node, "menu.options", "at least one option is required")
        return tuple(options)
