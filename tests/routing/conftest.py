"""A small policy with round numbers, so that times and priorities are easy to follow."""

import pytest

from routing.engine import Engine
from routing.policy import Policy, parse_policy
from routing.types import AgentSpec

POLICY = """
aging: {points_per_minute: 60}          # one point per second waited
offers:
  timeout_seconds: {voice: 10, chat: 10, email: 10, fax: 10}
  missed_before_away: 2
wrap_up_seconds: {voice: 5}
groups: [key, senior, general]
tiers:
  key_account: {priority: 100, sla: {voice: {percent: 90, seconds: 20}}}
  relationship: {priority: 50}
  transactional: {priority: 0, sla: {email: {seconds: 100}}}
rules:
  - match: {tier: key_account}
    targets:
      - {agent: account_manager, timeout: 30}
      - {group: key, timeout: 60}
      - {group: general}
  - match: {tier: relationship}
    targets:
      - {group: senior, min_level: 2, timeout: 60}
      - {group: general}
  - match: {language: zh}
    targets:
      - {group: general, skills: ["lang:zh"], timeout: 120}
      - {group: general}
  - targets:
      - {group: general}
"""


@pytest.fixture
def policy() -> Policy:
    return parse_policy(POLICY, "test.yaml")


@pytest.fixture
def engine(policy: Policy) -> Engine:
    return Engine(policy)


def agent(
    agent_id: str, *groups: str, level: int = 1, skills: tuple[str, ...] = (), **capacity: int
) -> AgentSpec:
    caps = {"voice": 1, "chat": 3, "email": 5, "fax": 5} | capacity
    return AgentSpec(agent_id, {g: level for g in groups}, frozenset(skills), caps)
