"""Recordings of calls and voicemail.

A call put through with recording on has its recording kept as a `voice.recording` event of its
interaction (URL, duration, Twilio's sid), which is how it reaches the customer's timeline. A
voicemail left outside opening hours becomes a voice interaction waiting as a callback, with the
message kept the same way; the agent who accepts it gets the call placed as for any callback.
"""

from __future__ import annotations

import structlog
from twilio.twiml.voice_response import VoiceResponse

from contactcenter.channels.voice import twiml
from contactcenter.channels.voice.calls import CallRecord, CallRecords, Form, seconds_of, sid_of
from contactcenter.channels.voice.twiml import Speaker
from contactcenter.customers.records import CustomerRecords
from contactcenter.interactions.records import InteractionRecords
from contactcenter.model import CallStage, Channel
from contactcenter.queue import InteractionQueue
from workflows.ivr import Flow

log = structlog.get_logger(__name__)


class Recordings:
    """Recordings and voicemail, with the parts of the phone channel they need."""

    def __init__(
        self,
        *,
        calls: CallRecords,
        flow: Flow,
        customers: CustomerRecords,
        queue: InteractionQueue,
        interactions: InteractionRecords,
    ) -> None:
        self.calls, self.flow, self.customers = calls, flow, customers
        self.queue, self.interactions = queue, interactions

    async def ready(self, form: Form, kind: str) -> VoiceResponse:
        """A recording is ready: a call's (kept on its interaction, so on the timeline), or a
        voicemail, which becomes a callback keeping its place in the queue."""
        call = await self.calls.get(sid_of(form))
        if call is None:
            return twiml.goodbye()
        url = form.get("RecordingUrl", "")
        recording = {
            "sid": form.get("RecordingSid", "")[:64],
            "url": url if url.startswith(("https://", "http://")) else "",
            "duration_seconds": seconds_of(form.get("RecordingDuration")) or 0,
        }
        speaker = Speaker(self.flow, call.language)
        if kind == "voicemail" and call.stage is CallStage.VOICEMAIL:
            return await self._voicemail_left(call, speaker, recording)
        if call.interaction_id is not None and recording["url"]:
            await self._keep_recording(call.interaction_id, recording)
        return VoiceResponse() if kind != "voicemail" else twiml.goodbye()

    async def _voicemail_left(
        self, call: CallRecord, speaker: Speaker, recording: dict[str, object]
    ) -> VoiceResponse:
        topic = next(
            (p.split(":", 1)[1] for p in call.path if p.startswith("voicemail:")),
            self.flow.no_choice_topic,
        )
        if not recording["url"] or not call.from_number:
            return twiml.goodbye(speaker, self.flow.voicemail_thanks)  # nothing to call back
        customer = await self.customers.get(call.customer_id)
        interaction_id = await self.queue.enqueue(
            customer,
            Channel.VOICE,
            subject=f"Voicemail from {call.from_number}",
            topic=topic,
            attributes={"call_sid": call.call_sid, "ivr_path": call.path, "voicemail": True},
            external_ref=call.call_sid,
        )
        await self.queue.schedule_callback(interaction_id)
        await self._keep_recording(interaction_id, recording)
        await self.calls.update(
            call.call_sid, stage=CallStage.CALLBACK, interaction_id=interaction_id
        )
        log.info("voice.voicemail", call_sid=call.call_sid, interaction_id=interaction_id)
        return twiml.goodbye(speaker, self.flow.voicemail_thanks)

    async def _keep_recording(self, interaction_id: int, recording: dict[str, object]) -> None:
        """The recording as an event of the interaction, once per recording."""
        await self.interactions.add_event_once(
            interaction_id, "voice.recording", recording, key="sid"
        )
