"""``unchecked`` builds a record as its class would, without running the class's checks."""

from __future__ import annotations

import attrs
import pytest

from perfcore._validate import unchecked
from perfcore.cycle_status import GoalRef, ParticipantStatus, PlanRef
from perfcore.goal import Standing


def test_equal_to_the_checked_record_and_as_frozen() -> None:
    goal = unchecked(GoalRef, id="g-1", standing=Standing.BEHIND)
    assert goal == GoalRef(id="g-1", standing="behind")
    assert hash(goal) == hash(GoalRef(id="g-1", standing=Standing.BEHIND))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        goal.id = "g-2"  # type: ignore[misc]
    entry = unchecked(
        ParticipantStatus,
        employee_id="ana",
        job_description=None,
        evaluation=None,
        plans=(PlanRef(id="p-1", state="active"),),
        goals=(goal,),
    )
    assert entry == ParticipantStatus(employee_id="ana", plans=[entry.plans[0]], goals=[goal])


def test_every_field_must_be_given_and_no_other() -> None:
    with pytest.raises(TypeError, match="give every field"):
        unchecked(GoalRef, id="g-1")
    with pytest.raises(TypeError, match="standingg"):
        unchecked(GoalRef, id="g-1", standingg=Standing.BEHIND)
