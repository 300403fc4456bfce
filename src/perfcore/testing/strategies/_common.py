"""The building blocks every other strategy module uses: people, text, times, dates and numbers.

Ids and texts come from small pools ("ana", "ben", ...) so that a shrunk example reads like a
story; free text is mixed in behind the pools, so shrinking returns to them.

The people objects name, and how far their dates and numbers range, are those *in force*: by
default perfcore's pools and ranges; while a strategy given ``actors=`` or ``ranges=`` draws, the
user's (see :func:`in_force`). They are read when a value is drawn, not when a strategy is built,
so that the module-level strategies of each kit serve every user's people.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
from collections.abc import Collection, Iterable, Iterator, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from perfcore.actor import Actor, Role

T = TypeVar("T")

__all__ = [
    "DEPARTMENTS",
    "HR_PEOPLE",
    "PEOPLE",
    "Ranges",
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


def _numbers(value: tuple[Decimal | int | str, Decimal | int | str] | None) -> Any:
    if value is None:
        return None
    low, high = (Decimal(bound) for bound in value)
    if not (low.is_finite() and high.is_finite()) or high - low < Decimal("0.01"):
        raise InvalidArgument(f"numbers={value!r}: give (low, high), high at least 0.01 above low")
    return (low, high)


def _days(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidArgument(f"days={value!r}: give a whole number of days, 1 or more")


@attrs.frozen(kw_only=True)
class Ranges:
    """How far the dates and numbers that strategies draw may range: widen them to reach the
    edges of your own rules (a guard about a year finds nothing among dates a month apart).

    Pass one as ``ranges=`` to :func:`~perfcore.testing.strategies.command_sequences`,
    :func:`~perfcore.testing.strategies.commands`, the aggregate strategies
    (:func:`~perfcore.testing.strategies.goals` ...), or as the workflow machine's ``ranges``.

    Attributes:
        days: how many days from the moment it is drawn for a date may be: a check-in dated up
            to ``days`` back, a goal starting up to ``days`` either side of its creation and
            due up to ``days`` after it starts, an evaluation's or a cycle's period as long and
            as far away, a plan extended by up to ``days`` (a plan itself lasts 180 days or
            more, so that every review has a day). ``None``: each strategy's own (a check-in up
            to 14 days back, a goal up to a year long...).
        numbers: ``(low, high)``: the range of a goal's metric (its baseline, target and
            check-in values). ``None``: -1000 to 1000, to the cent.

    >>> Ranges(days=400, numbers=(0, 100)).numbers
    (Decimal('0'), Decimal('100'))

    .. versionadded:: 0.2.0
    """

    days: int | None = attrs.field(default=None, validator=_days)
    numbers: tuple[Decimal, Decimal] | None = attrs.field(default=None, converter=_numbers)

    def day_span(self, default: int) -> int:
        """``days``, or ``default`` where it is not set."""
        return default if self.days is None else self.days


@attrs.frozen
class Cast:
    """The people in force: whom drawn objects name, and who fires drawn commands.

    Attributes:
        actors: the user's actors (``None``: perfcore's pools and each kit's cast).
        people: the ids owners, managers, authors and subjects are drawn from, first first.
        extras: more ids, for where an object needs more people than ``people`` has (an
            audience of three besides the author, reviewers): perfcore's, minus ``people``.
        hr_ids: who acts as HR when a kit needs HR: the user's HR people, else ``hana``.
    """

    actors: tuple[Actor, ...] | None
    people: tuple[str, ...]
    extras: tuple[str, ...]
    hr_ids: tuple[str, ...]

    @classmethod
    def of(cls, actors: Iterable[Actor] | None) -> Cast:
        """The cast for ``actors`` (``None``: perfcore's pools)."""
        if actors is None:
            return cls(None, PEOPLE, (), HR_PEOPLE)
        given = tuple(actors)
        if not given or not all(isinstance(actor, Actor) for actor in given):
            raise InvalidArgument(f"actors={given!r}: give one or more perfcore Actors")
        ids = tuple(dict.fromkeys(actor.id for actor in given))
        extras = tuple(person for person in PEOPLE if person not in ids)
        hr_ids = tuple(actor.id for actor in given if Role.HR in actor.roles)
        spare = tuple(person for person in (*HR_PEOPLE, "hr-1") if person not in ids)
        return cls(given, ids, extras, hr_ids or spare[:1])

    @property
    def everyone(self) -> tuple[str, ...]:
        """``people`` and then ``extras``."""
        return (*self.people, *self.extras)


@attrs.frozen
class InForce:
    """What strategies draw with now: the cast and the ranges."""

    cast: Cast
    ranges: Ranges


_DEFAULT = InForce(Cast.of(None), Ranges())
_IN_FORCE: contextvars.ContextVar[InForce] = contextvars.ContextVar(
    "perfcore_strategies_in_force", default=_DEFAULT
)


def in_force() -> InForce:
    """The cast and ranges draws use now."""
    return _IN_FORCE.get()


@contextlib.contextmanager
def using(actors: Iterable[Actor] | None = None, ranges: Ranges | None = None) -> Iterator[None]:
    """Draw with ``actors`` and ``ranges`` (each left as it is where ``None``) inside."""
    now = in_force()
    chosen = InForce(
        now.cast if actors is None else Cast.of(actors), now.ranges if ranges is None else ranges
    )
    token = _IN_FORCE.set(chosen)
    try:
        yield
    finally:
        _IN_FORCE.reset(token)


def check_ranges(ranges: Ranges | None) -> Ranges | None:
    """``ranges``, refused unless it is a :class:`Ranges` or ``None``."""
    if ranges is not None and not isinstance(ranges, Ranges):
        raise InvalidArgument(f"ranges={ranges!r}: give a perfcore.testing.strategies.Ranges")
    return ranges


def check_actors(actors: Iterable[Actor] | None) -> tuple[Actor, ...] | None:
    """``actors`` as a tuple (checked), or ``None``."""
    return None if actors is None else Cast.of(actors).actors


# Printable text without control characters, as an HR user might type it; surrogates are left out
# so that every drawn string can be stored as UTF-8.
_TYPED = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))


def people(exclude: Iterable[str] = ()) -> st.SearchStrategy[str]:
    """Person ids from :data:`PEOPLE` (or the ids of the actors in force), without those in
    ``exclude``.

    .. versionadded:: 0.1.0
    """
    return _people(frozenset(exclude))


# Strategies are cached: building one is cheap, but hypothesis validates every new strategy
# object on its first draw, which costs more than the draw when it happens on every example.
@functools.cache
def _people(exclude: frozenset[str]) -> st.SearchStrategy[str]:
    return _person(exclude)


@st.composite
def _person(draw: st.DrawFn, exclude: frozenset[str]) -> str:
    cast = in_force().cast
    left = [person for person in cast.people if person not in exclude]
    if not left:
        left = [person for person in cast.extras if person not in exclude]
    if not left:
        raise InvalidArgument(f"every person in {cast.everyone} is excluded")
    return choice(draw, left)


def optional_people(exclude: Iterable[str] = ()) -> st.SearchStrategy[str | None]:
    """``None`` (first, so that it shrinks away), or a person as :func:`people` draws one."""
    return _optional_people(frozenset(exclude))


@functools.cache
def _optional_people(exclude: frozenset[str]) -> st.SearchStrategy[str | None]:
    # Built once for each exclusion: a new strategy for every draw would be validated anew.
    return st.none() | _people(exclude)


def distinct_people(
    count: int, exclude: Iterable[str] = (), *, max_count: int | None = None
) -> st.SearchStrategy[list[str]]:
    """Between ``count`` and ``max_count`` (default ``count``) different person ids: from the
    people in force, and from the extras when they are too few."""
    return _distinct(count, count if max_count is None else max_count, frozenset(exclude))


@functools.cache
def _distinct(low: int, high: int, exclude: frozenset[str]) -> st.SearchStrategy[list[str]]:
    return _distinct_people(low, high, exclude)


@st.composite
def _distinct_people(draw: st.DrawFn, low: int, high: int, exclude: frozenset[str]) -> list[str]:
    cast = in_force().cast
    pool = tuple(person for person in cast.people if person not in exclude)
    if len(pool) < low:
        pool += tuple(person for person in cast.extras if person not in exclude)
    if len(pool) < low:
        raise InvalidArgument(f"fewer than {low} people in {cast.everyone} besides {exclude}")
    return draw(_unique_lists(pool, low, min(high, len(pool))))


@functools.lru_cache(maxsize=512)
def _unique_lists(pool: tuple[str, ...], low: int, high: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), min_size=low, max_size=high, unique=True)


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


@st.composite
def _pool_or_free(draw: st.DrawFn, pool: tuple[str, ...], free: st.SearchStrategy[str]) -> str:
    # Free text one time in four: enough to find what breaks on odd input, rare enough that
    # examples stay cheap (free text costs a draw per character) and mostly read as prose. One
    # choice decides both which and whether (the three quarters below 3n are the pool, taken
    # modulo its size), which halves the draws of the commonest value; it shrinks to pool[0].
    size = len(pool)
    index = draw(integers(0, 4 * size - 1))
    return pool[index % size] if index < 3 * size else draw(free)


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


def hr(person: str | None = None, *, besides: Collection[str] = ()) -> Actor:
    """``person`` (by default the first HR person in force, ``hana``, who is none of
    ``besides``) as HR."""
    if person is None:
        cast = in_force().cast
        spare = (p for p in (*HR_PEOPLE, "hr-1", "hr-2") if p not in {*cast.everyone, *besides})
        person = next((p for p in cast.hr_ids if p not in besides), None) or next(spare)
    return Actor(id=person, roles={Role.HR})


def outsider(named: Collection[str]) -> str:
    """The first person in force whom ``named`` leaves out (``zed`` if nobody is left)."""
    return next((person for person in in_force().cast.everyone if person not in named), "zed")


def metric_range() -> tuple[Decimal, Decimal]:
    """The range of a goal's metric in force."""
    numbers = in_force().ranges.numbers
    return (Decimal(-1000), Decimal(1000)) if numbers is None else numbers


@functools.lru_cache(maxsize=256)
def integers(low: int, high: int) -> st.SearchStrategy[int]:
    """``st.integers(low, high)``, one strategy object per range (see :func:`people`)."""
    return st.integers(low, high)
