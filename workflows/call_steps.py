"""What a phone call does next, decided from what the caller pressed or said and where the call
stands. Pure, like `routing/`: the voice channel (`contactcenter/channels/voice/`) asks, then does
the I/O (the call's record, the queue, Twilio) and speaks the TwiML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from workflows.ivr import Action, Flow

ANSWERED = frozenset({"completed", "answered"})
# The topic of a call whose order could not be read back: agents see why it came.
ORDER_TOPIC = "order_status"


# -- the menu --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AskAgain:
    """Nothing understood: ask again, this many tries made."""

    attempts: int
    path: list[str]


@dataclass(frozen=True, slots=True)
class AskOrder:
    """The caller wants an order's status: ask for its number."""

    path: list[str]


@dataclass(frozen=True, slots=True)
class Route:
    """Into the queue with this topic (or to voicemail when every group is closed)."""

    topic: str
    path: list[str]
    attempts: int | None = None  # the tries to keep on the call, when they changed
    trouble: bool = False  # say that something went wrong first


MenuStep = AskAgain | AskOrder | Route


def menu_step(flow: Flow, attempts: int, path: list[str], digits: str, speech: str) -> MenuStep:
    """The menu's answer to a key or words: the option's action, or ask again until the tries
    run out, then the queue with the no-choice topic."""
    option = flow.choose(digits, speech)
    if option is None:
        tried = attempts + 1
        if tried < flow.menu_attempts:
            return AskAgain(tried, path)
        return Route(flow.no_choice_topic, [*path, "menu:no_choice"], attempts=tried)
    # What the caller said stays on the path: the knowledge base suggests from it.
    said = [f"said:{speech[:300]}"] if speech else []
    chosen = f"menu:{option.action.value}:{option.topic or ''}".rstrip(":")
    path = [*path, *said, chosen]
    if option.action is Action.ORDER_STATUS:
        return AskOrder(path)
    assert option.topic is not None  # the flow's reader requires a topic for queue options
    return Route(option.topic, path)


# -- an order's status -----------------------------------------------------------------------


def order_number(digits: str) -> str:
    """The order number in what the caller keyed in (digits only, at most 20)."""
    return "".join(ch for ch in digits if ch.isdigit())[:20]


@dataclass(frozen=True, slots=True)
class ReadBack:
    """The order was found: read its status back; the call was served by the menu."""

    path: list[str]


OrderStep = AskAgain | ReadBack | Route


def order_step(
    flow: Flow,
    attempts: int,
    path: list[str],
    order: str,
    *,
    found: bool,
    unavailable: bool = False,
) -> OrderStep:
    """After looking the order up: read it back, ask again, or an agent (when the order
    service cannot answer, or after the tries run out)."""
    if unavailable:
        return Route(ORDER_TOPIC, [*path, "order:unavailable"], trouble=True)
    if found:
        return ReadBack([*path, f"order:answered:{order}"])
    tried = attempts + 1
    if tried < flow.order_attempts:
        return AskAgain(tried, path)
    return Route(ORDER_TOPIC, [*path, "order:not_found"])


# -- holding ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackToHold:
    """The key means nothing here (or an agent is taking the call): back to the music."""


@dataclass(frozen=True, slots=True)
class NoNumber:
    """A callback was asked for, but the number is hidden: say so, and hold on."""


@dataclass(frozen=True, slots=True)
class CallBack:
    """A callback was asked for: the work keeps its place, the caller may hang up."""

    path: list[str]


HoldStep = BackToHold | NoNumber | CallBack


def hold_step(digits: str, *, queued: bool, from_number: str, path: list[str]) -> HoldStep:
    """A key pressed while holding: 1 asks to be called back at the calling number."""
    if not digits.startswith("1") or not queued:
        return BackToHold()
    if not from_number:
        return NoNumber()
    return CallBack([*path, "hold:callback"])


def announce_due(announced_at: datetime | None, at: datetime, every: float) -> bool:
    """Whether the position and the expected wait are said in this round of holding (a round
    of music is rarely exact to the second, so a second early is on time)."""
    return announced_at is None or (at - announced_at).total_seconds() >= every - 1


def expected_minutes(position: int, answered: int, window: timedelta) -> int | None:
    """The expected wait in whole minutes, rounded up: the callers ahead times the time
    between answers over the window (None when nobody was answered in it)."""
    if not answered:
        return None
    seconds = position * window.total_seconds() / answered
    return max(1, math.ceil(seconds / 60))


# -- putting the call through ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Redirect:
    """The caller is on the line: move their call to the agent's endpoint."""


@dataclass(frozen=True, slots=True)
class PlaceCall:
    """The caller asked to be called back: call them from `caller_id`."""

    to: str
    caller_id: str


@dataclass(frozen=True, slots=True)
class CannotConnect:
    reason: str


ConnectStep = Redirect | PlaceCall | CannotConnect


def connect_step(
    *,
    endpoint: tuple[str, str] | None,
    callback: bool,
    from_number: str,
    callback_from: str,
    to_number: str,
) -> ConnectStep:
    """How an accepted call reaches its agent: the live call redirected, or, for a callback,
    a new call to the caller from the service's number (the number they called, when no
    callback number is set)."""
    if endpoint is None:
        return CannotConnect("the agent has no phone number or voice client")
    if not callback:
        return Redirect()
    return PlaceCall(to=from_number, caller_id=callback_from or to_number)


@dataclass(frozen=True, slots=True)
class Talked:
    """The agent's leg was answered: the work is complete with its talk time."""


@dataclass(frozen=True, slots=True)
class Requeue:
    """The agent did not answer: back to the hold and the work to its place in the queue."""

    reason: str


def dial_step(status: str) -> Talked | Requeue:
    """What the end of the agent's leg (Twilio's DialCallStatus) means for the work."""
    status = status.lower()
    if status in ANSWERED:
        return Talked()
    return Requeue(f"agent leg {status or 'failed'}")
