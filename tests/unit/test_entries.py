"""Entries: a persistent sequence that reads like the tuple of its items, whatever was added to
which version, and serialises as that tuple does."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfcore._codec import canonical_json, from_json_data, to_json_data
from perfcore.entries import Entries
from perfcore.goal import CheckIn, Goal
from perfcore.testing.drivers import driver_for


def _same_as(entries: Entries[Any], model: tuple[Any, ...]) -> None:
    assert len(entries) == len(model)
    assert tuple(entries) == model
    assert list(reversed(entries)) == list(reversed(model))
    assert entries == model
    assert model == entries
    assert entries == Entries(model)
    assert hash(entries) == hash(model)
    for index in (0, 1, 31, 32, 33, 1023, 1024, 1025, len(model) - 1, -1, -len(model)):
        if -len(model) <= index < len(model):
            assert entries[index] == model[index]
    assert entries[1:-1] == model[1:-1]


@pytest.mark.parametrize("size", [0, 1, 31, 32, 33, 64, 65, 1024, 1056, 1057, 33_000, 33_825])
def test_built_at_once_and_added_one_by_one_read_the_same(size: int) -> None:
    model = tuple(range(size))
    built = Entries(model)
    grown: Entries[int] = Entries()
    for item in model:
        grown = grown.append(item)
    _same_as(built, model)
    _same_as(grown, model)
    assert built == grown
    with pytest.raises(IndexError):
        built[size]
    with pytest.raises(IndexError):
        built[-size - 1]


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 70)), max_size=40))
def test_every_version_stays_as_it_was_whatever_is_added_to_which(
    steps: list[tuple[int, int]],
) -> None:
    """Add runs of items to any earlier version (branching), and every version still reads as
    its own tuple."""
    versions: list[tuple[Entries[int], tuple[int, ...]]] = [(Entries(), ())]
    counter = 0
    for pick, run in steps:
        entries, model = versions[pick % len(versions)]
        added = tuple(range(counter, counter + run))
        counter += run
        versions.append((entries + added, model + added))
    for entries, model in versions:
        _same_as(entries, model)


def test_it_is_immutable_and_not_equal_to_other_kinds() -> None:
    entries = Entries([1, 2])
    with pytest.raises(AttributeError):
        entries._count = 5  # type: ignore[misc]
    assert entries != [1, 2]
    assert entries != (1, 2, 3)
    assert entries != Entries([1, 3])
    assert (0, *entries) == (0, 1, 2)
    assert (0,) + entries == (0, 1, 2)  # noqa: RUF005 (the reflected +, on purpose)
    assert 2 in entries
    assert 3 not in entries
    assert entries.index(2) == 1
    assert entries.count(1) == 1
    with pytest.raises(TypeError):
        entries + "ab"  # type: ignore[operator]
    with pytest.raises(TypeError):
        entries["0"]  # type: ignore[call-overload]
    assert repr(entries) == "Entries((1, 2))"


def test_it_pickles_and_copies() -> None:
    entries = Entries(range(100))
    assert pickle.loads(pickle.dumps(entries)) == entries
    assert copy.copy(entries) is entries
    assert copy.deepcopy(entries) == entries


def test_a_goals_check_ins_keep_their_json_and_their_type_through_the_converter() -> None:
    entries = [
        CheckIn(on=dt.date(2026, 1, 1) + dt.timedelta(days=day), value=day, by="ana")
        for day in range(40)
    ]
    data = to_json_data(Entries(entries))
    assert data == to_json_data(tuple(entries)) == [to_json_data(entry) for entry in entries]
    restored = from_json_data(data, Entries[CheckIn])
    assert isinstance(restored, Entries)
    assert restored == tuple(entries)


def test_a_goal_with_check_ins_round_trips_through_its_snapshot_json() -> None:
    driver = driver_for(Goal)
    goal = driver.reach("active")
    for _ in range(40):
        goal = driver.fire(goal, "check_in")
    assert isinstance(goal.check_ins, Entries)
    data = to_json_data(goal)
    assert isinstance(data["check_ins"], list)
    assert len(data["check_ins"]) == 40
    back = from_json_data(data, Goal)
    assert back == goal
    assert isinstance(back.check_ins, Entries)
    assert canonical_json(to_json_data(back)) == canonical_json(data)
    assert Goal.replay(goal.history) == goal
