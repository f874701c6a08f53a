"""Outside opening hours the caller leaves a voicemail, which waits as a callback with the
message on it; recordings of calls are kept on their interaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from contactcenter.store.tables import interaction_events
from routing.policy import DEFAULT_POLICY

from ..conftest import PUBLIC, Phone

RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0123"


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    """The shipped policy with the general group never open (no day has hours)."""
    path = tmp_path / "closed.yaml"
    path.write_text(DEFAULT_POLICY.read_text() + "\nhours:\n  general: {}\n")
    return path


async def recordings(phone: Phone, interaction_id: int) -> list[dict]:
    async with phone.services.db.connect() as conn:
        rows = await conn.execute(
            select(interaction_events.c.data).where(
                interaction_events.c.interaction_id == interaction_id,
                interaction_events.c.type == "voice.recording",
            )
        )
        return [row.data for row in rows]


async def test_after_hours_a_voicemail_becomes_a_callback_with_the_message(
    phone: Phone,
) -> None:
    call = phone.call("+16175550130")
    await call.dial()
    closed = await call.press("2")
    assert "We are closed right now" in closed.said() and closed.verbs == ["Say", "Record"]
    action = closed.target("Record")
    assert action == f"{PUBLIC}/twilio/voice/recording?kind=voicemail"
    left = call.params(RecordingUrl=RECORDING, RecordingDuration=12, RecordingSid="RE0123")
    thanks = await call.post(action, left)
    assert "We will call you back" in thanks.said() and thanks.verbs[-1] == "Hangup"
    await call.post(action, left)  # Twilio retried: still one callback, one recording
    await call.hang_up()
    interaction = await phone.interaction(call)
    assert interaction["status"] == "callback_scheduled"
    assert interaction["topic"] == "technical_support"
    assert interaction["attributes"]["voicemail"] is True
    assert await recordings(phone, interaction["id"]) == [
        {"sid": "RE0123", "url": RECORDING, "duration_seconds": 12}
    ]
    assert await phone.services.queue.position(interaction["id"]) == 1


async def test_a_silent_hidden_caller_leaves_nothing_to_call_back(phone: Phone) -> None:
    call = phone.call("anonymous")
    await call.dial()
    closed = await call.press("0")
    bye = await call.post(closed.target("Record"), call.params(RecordingDuration=0))
    assert bye.verbs[-1] == "Hangup"
    await call.hang_up()
    assert (await phone.interaction(call))["status"] == "abandoned"


async def test_a_calls_recording_is_kept_on_its_interaction_once(phone: Phone) -> None:
    # A voicemail gives the call an interaction; then a recording of the call arrives by the
    # recording hook, twice (Twilio retries), and is kept once beside the message.
    call = phone.call("+16175550131")
    await call.dial()
    closed = await call.press("2")
    assert closed.verbs == ["Say", "Record"]
    record = call.params(RecordingUrl=RECORDING, RecordingDuration=7, RecordingSid="RE9")
    await call.post(closed.target("Record"), record)
    interaction = await phone.interaction(call)
    status = call.params(
        RecordingUrl=RECORDING + "x",
        RecordingDuration=95,
        RecordingSid="RE10",
        RecordingStatus="completed",
    )
    for _ in range(2):
        answer = await call.post(f"{PUBLIC}/twilio/voice/recording", status)
        assert answer.status == 200
    kept = await recordings(phone, interaction["id"])
    assert [r["sid"] for r in kept] == ["RE9", "RE10"]
