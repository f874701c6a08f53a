"""Putting calls through when an agent accepts, and what the agent's leg tells afterwards.

An accepted voice interaction (`interaction.active` on the event bus) is either a caller holding
in Twilio's queue, whose live call is redirected through the REST API to TwiML that dials the
agent (their Twilio Client identity or phone number), or a callback, for which a new call is
placed to the customer with that same TwiML. If Twilio cannot be made to do it, or the agent has
nowhere to ring, the interaction goes back to its place in the queue for someone else, and the
failure is an event; a caller is never dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import structlog
from twilio.twiml.voice_response import VoiceResponse

from contactcenter.channels.voice import twiml
from contactcenter.channels.voice.calls import CallRecord, CallRecords, seconds_of
from contactcenter.channels.voice.survey import CallSurvey
from contactcenter.channels.voice.twilio_rest import TwilioRest, TwilioUnavailable
from contactcenter.channels.voice.twiml import Speaker
from contactcenter.errors import Conflict, NotFound
from contactcenter.events import EventBus, InteractionActive, Origin, VoiceConnectFailed
from contactcenter.model import CallStage
from contactcenter.people.agents import AgentDirectory
from contactcenter.queue.core import InteractionQueue
from workflows.call_steps import CannotConnect, PlaceCall, Talked, connect_step, dial_step
from workflows.ivr import Flow

log = structlog.get_logger(__name__)


class CallConnector:
    def __init__(
        self,
        *,
        calls: CallRecords,
        agents: AgentDirectory,
        queue: InteractionQueue,
        bus: EventBus,
        flow: Flow,
        rest: TwilioRest,
        public_url: str = "",
        record: bool = False,
        callback_from: str = "",
        survey: CallSurvey | None = None,
    ) -> None:
        self.calls = calls
        self.agents = agents
        self.queue = queue
        self.bus = bus
        self.flow = flow
        self.rest = rest
        # Where Twilio reaches us, for the absolute URLs of TwiML sent through the REST API;
        # learnt from the webhooks when no public URL is configured.
        self.base_url = public_url
        self.record = record
        self.callback_from = callback_from
        self.survey = survey  # the post-call survey, asked when the agent hangs up
        self._listener: asyncio.Task[None] | None = None
        self._working: set[asyncio.Task[None]] = set()

    def heard_at(self, origin: str) -> None:
        """Without a public URL set, TwiML sent through the REST API points at the address
        Twilio's webhooks arrive at."""
        self.base_url = origin

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="voice-connector")

    async def stop(self) -> None:
        for task in [self._listener, *self._working]:
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in [self._listener, *self._working] if t), return_exceptions=True
        )
        await self.rest.close()

    async def _listen(self) -> None:
        while True:  # a subscription dropped for falling behind is taken up again
            async with self.bus.subscribe(Origin.HERE) as events:
                async for event in events:
                    if isinstance(event, InteractionActive):
                        task = asyncio.create_task(
                            self.connect(event.interaction_id, event.agent_id)
                        )
                        self._working.add(task)
                        task.add_done_callback(self._working.discard)
            log.warning("voice.connector_fell_behind")

    async def connect(self, interaction_id: int, agent_id: int) -> None:
        """Put the call of an interaction an agent accepted through to that agent."""
        call = await self.calls.by_interaction(interaction_id)
        if call is None or call.stage not in (CallStage.QUEUED, CallStage.CALLBACK):
            return  # not a phone call waiting for an agent
        log_ = log.bind(call_sid=call.call_sid, interaction_id=interaction_id, agent_id=agent_id)
        try:
            agent = await self.agents.get_agent(agent_id)
        except NotFound:
            agent = {}
        endpoint = _endpoint(agent)
        step = connect_step(
            endpoint=endpoint,
            callback=call.stage is CallStage.CALLBACK,
            from_number=call.from_number,
            callback_from=self.callback_from,
            to_number=call.to_number,
        )
        if isinstance(step, CannotConnect):
            await self._failed(call, step.reason)
            return
        assert endpoint is not None  # connect_step refuses a missing endpoint
        speaker = Speaker(self.flow, call.language)
        callback = isinstance(step, PlaceCall)
        offer = (
            not callback
            and self.survey is not None
            and call.interaction_id is not None
            and await self.survey.offered(call.interaction_id)
        )
        response = twiml.connect(
            speaker, self.base_url, endpoint, record=self.record, callback=callback, survey=offer
        )
        try:
            if not isinstance(step, PlaceCall):
                await self.calls.update(call.call_sid, stage=CallStage.CONNECTING)
                await self.rest.redirect(call.call_sid, str(response))
                log_.info("voice.putting_through", endpoint=endpoint[0])
                return
            sid = await self.rest.place(
                step.to,
                step.caller_id,
                str(response),
                status_callback=f"{self.base_url}{twiml.HOOKS}/status",
            )
        except TwilioUnavailable as exc:
            await self._failed(call, str(exc))
            return
        placed, _ = await self.calls.start(
            sid,
            call.customer_id,
            call.from_number,
            step.caller_id,
            call.language,
            CallStage.CONNECTING,
        )
        await self.calls.update(placed.call_sid, interaction_id=interaction_id, path=call.path)
        log_.info("voice.callback_placed", placed_sid=sid)

    async def hang_up(self, interaction_id: int, agent_id: int) -> None:
        """The agent ends the call of an interaction they hold (talking, or wrapping it up): the
        caller's leg is told to hang up, which ends the agent's leg too; Twilio's status
        callback then reports the call's end as for any other."""
        routed = self.queue.routed(interaction_id)
        if (
            routed is None
            or routed.agent_id != agent_id
            or routed.state not in ("active", "wrap_up")
        ):
            raise Conflict(f"interaction {interaction_id} is not with agent {agent_id}")
        call = await self.calls.by_interaction(interaction_id)
        if call is None or call.stage not in (CallStage.CONNECTING, CallStage.CONNECTED):
            raise Conflict(f"interaction {interaction_id} has no call in progress", "channel")
        try:
            await self.rest.redirect(call.call_sid, str(twiml.goodbye()))
        except TwilioUnavailable as exc:
            raise Conflict(f"Twilio did not take the hang-up: {exc}") from None
        log.info(
            "voice.hung_up_by_agent",
            call_sid=call.call_sid,
            interaction_id=interaction_id,
            agent_id=agent_id,
        )

    async def dial_ended(self, call: CallRecord, form: Mapping[str, str]) -> VoiceResponse:
        """The agent's leg ended (the Dial's action): talked, so the interaction is complete
        with its talk time; or the agent did not answer, so the caller goes back to the hold
        and the work back to its place in the queue."""
        if call.interaction_id is None:
            return twiml.goodbye()
        routed = self.queue.routed(call.interaction_id)
        if routed is None or routed.state != "active" or routed.agent_id is None:
            return twiml.goodbye()
        step = dial_step(form.get("DialCallStatus", ""))
        if isinstance(step, Talked):
            talk = seconds_of(form.get("DialCallDuration"))
            await self.calls.update(call.call_sid, stage=CallStage.CONNECTED)
            with contextlib.suppress(Conflict):
                await self.queue.complete(call.interaction_id, routed.agent_id, talk_seconds=talk)
            if self.survey is None:
                return twiml.goodbye()
            return await self.survey.after_talk(call)
        await self.queue.requeue(call.interaction_id, step.reason)
        await self.calls.update(call.call_sid, stage=CallStage.QUEUED)
        speaker = Speaker(self.flow, call.language)
        return twiml.enqueue(speaker, call.interaction_id, trouble=True)

    async def _failed(self, call: CallRecord, error: str) -> None:
        assert call.interaction_id is not None
        log.warning(
            "voice.connect_failed",
            call_sid=call.call_sid,
            interaction_id=call.interaction_id,
            error=error,
        )
        await self.calls.update(call.call_sid, stage=call.stage)
        with contextlib.suppress(Conflict):
            await self.queue.requeue(call.interaction_id, "connect_failed")
        self.bus.publish(VoiceConnectFailed(interaction_id=call.interaction_id, error=error))


def _endpoint(agent: dict[str, Any]) -> tuple[str, str] | None:
    if agent.get("voice_client"):
        return ("client", agent["voice_client"])
    if agent.get("phone"):
        return ("number", agent["phone"])
    return None
