"""The building blocks every other strategy module uses: people, text, times, dates and numbers.

Ids and texts come from small pools ("ana", "ben", ...) so that a shrunk example reads like a
story; free text is mixed in behind the pools, so shrinking returns to them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from perfcore.actor import Actor, Role

T = TypeVar("T")

__all__ = [
    "DEPARTMENTS",
    "HR_PEOPLE",
    "PEOPLE",
    "actors",
    "aware_datetimes",
    "dates",
    "decimals",
    "ids",
    "people",
    "reasons",
    "texts",
]

#: Employees and managers: the ids aggregates name as owners, authors, subjects, reviewers.
PEOPLE = ("ana", "ben", "cleo", "dan", "eve", "finn", "gus", "ida", "jon", "kai")
#: HR people, never in :data:`PEOPLE`, so that HR is never also the person a rule excludes.
HR_PEOPLE = ("hana", "hugo")
#: Approvers of a department, never in :data:`PEOPLE` either.
APPROVER_PEOPLE = ("olga", "omar")
DEPARTMENTS = ("people", "finance", "support", "sales")

#: Drawn datetimes stay within these years unless told otherwise: late enough to be realistic,
#: far enough from ``datetime.max`` that adding a plan's length never overflows.
EARLIEST = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2030, 12, 31, 23, 59, tzinfo=dt.UTC)
EARLIEST_DAY = EARLIEST.date()
LATEST_DAY = LATEST.date()

REASONS = ("agreed in our 1:1", "the team was reorganised", "needs a clearer target", "on leave")

# Printable text without control characters, as an HR user might type it; surrogates are left out
# so that every drawn string can be stored as UTF-8.
_TYPED = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))


def people(exclude: Iterable[str] = ()) -> st.SearchStrategy[str]:
    """Person ids from :data:`PEOPLE`, without those in ``exclude``.

    .. versionadded:: 0.1.0
    """
    return _people(frozenset(exclude))


# Strategies are cached: building one is cheap, but hypothesis validates every new strategy
# object on its first draw, which costs more than the draw when it happens on every example.
@functools.cache
def _people(exclude: frozenset[str]) -> st.SearchStrategy[str]:
    left = tuple(person for person in PEOPLE if person not in exclude)
    if not left:
        raise InvalidArgument(f"every person in {PEOPLE} is excluded")
    return st.sampled_from(left)


def distinct_people(
    count: int, exclude: Iterable[str] = (), *, max_count: int | None = None
) -> st.SearchStrategy[list[str]]:
    """Between ``count`` and ``max_count`` (default ``count``) different person ids."""
    return _distinct(count, count if max_count is None else max_count, frozenset(exclude))


@functools.cache
def _distinct(low: int, high: int, exclude: frozenset[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(_people(exclude), min_size=low, max_size=high, unique=True)


@functools.cache
def ids(prefix: str) -> st.SearchStrategy[str]:
    """Object ids such as ``"g-1"``; they shrink to ``"<prefix>-1"``.

    .. versionadded:: 0.1.0
    """
    return st.integers(1, 99).map(lambda number: f"{prefix}-{number}")


def texts(pool: Collection[str] = (), *, max_size: int = 20) -> st.SearchStrategy[str]:
    """Non-blank text: mostly from ``pool`` (where given), sometimes any short typed text.

    Args:
        pool: readable values to prefer; shrinking returns to the first of them.
        max_size: the longest free text drawn.

    .. versionadded:: 0.1.0
    """
    return _texts(tuple(pool), max_size)


@functools.cache
def _texts(pool: tuple[str, ...], max_size: int) -> st.SearchStrategy[str]:
    free = st.text(_TYPED, min_size=1, max_size=max_size).filter(lambda value: bool(value.strip()))
    return _pool_or_free(pool, free) if pool else free


_ONE_IN_FOUR = st.integers(0, 3)


@st.composite
def _pool_or_free(draw: st.DrawFn, pool: tuple[str, ...], free: st.SearchStrategy[str]) -> str:
    # Free text one time in four: enough to find what breaks on odd input, rare enough that
    # examples stay cheap (free text costs a draw per character) and mostly read as prose.
    if draw(_ONE_IN_FOUR) == 3:
        return draw(free)
    return choice(draw, pool)


@functools.cache
def reasons() -> st.SearchStrategy[str]:
    """A reason a person gives for a command: never blank.

    .. versionadded:: 0.1.0
    """
    return texts(REASONS)


def optional_text(pool: Collection[str] = ()) -> st.SearchStrategy[str]:
    """Text where it may be empty (a comment, a note): empty first, so that it shrinks away."""
    return _optional_text(tuple(pool))


@functools.cache
def _optional_text(pool: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), _texts(pool, 20))


def actors(
    *,
    roles: Collection[Role | str] | None = None,
    ids: st.SearchStrategy[str] | None = None,
    departments: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[Actor]:
    """Actors: a person with roles and, sometimes, a department.

    Args:
        roles: the roles every drawn actor holds, exactly; by default any set of roles.
        ids: their ids; by default one of :data:`PEOPLE` or :data:`HR_PEOPLE`.
        departments: their departments; by default none, or one of :data:`DEPARTMENTS`.

    Returns:
        A strategy for :class:`~perfcore.Actor`.

    >>> from hypothesis import find
    >>> find(actors(roles={"hr"}), lambda actor: True)
    Actor(id='ana', roles=frozenset({<Role.HR: 'hr'>}), department=None)

    .. versionadded:: 0.1.0
    """
    chosen_roles: st.SearchStrategy[frozenset[Role]]
    if roles is None:
        chosen_roles = st.frozensets(st.sampled_from(Role))
    else:
        chosen_roles = st.just(frozenset(Role(role) for role in roles))
    return st.builds(
        Actor,
        id=st.sampled_from(PEOPLE + HR_PEOPLE) if ids is None else ids,
        roles=chosen_roles,
        department=(
            st.one_of(st.none(), st.sampled_from(DEPARTMENTS))
            if departments is None
            else departments
        ),
    )


@functools.cache
def aware_datetimes(
    min_value: dt.datetime = EARLIEST,
    max_value: dt.datetime = LATEST,
    *,
    timezones: st.SearchStrategy[dt.tzinfo] | None = None,
) -> st.SearchStrategy[dt.datetime]:
    """Timezone-aware datetimes, in UTC unless ``timezones`` says otherwise.

    Args:
        min_value: the earliest (aware; its time zone is dropped for the bound, as
            :func:`hypothesis.strategies.datetimes` asks for naive bounds).
        max_value: the latest.
        timezones: where the times are; by default UTC only, as perfcore stores them.

    .. versionadded:: 0.1.0
    """
    low, high = _naive(min_value), _naive(max_value)
    if low > high:
        raise InvalidArgument(f"min_value {min_value} is after max_value {max_value}")
    zones: st.SearchStrategy[dt.tzinfo] = st.just(dt.UTC) if timezones is None else timezones
    return st.datetimes(low, high, timezones=zones)


def _naive(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


@functools.cache
def dates(
    min_value: dt.date = EARLIEST_DAY, max_value: dt.date = LATEST_DAY
) -> st.SearchStrategy[dt.date]:
    """Calendar dates (never datetimes, which perfcore refuses where it wants a day).

    .. versionadded:: 0.1.0
    """
    return st.dates(min_value, max_value)


@functools.cache
def decimals(
    min_value: Decimal | int = -1000, max_value: Decimal | int = 1000, *, places: int = 2
) -> st.SearchStrategy[Decimal]:
    """Finite decimals with at most ``places`` decimal places, whole numbers first.

    Whole numbers come first so that shrinking ends on ``Decimal('0')`` (or the bound nearest
    it), not on ``Decimal('0.00')``; values are exact, as perfcore keeps them.

    .. versionadded:: 0.1.0
    """
    scale = 10**places
    low, high = Decimal(min_value), Decimal(max_value)
    if low > high:
        raise InvalidArgument(f"min_value {low} is above max_value {high}")
    fine = st.integers(_ceiling(low * scale), _floor(high * scale)).map(
        lambda units: Decimal(units) / scale
    )
    if _ceiling(low) > _floor(high):
        return fine
    return st.one_of(st.integers(_ceiling(low), _floor(high)).map(Decimal), fine)


def _ceiling(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


_GAP_MINUTES = st.integers(0, 2 * 24 * 60)


def later(draw: st.DrawFn, after: dt.datetime, at_least: dt.datetime | None = None) -> dt.datetime:
    """A moment after ``after`` (and not before ``at_least``): time only moves on.

    The gap is at most two days, so that a long walk stays within a plan's months.
    """
    base = after if at_least is None or at_least < after else at_least
    return base + dt.timedelta(minutes=draw(_GAP_MINUTES))


@functools.cache
def _indices(size: int) -> st.SearchStrategy[int]:
    return st.integers(0, size - 1)


def choice(draw: st.DrawFn, options: Sequence[T], label: str | None = None) -> T:
    """One of ``options``, shrinking towards the first: ``sampled_from`` without building a new
    strategy for every list of options."""
    if not options:
        raise InvalidArgument("nothing to choose from")
    return options[draw(_indices(len(options)), label=label)]


def day_start(day: dt.date) -> dt.datetime:
    """Nine in the morning, UTC, on ``day``: when a guard's date first holds."""
    return dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)


def employee(person: str) -> Actor:
    """``person`` as an employee."""
    return Actor(id=person, roles={Role.EMPLOYEE})


def manager(person: str) -> Actor:
    """``person`` as an employee who manages others."""
    return Actor(id=person, roles={Role.EMPLOYEE, Role.MANAGER})


def hr(person: str = HR_PEOPLE[0]) -> Actor:
    """``person`` (by default ``hana``) as HR."""
    return Actor(id=person, roles={Role.HR})
