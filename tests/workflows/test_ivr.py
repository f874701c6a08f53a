"""The IVR flow file: what callers' keys and words mean, prompts per language, and errors that
name the line and field."""

import pytest

from workflows.ivr import Action, FlowError, load_flow, parse_flow


@pytest.fixture(scope="module")
def flow():
    return load_flow()


def test_keys_first_then_the_longest_phrase_said(flow) -> None:
    assert flow.choose("2", "billing").topic == "technical_support"
    assert flow.choose(None, "Billing, please.").topic == "billing"
    # "agent" and "order" are both said; the longer phrase wins.
    assert flow.choose(None, "I want to speak to an agent about my order").topic == "general"
    assert flow.choose(None, "where is my order").action is Action.ORDER_STATUS
    assert flow.choose(None, "我想查一下订单").action is Action.ORDER_STATUS
    assert flow.choose("9", "mumble") is None
    assert flow.choose(None, "recorder") is None  # whole words only


def test_prompts_in_the_callers_language_with_values_filled_in(flow) -> None:
    assert flow.language("zh-CN") == "zh" and flow.language("fr") == "en"
    assert flow.hold_position.get("en", position=3) == "You are number 3 in line."
    assert "2" in flow.hold_position.get("zh", ahead=2)
    assert flow.order_answer.get("en", order="A1") == "Order A1: "  # a missing value is blank


def _broken(old: str, new: str) -> str:
    from workflows.ivr import DEFAULT_FLOW

    text = DEFAULT_FLOW.read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('key: "2"', 'key: "1"', ":26: menu.options[1].key: key 1 is used twice"),
        ("action: order_status", "action: transfer", "menu.options[0].action: unknown action"),
        ('  zh: "感谢您致电示例公司客户服务。"\n', "", ":10: greeting: no text for language 'zh'"),
        ("attempts: 3", "attempts: many", "menu.attempts: must be a number, not 'many'"),
        ("key_accounts: {topic: account}", "key_accounts: {}", "key_accounts: topic is required"),
    ],
)
def test_a_broken_flow_names_line_and_field(old: str, new: str, message: str) -> None:
    with pytest.raises(FlowError) as caught:
        parse_flow(_broken(old, new), "ivr.yaml")
    assert message in str(caught.value) and str(caught.value).startswith("ivr.yaml:")
