"""Field validators for perfcore's attrs classes.

Each raises :class:`~perfcore.errors.ValidationError` naming the field and what would be accepted,
so that bad input never surfaces as a ``TypeError`` from deep inside attrs.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from perfcore.errors import ValidationError

E = TypeVar("E", bound=enum.Enum)

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def identifier(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An id: a non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(attribute.name, f"must be a non-blank string id, not {value!r}")


def optional_identifier(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An id or ``None``."""
    if value is not None:
        identifier(instance, attribute, value)


def text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Required text: a string with something other than white space in it."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(attribute.name, f"must be non-empty text, not {value!r}")


def any_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Optional text: any string, the empty one included."""
    if not isinstance(value, str):
        raise ValidationError(attribute.name, f"must be a string, not {type(value).__name__}")


def optional_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Text or ``None``."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(attribute.name, f"must be non-empty text or None, not {value!r}")


def aware_datetime(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A timezone-aware datetime (perfcore never guesses a time zone)."""
    check_aware(attribute.name, value)


def check_aware(name: str, value: object) -> dt.datetime:
    """Return ``value`` if it is a timezone-aware datetime, else raise ValidationError."""
    if not isinstance(value, dt.datetime):
        raise ValidationError(name, f"must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(name, "must be timezone-aware (for example with tzinfo=UTC)")
    return value


def date(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A calendar date (a datetime is refused: it would carry a time nobody meant)."""
    check_date(attribute.name, value)


def check_date(name: str, value: object) -> dt.date:
    """Return ``value`` if it is a ``datetime.date`` (and not a datetime), else raise."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(name, f"must be a datetime.date, not {type(value).__name__}")
    return value


def optional_date(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A date or ``None``."""
    if value is not None:
        date(instance, attribute, value)


def to_decimal(value: object) -> Decimal:
    """Convert ints, decimal strings and Decimals exactly; floats via their shortest repr.

    A float goes through ``repr`` so that ``0.1`` becomes ``Decimal("0.1")``, not the binary
    approximation; anything else is returned unchanged for the validator to refuse.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return value  # type: ignore[return-value]
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            return value  # type: ignore[return-value]
    return value  # type: ignore[return-value]


def number(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A finite Decimal."""
    check_number(attribute.name, value)


def check_number(name: str, value: object) -> Decimal:
    """Return ``value`` as a finite Decimal, or raise ValidationError."""
    converted = to_decimal(value)
    if not isinstance(converted, Decimal) or not converted.is_finite():
        raise ValidationError(name, f"must be a finite number, not {value!r}")
    return converted


def non_negative(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A finite Decimal that is zero or more."""
    converted = check_number(attribute.name, value)
    if converted < 0:
        raise ValidationError(attribute.name, f"must not be negative, not {value}")


def instance_of(kind: type | tuple[type, ...]) -> Validator:
    """A value of ``kind`` (with a readable error)."""

    def validate(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            expected = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise ValidationError(attribute.name, f"must be {expected}, not {type(value).__name__}")

    return _self_contained(validate)


def optional_instance_of(kind: type | tuple[type, ...]) -> Validator:
    """A value of ``kind``, or ``None``."""
    check = instance_of(kind)

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check(instance, attribute, value)

    return _self_contained(validate)


def tuple_of(kind: type | tuple[type, ...]) -> Validator:
    """A tuple whose every item is a ``kind``."""

    def validate(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple):
            raise ValidationError(attribute.name, f"must be a tuple, not {type(value).__name__}")
        for position, item in enumerate(value):
            if not isinstance(item, kind):
                raise ValidationError(
                    f"{attribute.name}[{position}]", f"must not be a {type(item).__name__}"
                )

    ITEMWISE.add(validate)
    return _self_contained(validate)


def ids(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A frozenset of non-blank string ids."""
    if not isinstance(value, frozenset):
        raise ValidationError(attribute.name, f"must be a set of ids, not {type(value).__name__}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(attribute.name, f"holds {item!r}, which is not an id")


def to_tuple(value: object) -> object:
    """Accept any list or tuple where perfcore stores a tuple; leave the rest to the validator."""
    return tuple(value) if isinstance(value, list) else value


def to_frozenset(value: object) -> object:
    """Accept any set, list or tuple where perfcore stores a frozenset; refuse a bare string."""
    if isinstance(value, set | list | tuple):
        return frozenset(value)
    return value


def to_enum(kind: type[E], name: str) -> Callable[[object], E]:
    """A converter to the enum ``kind`` that refuses unknown values with a ValidationError."""

    def convert(value: object) -> E:
        try:
            return kind(value)
        except ValueError:
            known = ", ".join(repr(member.value) for member in kind)
            raise ValidationError(name, f"must be one of {known}, not {value!r}") from None

    return convert


def texts(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A tuple of required texts: each a string with something other than white space in it."""
    if not isinstance(value, tuple):
        raise ValidationError(
            attribute.name, f"must be a tuple of texts, not {type(value).__name__}"
        )
    for position, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(
                f"{attribute.name}[{position}]", f"must be non-empty text, not {item!r}"
            )


def positive_whole(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A whole number from 1 (a bool is refused, though Python counts it as an int)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(attribute.name, f"must be a whole number from 1, not {value!r}")


def whole_number(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Any whole number, zero and negatives included (a bool is refused)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(attribute.name, f"must be a whole number, not {value!r}")


def optional_number(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A finite Decimal or ``None``."""
    if value is not None:
        number(instance, attribute, value)


#: Validators that look at nothing but their own value. A command that leaves such a field as it
#: was need not check it again (see ``Aggregate._next``); any other validator may read other
#: fields, so it runs on every change.
SELF_CONTAINED: set[Validator] = {
    identifier,
    optional_identifier,
    text,
    any_text,
    optional_text,
    aware_datetime,
    date,
    optional_date,
    number,
    non_negative,
    ids,
    texts,
    positive_whole,
    whole_number,
    optional_number,
}
#: Validators of a tuple that check each item alone: appending items needs only the new ones
#: checked, which keeps a command's cost flat however long the tuple has grown.
ITEMWISE: set[Validator] = set()


def _self_contained(validator: Validator) -> Validator:
    SELF_CONTAINED.add(validator)
    return validator
