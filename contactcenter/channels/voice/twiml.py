"""What callers hear: the TwiML answers of the phone channel, built from the IVR flow in one
caller's language. Pure; `voice.py` decides which answer a call gets."""

from __future__ import annotations

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from workflows.ivr import Flow, Text

HOOKS = "/twilio/voice"


class Speaker:
    """The flow's texts, said in one caller's language with that language's voice."""

    def __init__(self, flow: Flow, language: str) -> None:
        self.flow = flow
        self.language = flow.language(language)
        self.voice = flow.languages[self.language]

    def say(self, target: VoiceResponse | Gather, text: Text, **values: object) -> None:
        target.say(
            text.get(self.language, **values),
            language=self.voice.say_as,
            voice=self.voice.voice or None,
        )

    def gather(
        self,
        step: str,
        *,
        timeout: int,
        digits: int | None = None,
        speech: bool = False,
        on_empty: bool = True,
    ) -> Gather:
        """Keys (and words, with `speech`) posted to the gather hook for `step`; `digits` None
        reads until the caller presses #. With `on_empty`, no answer is posted too."""
        return Gather(
            action=f"{HOOKS}/gather?step={step}",
            input="dtmf speech" if speech else "dtmf",
            num_digits=digits,
            finish_on_key="#" if digits is None else None,
            timeout=timeout,
            language=self.voice.say_as if speech else None,
            hints=self.flow.hints() if speech else None,
            action_on_empty_result=True if on_empty else None,
        )


def menu(speaker: Speaker, *, greet: bool, retry: bool) -> VoiceResponse:
    """The menu; with no answer Twilio posts an empty result to the gather hook, which counts it
    as a failed attempt."""
    response = VoiceResponse()
    if greet:
        speaker.say(response, speaker.flow.greeting)
    gather = speaker.gather("menu", timeout=speaker.flow.menu_timeout, digits=1, speech=True)
    if retry:
        speaker.say(gather, speaker.flow.menu_retry)
    speaker.say(gather, speaker.flow.menu_prompt)
    response.append(gather)
    return response


def order_prompt(speaker: Speaker, *, retry: bool) -> VoiceResponse:
    response = VoiceResponse()
    gather = speaker.gather("order", timeout=speaker.flow.order_timeout)
    if retry:
        speaker.say(gather, speaker.flow.order_not_found)
    speaker.say(gather, speaker.flow.order_prompt)
    response.append(gather)
    return response


def order_answer(speaker: Speaker, order: str, status: str) -> VoiceResponse:
    """The status read back; then 0 for an agent, or goodbye."""
    response = VoiceResponse()
    speaker.say(response, speaker.flow.order_answer, order=" ".join(order), status=status)
    gather = speaker.gather("after_order", timeout=5, digits=1)
    speaker.say(gather, speaker.flow.order_anything_else)
    response.append(gather)
    response.hangup()
    return response


def enqueue(speaker: Speaker, interaction_id: int, *, trouble: bool = False) -> VoiceResponse:
    """Into Twilio's hold, named after the interaction; the wait hook says where the caller
    stands in our queue, and the status hook hears when the call leaves the hold."""
    response = VoiceResponse()
    if trouble:
        speaker.say(response, speaker.flow.trouble)
    response.enqueue(
        f"cc-{interaction_id}",
        wait_url=f"{HOOKS}/wait",
        action=f"{HOOKS}/status?leg=queue",
    )
    return response


def hold(
    speaker: Speaker,
    position: int | None,
    minutes: int | None,
    pause_seconds: int,
    *,
    callback: bool,
) -> VoiceResponse:
    """One round of holding: where the caller stands (when given) and, for a caller we can
    call back, the offer to be; then music, or silence of `pause_seconds` when the flow has no
    music. A key pressed during the round is posted to the gather hook's `hold` step."""
    response = VoiceResponse()
    round_ = speaker.gather("hold", timeout=1, digits=1, on_empty=False)
    if position is not None:
        speaker.say(round_, speaker.flow.hold_position, position=position, ahead=position - 1)
        if minutes is not None:
            speaker.say(round_, speaker.flow.hold_estimate, minutes=minutes)
        if callback:
            speaker.say(round_, speaker.flow.callback_offer)
    if speaker.flow.hold_music_url:
        round_.play(speaker.flow.hold_music_url)
    else:
        round_.pause(length=pause_seconds)
    response.append(round_)
    return response


def survey_question(
    speaker: Speaker, words: str, low: int, high: int, action: str, *, intro: bool
) -> VoiceResponse:
    """One keypad question of the post-call survey; its keys are posted to `action` (a single
    key for a 1–5 scale, up to two ended by # for 0–10). No answer posts an empty result."""
    response = VoiceResponse()
    if intro:
        speaker.say(response, speaker.flow.survey_intro)
    gather = Gather(
        action=action,
        input="dtmf",
        num_digits=1 if high < 10 else None,
        finish_on_key="#" if high >= 10 else None,
        timeout=6,
        action_on_empty_result=True,
    )
    gather.say(words, language=speaker.voice.say_as, voice=speaker.voice.voice or None)
    speaker.say(gather, speaker.flow.survey_keys, low=low, high=high)
    response.append(gather)
    return response


def connect(
    speaker: Speaker,
    base: str,
    endpoint: tuple[str, str],
    *,
    record: bool,
    callback: bool,
    survey: bool = False,
) -> VoiceResponse:
    """Through to the agent who accepted: `endpoint` is ("client", identity) or ("number",
    E.164); with `survey`, the caller is asked to stay on the line afterwards. Sent through the
    REST API, so its URLs are absolute (`base`: the public address)."""
    response = VoiceResponse()
    flow = speaker.flow
    speaker.say(response, flow.callback_hello if callback else flow.connecting)
    if survey:
        speaker.say(response, flow.survey_offer)
    dial = Dial(
        action=f"{base}{HOOKS}/status?leg=agent",
        timeout=20,
        record="record-from-answer-dual" if record else None,
        recording_status_callback=f"{base}{HOOKS}/recording" if record else None,
    )
    kind, value = endpoint
    if kind == "client":
        dial.client(value)
    else:
        dial.number(value)
    response.append(dial)
    return response


def voicemail(speaker: Speaker) -> VoiceResponse:
    """Closed: a message after the tone, posted to the recording hook when it ends."""
    response = VoiceResponse()
    speaker.say(response, speaker.flow.voicemail_prompt)
    response.record(
        action=f"{HOOKS}/recording?kind=voicemail",
        max_length=speaker.flow.voicemail_max_seconds,
        play_beep=True,
        finish_on_key="#",
    )
    return response


def leave() -> VoiceResponse:
    """Out of the hold (to be called back); the hold's action hears why."""
    response = VoiceResponse()
    response.leave()
    return response


def back_to_hold() -> VoiceResponse:
    response = VoiceResponse()
    response.redirect(f"{HOOKS}/wait")
    return response


def goodbye(speaker: Speaker | None = None, text: Text | None = None) -> VoiceResponse:
    response = VoiceResponse()
    if speaker is not None and text is not None:
        speaker.say(response, text)
    response.hangup()
    return response
