"""Every public error survives pickle and copy with its type, message, args and attributes, so it
can cross a process pool or a task queue."""

from __future__ import annotations

import copy
import datetime as dt
import inspect
import pickle
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfcore import errors
from perfcore.errors import (
    ConcurrencyError,
    Erased,
    GuardFailed,
    IdempotencyConflict,
    LineageConflict,
    NotFound,
    PerfcoreError,
    PermissionDenied,
    StorageError,
    TransitionNotAllowed,
    ValidationError,
)
from perfcore.ports import IdempotencyRecord

FIRST_USE = IdempotencyRecord(
    key="req-7f3a",
    fingerprint="sha256:9c1e",
    aggregate_type="Goal",
    aggregate_id="g-12",
    version=3,
    at=dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC),
)

# One realistic instance of every public error class, by class name.
CASES: dict[str, PerfcoreError] = {
    "PerfcoreError": PerfcoreError("the review cycle is closed"),
    "StorageError": StorageError("the store is closed; open a new one"),
    "ValidationError": ValidationError("weight", "must be between 0 and 100, not 120"),
    "TransitionNotAllowed": TransitionNotAllowed(
        "Goal", "g-12", "approved", "submit", ["start", "cancel"]
    ),
    "GuardFailed": GuardFailed(
        "Plan", "p-3", "draft", "submit", "weights_sum_to_100", "the weights add up to 90"
    ),
    "PermissionDenied": PermissionDenied(
        "bo", "Evaluation", "e-5", "sign", "the employee's manager may sign"
    ),
    "NotFound": NotFound("Goal", "g-404"),
    "Erased": Erased("Goal", "g-7"),
    "ConcurrencyError": ConcurrencyError("Plan", "p-3", 4, 5),
    "IdempotencyConflict": IdempotencyConflict("req-7f3a", FIRST_USE),
    "LineageConflict": LineageConflict("jd-9", "lin-2", 3),
}


def _public_error_classes() -> list[type[BaseException]]:
    found = (getattr(errors, name) for name in errors.__all__)
    return [c for c in found if isinstance(c, type) and issubclass(c, BaseException)]


def _same(original: PerfcoreError, copied: PerfcoreError) -> None:
    assert copied is not original
    assert type(copied) is type(original)
    assert str(copied) == str(original)
    assert copied.args == original.args
    assert vars(copied) == vars(original)


def _pickle_round_trip(protocol: int) -> Callable[[PerfcoreError], PerfcoreError]:
    def round_trip(err: PerfcoreError) -> PerfcoreError:
        copied: PerfcoreError = pickle.loads(pickle.dumps(err, protocol=protocol))
        return copied

    return round_trip


WAYS = {
    **{f"pickle-{p}": _pickle_round_trip(p) for p in range(pickle.HIGHEST_PROTOCOL + 1)},
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
}


def test_every_public_error_class_has_a_case() -> None:
    # A new error in perfcore.errors without a case here fails, rather than going untested.
    assert {c.__name__ for c in _public_error_classes()} == set(CASES)
    for name, err in CASES.items():
        assert type(err).__name__ == name


@pytest.mark.parametrize("cls", _public_error_classes(), ids=lambda c: c.__name__)
def test_init_attrs_name_the_init_arguments(cls: type[PerfcoreError]) -> None:
    # _init_attrs must name exactly what __init__ takes, or the rebuild calls it wrongly.
    defined_by = next(k for k in cls.__mro__ if "__init__" in vars(k))
    if not issubclass(defined_by, PerfcoreError):
        assert cls._init_attrs == ()
        return
    parameters = list(inspect.signature(cls.__init__).parameters)[1:]
    assert sorted(cls._init_attrs) == sorted(parameters)


@pytest.mark.parametrize("way", WAYS.values(), ids=list(WAYS))
@pytest.mark.parametrize("err", CASES.values(), ids=list(CASES))
def test_a_copy_keeps_type_message_args_and_attributes(
    err: PerfcoreError, way: Callable[[PerfcoreError], PerfcoreError]
) -> None:
    _same(err, way(err))


@pytest.mark.parametrize("way", WAYS.values(), ids=list(WAYS))
def test_a_copy_keeps_attributes_set_after_construction(
    way: Callable[[PerfcoreError], PerfcoreError],
) -> None:
    err = ConcurrencyError("Plan", "p-3", 4, None)
    err.add_note("while saving the plan for ana")
    err.retries = 2  # type: ignore[attr-defined]
    copied = way(err)
    _same(err, copied)
    assert copied.__notes__ == ["while saving the plan for ana"]


def test_a_raised_error_unpickles_into_the_same_except_clauses() -> None:
    with pytest.raises(ValidationError) as caught:
        raise pickle.loads(pickle.dumps(ValidationError("weight", "must be positive")))
    assert isinstance(caught.value, ValueError)
    with pytest.raises(LookupError):
        raise pickle.loads(pickle.dumps(NotFound("Goal", "g-404")))


@given(field=st.text(), why=st.text())
def test_validation_error_round_trips_any_text(field: str, why: str) -> None:
    err = ValidationError(field, why)
    copied = pickle.loads(pickle.dumps(err))
    assert (copied.field, copied.why) == (field, why)
    _same(err, copied)
    _same(err, copy.deepcopy(err))
