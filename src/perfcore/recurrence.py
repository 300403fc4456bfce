"""Recurrence rules: when plan reviews fall due and when review cycles repeat.

A schedule is one RFC 5545 ``RRULE`` (such as ``"FREQ=WEEKLY;INTERVAL=4"``), stored as the string
the caller gave so that it serialises as it is; its start (DTSTART) is the owning object's first
day. Only rules that fall on days are accepted, and the bounds below keep dateutil's scans short:
``INTERVAL=0`` makes it loop for ever, and a rule that matches no day (the 30th of February) makes
it scan to the year 9999.

>>> import datetime as dt
>>> rule = parse_rule("FREQ=WEEKLY;INTERVAL=4", "review_schedule")
>>> rule.next_after(dt.date(2026, 1, 5), start=dt.date(2026, 1, 5))
datetime.date(2026, 2, 2)
>>> parse_rule("FREQ=HOURLY", "schedule")
Traceback (most recent call last):
...
perfcore.errors.ValidationError: schedule: needs FREQ set to DAILY, WEEKLY, MONTHLY or YEARLY ...
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from typing import Any

import attrs
from dateutil.rrule import rrulestr

from perfcore.errors import ValidationError

__all__ = ["Recurrence", "parse_rule", "recurrence_rule"]

#: The rule parts a schedule may use. Time-of-day parts are left out because schedules fall on
#: days; DTSTART is left out because the owner's first day is the schedule's start.
_RULE_PARTS = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
)
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
#: Bounds on the numeric parts: INTERVAL=0 loops for ever, and huge values are mistakes.
_LIMITS = {"INTERVAL": (1, 1000), "COUNT": (1, 10**6), "BYMONTH": (1, 12)}
#: Any date will do to check that dateutil reads a rule; the owner's start is used to expand it.
_PARSE_START = dt.datetime(2000, 1, 1)
#: The Gregorian calendar, weekdays included, repeats every 400 years (146,097 days).
_CALENDAR_YEARS = 400


@attrs.frozen
class Recurrence:
    """A parsed schedule: the rule without UNTIL, and UNTIL as a date.

    Attributes:
        rule: the rule dateutil expands (UNTIL removed, WKST=MO added when absent).
        until: the last day the rule allows, or ``None``.
    """

    rule: str
    until: dt.date | None

    def next_after(
        self, after: dt.date, *, start: dt.date, last: dt.date | None = None
    ) -> dt.date | None:
        """The first day of the schedule strictly after ``after``, counting from ``start`` and
        ending at ``last`` (and at UNTIL), or ``None`` when there is none."""
        end = self.until if last is None else last if self.until is None else min(last, self.until)
        if end is not None and (after >= end or start > end):
            return None
        day = _next_after(self.rule, after, start)
        return day if day is None or end is None or day <= end else None


@functools.lru_cache(maxsize=4096)
def _next_after(rule: str, after: dt.date, start: dt.date) -> dt.date | None:
    # Cached: a plan's review day is asked for by every command on it (its stored review
    # column, its guards), and plans of one cycle share their rule and start. Expanding a
    # rule with dateutil costs more than the rest of such a command.
    # Asked a multiple of 400 years later, the same question has the same answer, shifted,
    # and a rule that matches no day then ends its scan within 400 years, not thousands.
    years = _CALENDAR_YEARS * ((dt.MAXYEAR - max(after, start).year) // _CALENDAR_YEARS)
    expanded = rrulestr(rule, dtstart=_midnight(_shift(start, years)))
    found = expanded.after(_midnight(_shift(after, years)))
    return None if found is None else _shift(found.date(), -years)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _shift(day: dt.date, years: int) -> dt.date:
    # Safe for the 29th of February: 400 years on is a leap year too.
    return day.replace(year=day.year + years)


def _numbers(field: str, name: str, value: str, low: int, high: int, *, signed: bool) -> None:
    # At most 9 digits: int() refuses very long numbers with an error of its own.
    pattern = r"[+-]?\d{1,9}" if signed else r"\d{1,9}"
    for item in value.split(","):
        if not re.fullmatch(pattern, item) or not low <= abs(int(item)) <= high:
            sign = f"-{high}..-{low} or " if signed else ""
            raise ValidationError(
                field, f"{name}={value} is out of range: each value must be {sign}{low}..{high}"
            )


def _rule_parts(body: str, field: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in body.upper().split(";"):
        name, equals, value = item.partition("=")
        if not equals or not value:
            raise ValidationError(field, f"{item!r} is not a rule part of the form NAME=VALUE")
        if name not in _RULE_PARTS:
            raise ValidationError(field, f"{name} is not supported; use {', '.join(_RULE_PARTS)}")
        if name in parts:
            raise ValidationError(field, f"{name} is given twice")
        parts[name] = value
    return parts


def _check_parts(parts: Mapping[str, str], field: str) -> None:
    if parts.get("FREQ") not in _FREQUENCIES:
        raise ValidationError(
            field, "needs FREQ set to DAILY, WEEKLY, MONTHLY or YEARLY (schedules fall on days)"
        )
    for name, (low, high) in _LIMITS.items():
        if name in parts:
            _numbers(field, name, parts[name], low, high, signed=False)
    if "BYMONTHDAY" in parts:
        _numbers(field, "BYMONTHDAY", parts["BYMONTHDAY"], 1, 31, signed=True)
    if "COUNT" in parts and "UNTIL" in parts:
        # RFC 5545 3.3.10: they MUST NOT both occur (and dateutil warns about it).
        raise ValidationError(field, "give COUNT or UNTIL, not both")


def _until(value: str, field: str) -> dt.date:
    # With a date as DTSTART, RFC 5545 makes UNTIL a date too.
    if re.fullmatch(r"\d{8}", value):
        try:
            return dt.datetime.strptime(value, "%Y%m%d").date()
        except ValueError:
            pass
    raise ValidationError(field, f"UNTIL={value} is not a date such as 20261231")


@functools.lru_cache(maxsize=512)
def parse_rule(value: str, field: str) -> Recurrence:
    """Parse one recurrence rule (an optional ``RRULE:`` prefix is allowed).

    Args:
        value: the rule, such as ``"FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"``.
        field: the field it is for, named in errors.

    Raises:
        ValidationError: the rule is not one this module accepts, saying why.

    .. versionadded:: 0.1.0
    """
    body = value.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if not body or re.search(r"[\s:]", body):
        raise ValidationError(
            field,
            f"{value!r} is not one recurrence rule such as 'FREQ=WEEKLY;INTERVAL=4'"
            " (the schedule starts on its owner's first day)",
        )
    parts = _rule_parts(body, field)
    _check_parts(parts, field)
    until = _until(parts.pop("UNTIL"), field) if "UNTIL" in parts else None
    # The week starts on Monday, as RFC 5545 says, whatever the calendar module was told.
    parts.setdefault("WKST", "MO")
    rule = ";".join(f"{name}={part}" for name, part in parts.items())
    try:
        rrulestr(rule, dtstart=_PARSE_START)
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise ValidationError(
            field, f"{value!r} is not a recurrence rule dateutil can read: {error}"
        ) from None
    return Recurrence(rule, until)


def recurrence_rule(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: a recurrence rule string :func:`parse_rule` accepts, or ``None``."""
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError(
            attribute.name, f"must be a recurrence rule string or None, not {value!r}"
        )
    parse_rule(value, attribute.name)
