"""What a call does next: the menu, an order's status, a key while holding, putting the call
through and the end of the agent's leg. Pure decisions over the shipped flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows.call_steps import (
    AskAgain,
    AskOrder,
    BackToHold,
    CallBack,
    CannotConnect,
    NoNumber,
    PlaceCall,
    ReadBack,
    Redirect,
    Requeue,
    Route,
    Talked,
    announce_due,
    connect_step,
    dial_step,
    expected_minutes,
    hold_step,
    menu_step,
    order_number,
    order_step,
)
from workflows.ivr import DEFAULT_FLOW, load_flow

FLOW = load_flow(DEFAULT_FLOW)


def test_a_key_or_words_choose_the_option_and_words_stay_on_the_path() -> None:
    assert menu_step(FLOW, 0, [], "2", "") == Route(
        "technical_support", ["menu:queue:technical_support"]
    )
    said = menu_step(FLOW, 0, ["lang:en"], "", "my invoice is wrong")
    assert said == Route("billing", ["lang:en", "said:my invoice is wrong", "menu:queue:billing"])
    assert menu_step(FLOW, 0, [], "1", "") == AskOrder(["menu:order_status"])


def test_nothing_understood_asks_again_until_the_tries_run_out() -> None:
    assert menu_step(FLOW, 0, [], "9", "") == AskAgain(1, [])
    assert menu_step(FLOW, 1, [], "", "mumble") == AskAgain(2, [])
    last = menu_step(FLOW, FLOW.menu_attempts - 1, ["x"], "", "")
    assert last == Route(FLOW.no_choice_topic, ["x", "menu:no_choice"], attempts=FLOW.menu_attempts)


def test_long_speech_is_cut_on_the_path() -> None:
    step = menu_step(FLOW, 0, [], "", "agent " + "a" * 1000)
    assert isinstance(step, Route) and len(step.path[0]) == len("said:") + 300


def test_an_order_number_is_its_digits() -> None:
    assert order_number("12-34#") == "1234"
    assert order_number("") == ""
    assert order_number("9" * 50) == "9" * 20


@pytest.mark.parametrize(
    ("attempts", "found", "unavailable", "expected"),
    [
        (0, True, False, ReadBack(["p", "order:answered:42"])),
        (0, False, False, AskAgain(1, ["p"])),
        (1, False, False, Route("order_status", ["p", "order:not_found"])),
        (0, False, True, Route("order_status", ["p", "order:unavailable"], trouble=True)),
    ],
)
def test_after_the_lookup_the_order_is_read_back_asked_again_or_an_agent_takes_it(
    attempts: int, found: bool, unavailable: bool, expected: object
) -> None:
    step = order_step(FLOW, attempts, ["p"], "42", found=found, unavailable=unavailable)
    assert step == expected


def test_1_while_holding_asks_for_a_callback_to_a_known_number() -> None:
    assert hold_step("1", queued=True, from_number="+14155550100", path=["a"]) == CallBack(
        ["a", "hold:callback"]
    )
    assert hold_step("1", queued=True, from_number="", path=[]) == NoNumber()
    assert hold_step("2", queued=True, from_number="+14155550100", path=[]) == BackToHold()
    assert hold_step("1", queued=False, from_number="+14155550100", path=[]) == BackToHold()


def test_the_position_is_said_once_a_round_with_a_second_to_spare() -> None:
    at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert announce_due(None, at, 30)
    assert announce_due(at - timedelta(seconds=29), at, 30)
    assert not announce_due(at - timedelta(seconds=28), at, 30)


def test_the_expected_wait_rounds_up_and_needs_answers() -> None:
    window = timedelta(minutes=30)
    assert expected_minutes(3, 0, window) is None
    assert expected_minutes(1, 60, window) == 1  # half a minute between answers
    assert expected_minutes(3, 10, window) == 9


def test_an_accepted_call_is_redirected_and_a_callback_is_placed_from_our_number() -> None:
    endpoint = ("number", "+14155550111")
    live = connect_step(
        endpoint=endpoint, callback=False, from_number="+1", callback_from="", to_number="+2"
    )
    assert live == Redirect()
    placed = connect_step(
        endpoint=endpoint, callback=True, from_number="+1", callback_from="", to_number="+2"
    )
    assert placed == PlaceCall(to="+1", caller_id="+2")
    own = connect_step(
        endpoint=endpoint, callback=True, from_number="+1", callback_from="+3", to_number="+2"
    )
    assert own == PlaceCall(to="+1", caller_id="+3")
    nowhere = connect_step(
        endpoint=None, callback=False, from_number="+1", callback_from="", to_number="+2"
    )
    assert isinstance(nowhere, CannotConnect) and "no phone number" in nowhere.reason


def test_the_agent_leg_talked_or_the_work_goes_back() -> None:
    assert dial_step("completed") == Talked()
    assert dial_step("ANSWERED") == Talked()
    assert dial_step("no-answer") == Requeue("agent leg no-answer")
    assert dial_step("") == Requeue("agent leg failed")
