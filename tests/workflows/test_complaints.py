"""How complaint cases move, who owns them, when they are due and what falls due."""

from datetime import UTC, datetime, timedelta

import pytest

from workflows.complaints import (
    ComplaintPolicy,
    Outcome,
    Status,
    Step,
    due_at,
    due_steps,
    move_problem,
    owner_of,
    reference,
)

OPENED = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # a Friday afternoon
POLICY = ComplaintPolicy(
    owners={"senior": "lead@example.com", "general": "floor@example.com"},
    default_owner="desk@example.com",
)


def test_a_case_moves_to_resolution_and_closure_and_may_be_reopened() -> None:
    assert move_problem(Status.OPEN, Status.INVESTIGATING, None, None) is None
    assert move_problem(Status.INVESTIGATING, Status.RESOLVED, "refund", Outcome.UPHELD) is None
    assert move_problem(Status.RESOLVED, Status.INVESTIGATING, None, None) is None  # reopened
    assert move_problem(Status.RESOLVED, Status.CLOSED, None, None) is None
    assert move_problem(Status.CLOSED, Status.OPEN, None, None) == (
        "a closed complaint can move to nothing (it is closed), not open"
    )
    assert "not closed" in (move_problem(Status.OPEN, Status.CLOSED, None, None) or "")


@pytest.mark.parametrize(("resolution", "outcome"), [(None, Outcome.UPHELD), ("x", None)])
def test_resolving_needs_the_resolution_and_the_outcome(
    resolution: str | None, outcome: Outcome | None
) -> None:
    problem = move_problem(Status.OPEN, Status.RESOLVED, resolution, outcome)
    assert problem == "resolving a complaint needs its resolution and outcome"


def test_due_by_tier() -> None:
    assert due_at(OPENED, "key_account", POLICY) == OPENED + timedelta(days=2)
    assert due_at(OPENED, "transactional", POLICY) == OPENED + timedelta(days=10)
    assert due_at(OPENED, "unknown", POLICY) == OPENED + timedelta(days=10)  # the longest


def test_the_owner_is_the_account_manager_else_the_group_s_else_the_default() -> None:
    manager = owner_of("key_account", 7, ["general"], POLICY)
    assert manager is not None and manager.agent_id == 7
    by_group = owner_of("relationship", 7, ["senior", "general"], POLICY)
    assert by_group is not None and by_group.email == "lead@example.com"
    assert owner_of("key_account", None, [], POLICY).email == "desk@example.com"  # type: ignore[union-attr]
    assert owner_of("transactional", None, ["other"], ComplaintPolicy()) is None


def test_the_owner_is_reminded_before_the_due_time_and_supervisors_told_after_once_each() -> None:
    due = due_at(OPENED, "key_account", POLICY)  # Sunday 16:00

    def steps(at: datetime, reminded: bool = False, escalated: bool = False) -> list[Step]:
        return due_steps(Status.OPEN, due, reminded, escalated, at, POLICY)

    assert steps(due - timedelta(hours=25)) == []
    assert steps(due - timedelta(hours=24)) == [Step.REMIND]
    assert steps(due - timedelta(hours=1), reminded=True) == []
    assert steps(due, reminded=True) == [Step.ESCALATE]
    assert steps(due + timedelta(days=3)) == [Step.REMIND, Step.ESCALATE]  # found late: both
    assert steps(due + timedelta(days=3), reminded=True, escalated=True) == []
    resolved = due_steps(Status.RESOLVED, due, False, False, due + timedelta(days=1), POLICY)
    assert resolved == []


def test_the_reference() -> None:
    assert reference(42) == "CMP-000042"
