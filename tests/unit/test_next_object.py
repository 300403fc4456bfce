"""How a command builds the next object: which validators run again, and that they still catch
what they must."""

from __future__ import annotations

import pytest

from perfcore import Goal, Plan, ReviewCycle, ValidationError
from perfcore._aggregate import _shape_of
from perfcore.testing.drivers import driver_for


def test_validators_that_read_only_their_own_field_are_not_run_by_every_command() -> None:
    assert "participants" in _shape_of(ReviewCycle).contained
    assert "schedule" in _shape_of(ReviewCycle).contained
    assert "objectives" in _shape_of(Plan).contained
    assert "created_at" in _shape_of(Goal).contained
    # A list holding a validator that reads other fields runs on every change.
    assert "manager_id" in {field.name for field in _shape_of(Goal).linked}
    assert "period_end" in {field.name for field in _shape_of(ReviewCycle).linked}


def test_an_appended_participant_is_still_checked_against_the_others() -> None:
    cycle = driver_for(ReviewCycle).reach("evaluations")
    twice = cycle.participants[0]
    with pytest.raises(ValidationError, match="a participant already"):
        cycle._next(str(cycle.state), {}, {"participants": (twice,)})


def test_a_changed_field_is_still_checked() -> None:
    goal = driver_for(Goal).reach("draft")
    with pytest.raises(ValidationError, match="own goal"):
        goal._next(str(goal.state), {"manager_id": goal.owner_id}, {})
    with pytest.raises(ValidationError):
        goal._next(str(goal.state), {"title": "x" * 100_000}, {})


def test_a_validator_that_declares_what_it_reads_runs_when_any_of_that_changes() -> None:
    linked = dict(_shape_of(Goal).linked_reads)
    (manager,) = [field for field in linked if field.name == "manager_id"]
    assert linked[manager] == {"manager_id", "owner_id"}
    goal = driver_for(Goal).reach("draft")
    # The owner changed to the manager: the manager's validator reads the owner, so it runs.
    with pytest.raises(ValidationError, match="own goal"):
        goal._next(str(goal.state), {"owner_id": goal.manager_id}, {})
    # A change to neither leaves it alone, and the new object is still valid.
    retitled = goal._next(str(goal.state), {"title": "Fewer escalations"}, {})
    assert retitled.title == "Fewer escalations"


def test_a_period_end_is_checked_when_the_start_moves() -> None:
    cycle = driver_for(ReviewCycle).reach("planned")
    with pytest.raises(ValidationError, match="before it starts"):
        cycle._next(str(cycle.state), {"period_start": cycle.period_end.replace(year=2099)}, {})
