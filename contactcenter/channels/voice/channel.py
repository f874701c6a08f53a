"""The phone channel: Twilio's webhooks in, TwiML out, every call into the one queue.

A call is followed by its CallSid (`calls.py`): who is calling (their number resolves to the
customer record, tier and language), where they are in the IVR flow, and the interaction it
became. Webhooks can come twice (Twilio retries); each answers from the call's stored state, and
the interaction is enqueued with the CallSid as its reference, so a call is one interaction.
Whatever goes wrong, the caller gets spoken TwiML and a routed call, never an error page.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

import structlog
from twilio.twiml.voice_response import VoiceResponse

from contactcenter.channels.voice import twiml
from contactcenter.channels.voice.calls import (
    CallRecord,
    CallRecords,
    Form,
    seconds_of,
    sid_of,
)
from contactcenter.channels.voice.connect import CallConnector
from contactcenter.channels.voice.order_status import OrderStatusProvider, OrderStatusUnavailable
from contactcenter.channels.voice.recordings import Recordings
from contactcenter.channels.voice.twiml import Speaker
from contactcenter.customers.records import CustomerFields, CustomerRecords
from contactcenter.errors import Conflict, Invalid
from contactcenter.interactions.records import InteractionRecords
from contactcenter.model import CallStage, Channel, Customer, IdentityKind, InteractionStatus, Tier
from contactcenter.queue.core import InteractionQueue
from contactcenter.queue.translation import work_item
from contactcenter.runtime.clock import now
from workflows.call_steps import (
    AskAgain,
    AskOrder,
    CallBack,
    NoNumber,
    ReadBack,
    Route,
    announce_due,
    expected_minutes,
    hold_step,
    menu_step,
    order_number,
    order_step,
)
from workflows.ivr import Flow

log = structlog.get_logger(__name__)
# What Twilio puts in From when the caller hides their number.
HIDDEN = frozenset({"", "anonymous", "restricted", "unknown", "private", "+266696687"})
ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
ANSWER_RATE_WINDOW = timedelta(minutes=30)


class VoiceChannel:
    def __init__(
        self,
        *,
        customers: CustomerRecords,
        interactions: InteractionRecords,
        queue: InteractionQueue,
        calls: CallRecords,
        flow: Flow,
        orders: OrderStatusProvider,
        connector: CallConnector,
        announce_seconds: float = 30.0,
    ) -> None:
        self.customers = customers
        self.interactions = interactions
        self.queue = queue
        self.calls = calls
        self.flow = flow
        self.orders = orders
        self.connector = connector
        self.recordings = Recordings(
            calls=calls, flow=flow, customers=customers, queue=queue, interactions=interactions
        )
        self.announce_seconds = announce_seconds
        self._rate: tuple[float, int] = (0.0, 0)  # (when counted, voice answers in the window)

    # -- the webhooks -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start putting accepted calls through to their agents."""
        await self.connector.start()

    async def stop(self) -> None:
        await self.connector.stop()

    async def hang_up(self, interaction_id: int, agent_id: int) -> None:
        """The agent ends the call of an interaction they hold (see `CallConnector.hang_up`)."""
        await self.connector.hang_up(interaction_id, agent_id)

    def heard_at(self, origin: str) -> None:
        """The address Twilio's webhooks arrive at (used when no public URL is set)."""
        self.connector.heard_at(origin)

    async def incoming(self, form: Form) -> VoiceResponse:
        """A new call: recognise the caller, greet them, then the menu (key accounts go
        straight to the queue, where their account manager is tried first)."""
        sid = sid_of(form)
        number = self._number(form.get("From", ""))
        if not number:  # a retried webhook must not make a second customer for this caller
            known = await self.calls.get(sid)
            if known is not None:
                return await self._again(known)
        customer = await self._caller(number)
        language = self.flow.language(customer.language)
        call, created = await self.calls.start(
            sid, customer.id, number, form.get("To", "")[:32], language, CallStage.MENU
        )
        if not created:
            return await self._again(call)
        log.info("voice.call_started", call_sid=sid, customer_id=customer.id)
        if customer.tier is Tier.KEY_ACCOUNT:
            speaker = Speaker(self.flow, call.language)
            response = await self._route(call, customer, self.flow.key_account_topic)
            return _greeted(speaker, response)
        return twiml.menu(Speaker(self.flow, call.language), greet=True, retry=False)

    async def gather(self, form: Form, step: str) -> VoiceResponse:
        """What the caller pressed or said at the menu, the order number, or after the answer."""
        call = await self.calls.get(sid_of(form))
        if call is None:  # a gather for a call we never saw start: start it now
            return await self.incoming(form)
        speaker = Speaker(self.flow, call.language)
        digits, speech = form.get("Digits", "").strip(), form.get("SpeechResult", "").strip()
        if step == "menu" and call.stage is CallStage.MENU:
            return await self._menu_choice(call, speaker, digits, speech)
        if step == "order" and call.stage is CallStage.ORDER:
            return await self._order(call, speaker, digits)
        if step == "after_order" and digits.startswith("0"):
            customer = await self.customers.get(call.customer_id, identities=False)
            return await self._route(call, customer, self.flow.no_choice_topic)
        if step == "after_order":
            return twiml.goodbye()
        if step == "hold":
            return await self._hold_key(call, speaker, digits)
        return await self._again(call)  # a stale or repeated gather: carry on from where it is

    async def wait(self, form: Form) -> VoiceResponse:
        """A round of holding: position and expected wait every `announce_seconds`, music."""
        call = await self.calls.get(sid_of(form))
        pause = int(self.announce_seconds)
        if call is None or call.interaction_id is None:
            return twiml.hold(Speaker(self.flow, ""), None, None, pause, callback=False)
        speaker = Speaker(self.flow, call.language)
        position = await self.queue.position(call.interaction_id)
        at = now()
        due = announce_due(call.announced_at, at, self.announce_seconds)
        callback = bool(call.from_number)
        if position is None or not due:
            return twiml.hold(speaker, None, None, pause, callback=callback)
        await self.calls.update(call.call_sid, announced_at=at)
        minutes = await self._minutes(position)
        return twiml.hold(speaker, position, minutes, pause, callback=callback)

    async def status(self, form: Form, leg: str) -> VoiceResponse:
        """The call left the hold (`leg=queue`, with QueueResult), the agent's leg ended
        (`leg=agent`, with DialCallStatus), or the call ended (CallStatus)."""
        call = await self.calls.get(sid_of(form))
        if call is None:
            return VoiceResponse()
        if leg == "agent":
            return await self.connector.dial_ended(call, form)
        if leg == "queue":
            result = form.get("QueueResult")
            if result == "leave" and call.stage is CallStage.CALLBACK:
                speaker = Speaker(self.flow, call.language)
                return twiml.goodbye(speaker, self.flow.callback_confirm)
            if result in ("hangup", "error", "system-error", "queue-full"):
                await self._ended(call, form)
            return VoiceResponse()
        if form.get("CallStatus", "").lower() in ENDED_STATUSES:
            await self._ended(call, form)
        return VoiceResponse()

    async def safely(
        self, form: Form, step: Callable[[], Awaitable[VoiceResponse]], *, live: bool = True
    ) -> VoiceResponse:
        """Run a webhook's step; if it fails, a caller on the line (`live`) still gets spoken
        TwiML and, where the call is known, a place in the queue."""
        try:
            return await step()
        except Exception:
            log.exception("voice.webhook_failed", call_sid=form.get("CallSid"))
        if not live:
            return VoiceResponse()
        try:
            call = await self.calls.get(sid_of(form))
            if call is not None and call.stage is not CallStage.ENDED:
                customer = await self.customers.get(call.customer_id, identities=False)
                return await self._enqueue(call, customer, self.flow.no_choice_topic, trouble=True)
        except Exception:
            log.exception("voice.fallback_failed", call_sid=form.get("CallSid"))
        response = VoiceResponse()
        Speaker(self.flow, "").say(response, self.flow.trouble)
        response.pause(length=2)
        response.redirect(f"{twiml.HOOKS}/incoming")
        return response

    # -- steps --------------------------------------------------------------------------------

    def _number(self, raw: str) -> str:
        """The calling number in E.164; "" when it is hidden or cannot be read."""
        if raw.strip().lower() in HIDDEN:
            return ""
        try:
            return self.customers.normalize(IdentityKind.PHONE, raw).value
        except Invalid:
            log.info("voice.unreadable_number", raw=raw[:40])
            return ""

    async def _caller(self, number: str) -> Customer:
        """The customer behind the calling number; a call without one (`number` "") gets a new
        unverified customer of its own."""
        if number:
            return (await self.customers.resolve(IdentityKind.PHONE, number)).customer
        return await self.customers.create(CustomerFields())

    async def _menu_choice(
        self, call: CallRecord, speaker: Speaker, digits: str, speech: str
    ) -> VoiceResponse:
        match menu_step(self.flow, call.attempts, call.path, digits, speech):
            case AskAgain(attempts):
                await self.calls.update(call.call_sid, attempts=attempts)
                return twiml.menu(speaker, greet=False, retry=True)
            case AskOrder(path):
                await self.calls.update(call.call_sid, stage=CallStage.ORDER, attempts=0, path=path)
                return twiml.order_prompt(speaker, retry=False)
            case Route() as route:
                return await self._routed(call, route)

    async def _order(self, call: CallRecord, speaker: Speaker, digits: str) -> VoiceResponse:
        """Self-service: read the order's status back; after failed tries, or when the order
        service cannot answer, the caller goes to an agent."""
        order = order_number(digits)
        customer = await self.customers.get(call.customer_id, identities=False)
        status, unavailable = None, False
        if order:
            try:
                status = await self.orders.status(order, customer, speaker.language)
            except OrderStatusUnavailable as exc:
                log.warning(
                    "voice.order_status_unavailable", call_sid=call.call_sid, error=str(exc)
                )
                unavailable = True
        step = order_step(
            self.flow,
            call.attempts,
            call.path,
            order,
            found=status is not None,
            unavailable=unavailable,
        )
        match step:
            case AskAgain(attempts):
                await self.calls.update(call.call_sid, attempts=attempts)
                return twiml.order_prompt(speaker, retry=True)
            case ReadBack(path):
                # Unless the caller asks for an agent now, the call was served here.
                assert status is not None
                await self.calls.update(call.call_sid, path=path)
                return twiml.order_answer(speaker, order, status)
            case Route() as route:
                return await self._routed(call, route, customer)

    async def _hold_key(self, call: CallRecord, speaker: Speaker, digits: str) -> VoiceResponse:
        """A key pressed while holding: 1 asks to be called back, keeping the place."""
        step = hold_step(
            digits,
            queued=call.interaction_id is not None,
            from_number=call.from_number,
            path=call.path,
        )
        if isinstance(step, NoNumber):
            response = VoiceResponse()
            speaker.say(response, self.flow.callback_no_number)
            response.redirect(f"{twiml.HOOKS}/wait")
            return response
        if not isinstance(step, CallBack) or call.interaction_id is None:
            return twiml.back_to_hold()
        if not await self.queue.schedule_callback(call.interaction_id):
            return twiml.back_to_hold()  # an agent is taking the call right now
        await self.calls.update(call.call_sid, stage=CallStage.CALLBACK, path=step.path)
        log.info(
            "voice.callback_scheduled", call_sid=call.call_sid, interaction_id=call.interaction_id
        )
        return twiml.leave()

    async def survey(self, form: Form, query: Mapping[str, str]) -> VoiceResponse:
        """Keys for a question of the post-call survey (see `survey.py`)."""
        if self.connector.survey is None:
            return twiml.goodbye()
        call = await self.calls.get(sid_of(form))
        return await self.connector.survey.step(call, query, form.get("Digits", ""))

    async def recording(self, form: Form, kind: str) -> VoiceResponse:
        """A recording is ready (see `recordings.py`)."""
        return await self.recordings.ready(form, kind)

    async def _routed(
        self, call: CallRecord, route: Route, customer: Customer | None = None
    ) -> VoiceResponse:
        """A workflow's `Route`: its tries kept on the call, then `_route`."""
        if route.attempts is not None:
            await self.calls.update(call.call_sid, attempts=route.attempts, path=route.path)
        if customer is None:
            customer = await self.customers.get(call.customer_id, identities=False)
        return await self._route(
            call, customer, route.topic, path=route.path, trouble=route.trouble
        )

    async def _route(
        self,
        call: CallRecord,
        customer: Customer,
        topic: str,
        *,
        path: list[str] | None = None,
        trouble: bool = False,
    ) -> VoiceResponse:
        """Into the queue, or, when every group the call would go to is closed, to voicemail."""
        path = call.path if path is None else path
        policy = self.queue.policy
        rule = policy.rule_for(work_item(0, Channel.VOICE.value, customer, topic, None, 0.0))
        if policy.open_for(rule, now()):
            return await self._enqueue(call, customer, topic, path=path, trouble=trouble)
        await self.calls.update(
            call.call_sid, stage=CallStage.VOICEMAIL, path=[*path, f"voicemail:{topic}"]
        )
        return twiml.voicemail(Speaker(self.flow, call.language))

    async def _enqueue(
        self,
        call: CallRecord,
        customer: Customer,
        topic: str,
        *,
        path: list[str] | None = None,
        trouble: bool = False,
    ) -> VoiceResponse:
        """Into the one queue as a voice interaction (once per call: the CallSid is its
        reference), then into Twilio's hold."""
        path = call.path if path is None else path
        number = call.from_number or "a hidden number"
        interaction_id = await self.queue.enqueue(
            customer,
            Channel.VOICE,
            subject=f"Call from {number}",
            topic=topic,
            attributes={"call_sid": call.call_sid, "ivr_path": path},
            external_ref=call.call_sid,
        )
        await self.calls.update(
            call.call_sid, stage=CallStage.QUEUED, interaction_id=interaction_id, path=path
        )
        log.info("voice.queued", call_sid=call.call_sid, interaction_id=interaction_id, topic=topic)
        return twiml.enqueue(Speaker(self.flow, call.language), interaction_id, trouble=trouble)

    async def _again(self, call: CallRecord) -> VoiceResponse:
        """The answer for a call's current stage, for a webhook that came again."""
        speaker = Speaker(self.flow, call.language)
        if call.stage is CallStage.MENU:
            return twiml.menu(speaker, greet=call.attempts == 0, retry=call.attempts > 0)
        if call.stage is CallStage.ORDER:
            return twiml.order_prompt(speaker, retry=call.attempts > 0)
        if call.stage is CallStage.QUEUED and call.interaction_id is not None:
            return twiml.enqueue(speaker, call.interaction_id)
        return twiml.goodbye()

    async def _ended(self, call: CallRecord, form: Form) -> None:
        """The caller is gone: waiting work is abandoned; a call that never reached the queue
        is recorded as served by the menu (an order status was read) or as left there."""
        if call.stage is CallStage.CALLBACK:
            await self.calls.end(call.call_sid, CallStage.CALLBACK)  # still owed a call
            return
        if not await self.calls.end(call.call_sid):
            return  # told twice: the status callback and the hold's action both say so
        if call.interaction_id is None:
            served = any(step.startswith("order:answered") for step in call.path)
            status = InteractionStatus.SELF_SERVED if served else InteractionStatus.ABANDONED
            interaction_id = await self.interactions.open(
                call.customer_id,
                Channel.VOICE,
                status=status,
                subject=f"Call from {call.from_number or 'a hidden number'}",
                topic="order_status" if served else None,
                attributes={
                    "call_sid": call.call_sid,
                    "ivr_path": call.path,
                    "duration_seconds": seconds_of(form.get("CallDuration")),
                },
                external_ref=call.call_sid,
            )
            await self.calls.update(call.call_sid, interaction_id=interaction_id)
            log.info("voice.ended_in_menu", call_sid=call.call_sid, status=status.value)
            return
        routed = self.queue.routed(call.interaction_id)
        if routed is not None and routed.state in ("waiting", "offered"):
            try:
                waited = await self.queue.abandon(call.interaction_id)
            except Conflict:
                return  # an agent took it in the meantime
            log.info("voice.abandoned", call_sid=call.call_sid, waited=round(waited, 1))
        elif routed is not None and routed.state == "active" and routed.agent_id is not None:
            # Ended while being put through (a callback nobody answered, a caller who hung up
            # as the agent's phone rang): done, with what happened on the record.
            status = form.get("CallStatus", "completed")
            outcome = None if status == "completed" else {"disposition": f"call {status}"}
            with contextlib.suppress(Conflict):
                await self.queue.complete(call.interaction_id, routed.agent_id, outcome=outcome)

    async def _minutes(self, position: int) -> int | None:
        """Expected wait in whole minutes: the callers ahead, times the time between voice
        answers over the last half hour; None when nobody was answered in that time."""
        counted_at, answered = self._rate
        if time.monotonic() - counted_at > 15:
            since = now() - ANSWER_RATE_WINDOW
            answered = await self.interactions.answered_since(Channel.VOICE, since)
            self._rate = (time.monotonic(), answered)
        return expected_minutes(position, answered, ANSWER_RATE_WINDOW)


def _greeted(speaker: Speaker, response: VoiceResponse) -> VoiceResponse:
    """`response` with the flow's greeting said first."""
    greeted = VoiceResponse()
    speaker.say(greeted, speaker.flow.greeting)
    for verb in response.verbs:
        greeted.append(verb)
    return greeted
