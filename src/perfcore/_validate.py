"""Field validators for perfcore's attrs classes, and the checks the services run on arguments.

Each raises :class:`~perfcore.errors.ValidationError` naming the field and what would be accepted,
so that bad input never surfaces as a ``TypeError`` from deep inside attrs, and never reaches a
store (which would refuse it in its own way, or not at all). The bounds (lengths, magnitudes,
years, counts) are those of :func:`perfcore.limits.current`.

What each kind of input may be:

- **an id** (a person, an object, a department, an idempotency key): an exact token, a string of
  1 to ``id_length`` characters with no white space at either end, no control or invisible
  formatting character (zero-width, bidirectional), no lone surrogate, in Unicode normal form C;
  so that two ids that look alike are the same id.
- **one-line text** (a title, a name, a unit): at most ``short_text`` characters, no control
  character, no lone surrogate.
- **free text** (a description, a comment, a reason): at most ``long_text`` characters; line
  breaks and tabs are allowed, other control characters and lone surrogates are not.
- **a collection**: a list or tuple (a set too, where order does not matter), of at most
  ``items`` items; never a bare string, bytes, a mapping or ``None``.
- **a number**: a finite Decimal (ints, decimal strings and floats are converted exactly) below
  ``10 ** whole_digits`` in magnitude, with at most ``decimal_places`` decimal places; a whole
  number likewise; a bool is neither.
- **a date** (and a time): from ``first_year`` to ``last_year``.

Errors show at most a short excerpt of the value refused, never the whole of it.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Set
from decimal import Decimal
from typing import Any, TypeVar, cast

import attrs

from perfcore.entries import Entries
from perfcore.errors import ValidationError
from perfcore.limits import current

E = TypeVar("E", bound=enum.Enum)

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

# -- showing a refused value --------------------------------------------------------------------

_SHOWN = 60


def shown(value: object) -> str:
    """A short, safe description of ``value`` for an error message: an excerpt of a long string,
    the size of a huge number, never an exception of its own (a 5,000-digit int cannot even be
    turned into a string under Python's default limit)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a whole number of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, str | bytes) and len(value) > _SHOWN:
        return f"{value[:_SHOWN]!r}... ({len(value):,} long)"
    if isinstance(value, Decimal) and not value.is_finite():
        return repr(value)
    if isinstance(value, Decimal) and len(value.as_tuple().digits) > _SHOWN:
        return f"a decimal of {len(value.as_tuple().digits):,} digits"
    try:
        text = repr(value)
    except Exception:  # any object may be passed, with any __repr__
        return f"a {type(value).__name__}"
    return text if len(text) <= _SHOWN + 20 else f"{text[:_SHOWN]}... (a {type(value).__name__})"


def _kind(value: object) -> str:
    return "None" if value is None else type(value).__name__


# -- ids ----------------------------------------------------------------------------------------

#: Characters no id holds: C0 and C1 controls, lone surrogates, and invisible formatting
#: (soft hyphen, zero-width characters, bidirectional controls, word joiners, byte-order mark),
#: which would let two ids that print the same differ. A fixed list, so that what an id may be
#: does not change with the Python version's Unicode tables.
_NOT_IN_IDS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb\ud800-\udfff]"
)


def check_id(name: str, value: object) -> str:
    """Return ``value`` if it is an id (see the module's docstring), else raise ValidationError.

    >>> check_id("owner_id", "ana")
    'ana'
    >>> check_id("owner_id", "ana ")
    Traceback (most recent call last):
    ...
    perfcore.errors.ValidationError: owner_id: must be an id without white space at either end...
    """
    # The common case first, in a few C calls: printable ASCII, no space at either end.
    if (
        type(value) is str
        and 0 < len(value) <= current().id_length
        and value.isascii()
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    ):
        return value
    return _check_id(name, value)


def _check_id(name: str, value: object) -> str:
    if type(value) is not str:
        if not isinstance(value, str):
            raise ValidationError(name, f"must be a string id, not {_kind(value)}")
        value = str(value)  # a subclass (a StrEnum member) stands for its plain value
    size = len(value)
    if not size:
        raise ValidationError(name, "must be a non-empty id")
    if size > current().id_length:
        raise ValidationError(
            name, f"is {size:,} characters long; an id has at most {current().id_length}"
        )
    if value[0].isspace() or value[-1].isspace():
        raise ValidationError(
            name, f"must be an id without white space at either end, not {shown(value)}"
        )
    if value.isascii():
        if not value.isprintable():
            raise ValidationError(name, f"must not hold a control character: {shown(value)}")
        return value
    if _NOT_IN_IDS.search(value):
        raise ValidationError(
            name,
            "must not hold a control, invisible formatting or lone surrogate character:"
            f" {shown(value)}",
        )
    if not unicodedata.is_normalized("NFC", value):
        raise ValidationError(
            name,
            f"must be in Unicode normal form C (unicodedata.normalize('NFC', ...))"
            f", not {shown(value)}",
        )
    return value


def identifier(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An id: an exact token (see :func:`check_id`)."""
    check_id(attribute.name, value)


def optional_identifier(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An id or ``None``."""
    if value is not None:
        check_id(attribute.name, value)


def check_optional_id(name: str, value: object) -> str | None:
    """Return ``value`` if it is an id or ``None``, else raise ValidationError."""
    return None if value is None else check_id(name, value)


# -- text ---------------------------------------------------------------------------------------

#: What free text may not hold: control characters other than tab, line feed and carriage
#: return (a form's text area sends line breaks as CR LF), and lone surrogates, which no store
#: can encode.
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: What one-line text may not hold: any control character, or a lone surrogate.
_NOT_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def check_text(name: str, value: object, *, short: bool = False, required: bool = False) -> str:
    """Return ``value`` if it is text of its kind, else raise ValidationError.

    Args:
        name: the field or argument, for the error.
        value: what was given.
        short: one-line text (at most ``short_text`` characters, no control character), rather
            than free text (at most ``long_text``, line breaks and tabs allowed).
        required: it must hold something other than white space.
    """
    if not isinstance(value, str):
        raise ValidationError(name, f"must be text, not {_kind(value)}")
    limits = current()
    most = limits.short_text if short else limits.long_text
    if len(value) > most:
        kind = "one-line text" if short else "text"
        raise ValidationError(
            name, f"is {len(value):,} characters long; {kind} here has at most {most:,}"
        )
    if not value.isprintable():
        forbidden = _NOT_IN_LINE if short else _NOT_IN_TEXT
        found = forbidden.search(value)
        if found is not None:
            surrogate = "\ud800" <= found.group() <= "\udfff"
            what = "a lone surrogate" if surrogate else "a control"
            raise ValidationError(
                name,
                f"holds {what} character ({found.group()!r} at {found.start()})"
                + ("; one-line text holds no line break or tab" if short and not surrogate else ""),
            )
    if required and not value.strip():
        raise ValidationError(name, f"must be non-empty text, not {shown(value)}")
    return value


def text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Required free text: something other than white space, at most ``long_text``."""
    check_text(attribute.name, value, required=True)


def any_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Optional free text: any text, the empty string included."""
    check_text(attribute.name, value)


def optional_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Free text with something in it, or ``None``."""
    if value is not None:
        check_text(attribute.name, value, required=True)


def short_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A required one-line text (a title, a name): at most ``short_text`` characters."""
    check_text(attribute.name, value, short=True, required=True)


def any_short_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A one-line text that may be empty (a unit, a level)."""
    check_text(attribute.name, value, short=True)


def optional_short_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A one-line text with something in it, or ``None``."""
    if value is not None:
        check_text(attribute.name, value, short=True, required=True)


def text_length(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """``None``, or a string no longer than ``long_text``: for a field whose next validator
    parses the text and says what else is wrong with it (a recurrence rule)."""
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError(attribute.name, f"must be text or None, not {_kind(value)}")
    if len(value) > current().long_text:
        raise ValidationError(
            attribute.name,
            f"is {len(value):,} characters long; text here has at most {current().long_text:,}",
        )


def texts(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A tuple of required free texts."""
    if not isinstance(value, tuple):
        raise ValidationError(attribute.name, f"must be a tuple of texts, not {_kind(value)}")
    check_count(attribute.name, value)
    for position, item in enumerate(value):
        check_text(f"{attribute.name}[{position}]", item, required=True)


def short_texts(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A tuple of required one-line texts (a scale's labels)."""
    if not isinstance(value, tuple):
        raise ValidationError(attribute.name, f"must be a tuple of texts, not {_kind(value)}")
    check_count(attribute.name, value)
    for position, item in enumerate(value):
        check_text(f"{attribute.name}[{position}]", item, short=True, required=True)


# -- times and dates ----------------------------------------------------------------------------


def _check_year(name: str, value: dt.date) -> None:
    limits = current()
    if not limits.first_year <= value.year <= limits.last_year:
        raise ValidationError(
            name, f"must fall from the year {limits.first_year} to {limits.last_year}, not {value}"
        )


def aware_datetime(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A timezone-aware datetime (perfcore never guesses a time zone)."""
    check_aware(attribute.name, value)


def check_aware(name: str, value: object) -> dt.datetime:
    """Return ``value`` if it is a timezone-aware datetime in the years allowed, else raise
    ValidationError."""
    if not isinstance(value, dt.datetime):
        raise ValidationError(name, f"must be a datetime, not {_kind(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(name, "must be timezone-aware (for example with tzinfo=UTC)")
    _check_year(name, value)
    return value


def date(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A calendar date (a datetime is refused: it would carry a time nobody meant)."""
    check_date(attribute.name, value)


def check_date(name: str, value: object) -> dt.date:
    """Return ``value`` if it is a ``datetime.date`` (and not a datetime) in the years allowed,
    else raise ValidationError."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(name, f"must be a datetime.date, not {_kind(value)}")
    _check_year(name, value)
    return value


def check_optional_date(name: str, value: object) -> dt.date | None:
    """Return ``value`` if it is a date in the years allowed or ``None``, else raise."""
    return None if value is None else check_date(name, value)


def optional_date(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A date or ``None``."""
    if value is not None:
        check_date(attribute.name, value)


# -- numbers ------------------------------------------------------------------------------------

#: A string longer than this is no number perfcore keeps (15 whole digits, 6 places, a sign,
#: a point, an exponent and white space fit many times over); it is not parsed at all.
_LONGEST_NUMBER_TEXT = 100
#: An int with more bits than this is far beyond any bound; it is not converted at all.
_WIDEST_INT = 256


def to_decimal(value: object) -> Decimal:
    """Convert ints, decimal strings and Decimals exactly; floats via their shortest repr.

    A float goes through ``repr`` so that ``0.1`` becomes ``Decimal("0.1")``, not the binary
    approximation; anything else (a bool, a huge int, a long or malformed string) is returned
    unchanged for the validator to refuse.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return value  # type: ignore[return-value]
    if isinstance(value, int):
        if value.bit_length() > _WIDEST_INT:
            return value  # type: ignore[return-value]
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        if len(value) > _LONGEST_NUMBER_TEXT:
            return value  # type: ignore[return-value]
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            return value  # type: ignore[return-value]
    return value  # type: ignore[return-value]


def number(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A finite Decimal within the bounds."""
    check_number(attribute.name, value)


def check_number(name: str, value: object) -> Decimal:
    """Return ``value`` as a finite Decimal within the bounds, or raise ValidationError."""
    converted = to_decimal(value)
    if not isinstance(converted, Decimal) or not converted.is_finite():
        if isinstance(value, int) and not isinstance(value, bool):
            _too_large(name, value)
        raise ValidationError(name, f"must be a finite number, not {shown(value)}")
    limits = current()
    if converted and converted.adjusted() >= limits.whole_digits:
        _too_large(name, value)
    _, digits, exponent = converted.as_tuple()
    places = limits.decimal_places
    if isinstance(exponent, int) and exponent < -places and any(digits[places + exponent :]):
        raise ValidationError(name, f"has more than {places} decimal places: {shown(converted)}")
    return converted


def _too_large(name: str, value: object) -> None:
    raise ValidationError(
        name,
        f"must be less than 10**{current().whole_digits} in magnitude, not {shown(value)}",
    )


def non_negative(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A finite Decimal that is zero or more."""
    converted = check_number(attribute.name, value)
    if converted < 0:
        raise ValidationError(attribute.name, f"must not be negative, not {converted}")


def optional_number(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A finite Decimal or ``None``."""
    if value is not None:
        check_number(attribute.name, value)


def check_whole(name: str, value: object, *, least: int | None = None) -> int:
    """Return ``value`` if it is a whole number (not a bool) within the bounds and at least
    ``least`` (if given), else raise ValidationError."""
    largest = current().largest
    if type(value) is int and -largest < value < largest and (least is None or value >= least):
        return value
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(name, f"must be a whole number, not {shown(value)}")
    if least is not None and value < least:
        raise ValidationError(name, f"must be a whole number from {least}, not {shown(value)}")
    if not -largest < value < largest:
        _too_large(name, value)
    return value


def positive_whole(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A whole number from 1 (a bool is refused, though Python counts it as an int)."""
    check_whole(attribute.name, value, least=1)


def whole_number(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Any whole number within the bounds, zero and negatives included (a bool is refused)."""
    check_whole(attribute.name, value)


def check_flag(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool, else raise ValidationError (``"yes"`` and ``1`` are
    not flags)."""
    if not isinstance(value, bool):
        raise ValidationError(name, f"must be True or False, not {shown(value)}")
    return value


def check_page(name: str, value: object) -> int:
    """Return ``value`` if it is a query's page size: a whole number from 1 to ``page``."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= current().page:
        raise ValidationError(
            name, f"must be a whole number from 1 to {current().page:,}, not {shown(value)}"
        )
    return value


#: The largest whole number a store keeps (SQLite's largest integer): a page size or a position
#: beyond it reads as far as there is, the same in every store.
LARGEST_STORED = 2**63 - 1


def check_store_limit(value: object) -> int:
    """A store's ``limit=``: a whole number; 0 or less reads nothing, and one beyond what a store
    can count reads everything (the services bound what they ask for by :func:`check_page`)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError("limit", f"must be a whole number, not {shown(value)}")
    return min(max(value, 0), LARGEST_STORED)


def check_store_position(name: str, value: object) -> int:
    """A position, version or number a store reads after: a whole number from 0 (one beyond
    what a store can count reads nothing)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(name, f"must be a whole number from 0, not {shown(value)}")
    return min(value, LARGEST_STORED)


# -- objects and collections --------------------------------------------------------------------


def instance_of(kind: type | tuple[type, ...]) -> Validator:
    """A value of ``kind`` (with a readable error)."""

    def validate(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            expected = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise ValidationError(attribute.name, f"must be {expected}, not {_kind(value)}")

    return _self_contained(validate)


def optional_instance_of(kind: type | tuple[type, ...]) -> Validator:
    """A value of ``kind``, or ``None``."""
    check = instance_of(kind)

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check(instance, attribute, value)

    return _self_contained(validate)


def check_instance(name: str, value: object, kind: type) -> Any:
    """Return ``value`` if it is a ``kind``, else raise ValidationError."""
    if not isinstance(value, kind):
        raise ValidationError(name, f"must be {kind.__name__}, not {_kind(value)}")
    return value


def check_count(name: str, value: Any) -> None:
    """Refuse a collection of more than ``items`` items."""
    most = current().items
    if len(value) > most:
        raise ValidationError(name, f"holds {len(value):,} items; at most {most:,} are taken")


def tuple_of(kind: type | tuple[type, ...]) -> Validator:
    """A tuple of at most ``items`` items, each a ``kind``."""

    def validate(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple):
            raise ValidationError(attribute.name, f"must be a tuple, not {_kind(value)}")
        check_count(attribute.name, value)
        for position, item in enumerate(value):
            if not isinstance(item, kind):
                raise ValidationError(
                    f"{attribute.name}[{position}]", f"must not be a {_kind(item)}"
                )

    ITEMWISE.add(validate)
    return _self_contained(validate)


def entries_of(kind: type | tuple[type, ...]) -> Validator:
    """:class:`~perfcore.entries.Entries` of at most ``items`` items, each a ``kind``: checked
    item by item, so that adding one checks that one alone."""

    def validate(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, Entries):
            raise ValidationError(attribute.name, f"must be a list or a tuple, not {_kind(value)}")
        check_count(attribute.name, value)
        for position, item in enumerate(value):
            if not isinstance(item, kind):
                raise ValidationError(
                    f"{attribute.name}[{position}]", f"must not be a {_kind(item)}"
                )

    ITEMWISE.add(validate)
    return _self_contained(validate)


def ids(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A frozenset of at most ``items`` ids."""
    if not isinstance(value, frozenset):
        if isinstance(value, list | tuple | set):
            raise ValidationError(attribute.name, "holds an item that is not an id (unhashable)")
        raise ValidationError(attribute.name, f"must be a set of ids, not {_kind(value)}")
    check_count(attribute.name, value)
    for item in value:
        check_id(attribute.name, item)


#: What a collection argument may never be: each of these is iterable, but a string where a
#: collection belongs is a mistake that would otherwise be split into its characters.
_NOT_COLLECTIONS = (str, bytes, bytearray, memoryview, Mapping)


def check_sequence(name: str, value: object) -> tuple[Any, ...]:
    """``value`` as a tuple, if it is a list or tuple of at most ``items`` items; else raise
    ValidationError (a string, bytes, a set, a mapping or ``None`` are no sequence)."""
    if isinstance(value, tuple):
        check_count(name, value)
        return value
    if isinstance(value, list):
        check_count(name, value)
        return tuple(value)
    raise ValidationError(name, f"must be a list or a tuple, not {_kind(value)}")


def check_set(name: str, value: object) -> frozenset[Any]:
    """``value`` as a frozenset, if it is a set, list or tuple of at most ``items`` hashable
    items; else raise ValidationError (a string, bytes, a mapping or ``None`` are no set)."""
    if isinstance(value, frozenset):
        check_count(name, value)
        return value
    if isinstance(value, list | tuple | Set) and not isinstance(value, _NOT_COLLECTIONS):
        check_count(name, value)
        try:
            return frozenset(value)
        except TypeError:
            raise ValidationError(name, "holds an item that is unhashable (a list?)") from None
    raise ValidationError(name, f"must be a set, list or tuple, not {_kind(value)}")


def check_mapping(name: str, value: object) -> dict[Any, Any]:
    """``value`` as a dict, if it is a mapping of at most ``items`` items; else raise."""
    if not isinstance(value, Mapping):
        raise ValidationError(name, f"must be a mapping, not {_kind(value)}")
    check_count(name, value)
    return dict(value)


def to_tuple(value: object) -> object:
    """Accept any list or tuple where perfcore stores a tuple; leave the rest to the validator."""
    return tuple(value) if isinstance(value, list) else value


def to_frozenset(value: object) -> object:
    """Accept any set, list or tuple where perfcore stores a frozenset; a bare string, or items
    that cannot be in a set, are left for the validator to refuse."""
    if isinstance(value, set | list | tuple):
        try:
            return frozenset(value)
        except TypeError:
            return value
    return value


def to_enum(kind: type[E], name: str) -> Callable[[object], E]:
    """A converter to the enum ``kind`` that refuses unknown values with a ValidationError (one
    per enum and name, made once: converters call this on every value)."""
    return cast(Callable[[object], E], _enum_converter(kind, name))


@functools.cache
def _enum_converter(kind: type[E], name: str) -> Callable[[object], E]:
    def convert(value: object) -> E:
        if type(value) is kind:
            return value
        try:
            return kind(value)
        except (ValueError, TypeError):
            known = ", ".join(repr(member.value) for member in kind)
            raise ValidationError(name, f"must be one of {known}, not {shown(value)}") from None

    return convert


#: Validators that look at nothing but their own value. A command that leaves such a field as it
#: was need not check it again (see ``Aggregate._next``); any other validator may read other
#: fields, so it runs on every change.
SELF_CONTAINED: set[Validator] = {
    identifier,
    optional_identifier,
    text,
    any_text,
    optional_text,
    short_text,
    any_short_text,
    optional_short_text,
    text_length,
    aware_datetime,
    date,
    optional_date,
    number,
    non_negative,
    ids,
    texts,
    short_texts,
    positive_whole,
    whole_number,
    optional_number,
}
#: For a validator that reads other fields of its object besides its own: which. A command
#: that changes none of them, nor the validator's own field, need not run it (see
#: ``Aggregate._next``); a validator that reads others and is not here runs on every change.
READS: dict[Validator, frozenset[str]] = {}


def reads(*fields: str) -> Callable[[Validator], Validator]:
    """Declare the other fields a validator reads (see :data:`READS`)."""

    def register(validator: Validator) -> Validator:
        READS[validator] = frozenset(fields)
        return validator

    return register


#: Validators of a tuple that check each item alone: appending items needs only the new ones
#: checked, which keeps a command's cost flat however long the tuple has grown.
ITEMWISE: set[Validator] = set()


def _self_contained(validator: Validator) -> Validator:
    SELF_CONTAINED.add(validator)
    return validator


# -- records rebuilt from what was checked already ----------------------------------------------

_T = TypeVar("_T")
#: Each class's maker, for :func:`unchecked`.
_MAKERS: dict[type, Callable[..., Any]] = {}


def unchecked_maker(kind: type[_T]) -> Callable[..., _T]:
    """What :func:`unchecked` calls for ``kind``: a function taking every field by keyword and
    setting each through its slot, generated once per class (as attrs generates ``__init__``).
    A loop building many records calls it directly, at half the cost of :func:`unchecked`.
    Missing or unknown fields raise ``TypeError`` as any call does."""
    found = _MAKERS.get(kind)
    if found is not None:
        return cast(Callable[..., _T], found)
    names = [field.name for field in attrs.fields(cast(Any, kind))]
    # Dunder names of its own, which no record's field is called.
    scope: dict[str, Any] = {"__new__": object.__new__, "__kind__": kind}
    lines = [f"def make(*, {', '.join(names)}):", "    __made__ = __new__(__kind__)"]
    for number, name in enumerate(names):
        scope[f"__set{number}__"] = getattr(kind, name).__set__
        lines.append(f"    __set{number}__(__made__, {name})")
    lines.append("    return __made__")
    exec("\n".join(lines), scope)  # the names are the class's own fields
    made: Callable[..., _T] = scope["make"]
    _MAKERS[kind] = made
    return made


def unchecked(kind: type[_T], /, **fields: object) -> _T:
    """An instance of the frozen, slotted attrs class ``kind`` holding ``fields`` as given: no
    converter or validator runs. Only for values a check has passed already, in the form the
    converters give (read from a store that refused anything else): an organisation's summary
    builds hundreds of thousands of such records, and their checks would cost more than the
    rest of it. Every field must be given.

    Raises:
        TypeError: a field is missing, or ``fields`` names one ``kind`` does not have.
    """
    make = unchecked_maker(kind)
    try:
        made: _T = make(**fields)
    except TypeError as error:
        raise TypeError(f"{kind.__name__}: give every field, and no other ({error})") from None
    return made
