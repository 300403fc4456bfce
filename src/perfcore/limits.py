"""How large perfcore lets each input be: ids, texts, collections, numbers, dates, query pages.

Every value that reaches perfcore is checked against these bounds where it enters the domain (the
field validators in :mod:`perfcore._validate`), so that one oversized or malformed input cannot
slow down or break every later command on the object it lands in, and every store refuses
exactly what the domain refuses.

The bounds in force are :data:`DEFAULT_LIMITS` unless a caller runs its work inside
:func:`using`, which sets other :class:`Limits` for the current thread or task (a
:mod:`contextvars` variable, so concurrent requests with different limits do not see each
other's):

>>> from perfcore.limits import DEFAULT_LIMITS, Limits, current, using
>>> current() is DEFAULT_LIMITS
True
>>> with using(Limits(long_text=50_000)):
...     current().long_text
50000
>>> current().long_text
10000

Raising a bound is always safe. Lowering one below what is already stored makes the objects that
hold a longer value fail validation when they are loaded (a ``ValidationError`` naming the
field), so lower a bound only for a store that holds nothing beyond it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import attrs

from perfcore.errors import ValidationError

__all__ = ["DEFAULT_LIMITS", "Limits", "current", "using"]

#: The most significant digits a Decimal keeps by default (``decimal.getcontext().prec``): a
#: number's whole and fractional digits together stay within it, so that sums and means of
#: stored numbers are exact.
_PRECISION = 28


def _whole_from(least: int) -> Any:
    def validate(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValidationError(attribute.name, f"must be a whole number from {least}")

    return validate


def _years(instance: Limits, attribute: attrs.Attribute[Any], value: int) -> None:
    if not dt.MINYEAR <= instance.first_year <= value <= dt.MAXYEAR - 1:
        raise ValidationError(
            attribute.name,
            f"must be from first_year ({instance.first_year}) to {dt.MAXYEAR - 1}, so that a day"
            " after the last one still exists",
        )


def _precision(instance: Limits, attribute: attrs.Attribute[Any], value: int) -> None:
    if instance.whole_digits + value > _PRECISION:
        raise ValidationError(
            attribute.name,
            f"whole_digits + decimal_places must not exceed {_PRECISION}, the digits a Decimal"
            " keeps, or arithmetic on stored numbers would round",
        )


@attrs.frozen(kw_only=True)
class Limits:
    """The bounds perfcore holds every input to.

    Attributes:
        id_length: the longest id, in characters (people, objects, idempotency keys,
            departments an approver is named by).
        short_text: the longest one-line text: titles, names, metrics, units, levels, criterion
            names, scale labels, schedules. One-line text holds no control character at all.
        long_text: the longest free text: descriptions, responsibilities, comments, notes,
            evidence, reasons, resolutions. Free text may hold line breaks (``\\n``, ``\\r``)
            and tabs, and no other control character.
        items: the most items one collection given to a command may hold (an audience, a
            cycle's participants, ratings, criteria, team members). Items appended one command
            at a time (check-ins, feedback, review notes) are counted per command.
        whole_digits: a number's magnitude is below ``10 ** whole_digits`` (whole numbers and
            decimals alike; ``15`` admits anything below a thousand trillion).
        decimal_places: the most decimal places a number may have (trailing zeros do not
            count: ``Decimal("1.500000000")`` has one).
        first_year: the earliest year a date or a time may fall in.
        last_year: the latest (at most 9998, so that the day after any accepted date exists).
        page: the most items one query may ask for at once (``limit=``).
    """

    id_length: int = attrs.field(default=200, validator=_whole_from(1))
    short_text: int = attrs.field(default=200, validator=_whole_from(1))
    long_text: int = attrs.field(default=10_000, validator=_whole_from(1))
    items: int = attrs.field(default=10_000, validator=_whole_from(1))
    whole_digits: int = attrs.field(default=15, validator=_whole_from(1))
    decimal_places: int = attrs.field(default=6, validator=[_whole_from(0), _precision])
    first_year: int = attrs.field(default=1900, validator=_whole_from(dt.MINYEAR))
    last_year: int = attrs.field(default=2999, validator=[_whole_from(dt.MINYEAR), _years])
    page: int = attrs.field(default=10_000, validator=_whole_from(1))
    #: The first magnitude too large, ``10 ** whole_digits``: worked out once.
    largest: int = attrs.field(init=False, repr=False, eq=False)

    @largest.default
    def _largest(self) -> int:
        return int(10**self.whole_digits)


#: The bounds in force unless :func:`using` says otherwise.
DEFAULT_LIMITS = Limits()

_ACTIVE: ContextVar[Limits] = ContextVar("perfcore_limits", default=DEFAULT_LIMITS)

#: The bounds in force in this thread or task: :data:`DEFAULT_LIMITS` unless inside
#: :func:`using`. (The context variable's own ``get``: validators read it for every field, so it
#: costs no Python call of its own.)
current: Callable[[], Limits] = _ACTIVE.get


@contextlib.contextmanager
def using(limits: Limits) -> Iterator[Limits]:
    """Hold every input to ``limits`` inside the ``with`` block (in this thread or task only).

    Raises:
        ValidationError: ``limits`` is not a :class:`Limits`.
    """
    if not isinstance(limits, Limits):
        raise ValidationError("limits", f"must be Limits, not {type(limits).__name__}")
    token = _ACTIVE.set(limits)
    try:
        yield limits
    finally:
        _ACTIVE.reset(token)
