"""The one cattrs converter behind event payloads, JSON envelopes and the audit log.

Decimals travel as strings (exact), dates and datetimes as ISO 8601, enums as their values, sets as
sorted lists: the output is plain JSON data, stable from run to run.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import cattrs

from perfcore.errors import ValidationError

converter = cattrs.Converter()


def _datetime_from_iso(value: object, _type: object) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValidationError("datetime", f"{value!r} has no time zone")
    return moment


def _date_from_iso(value: object, _type: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return dt.date.fromisoformat(str(value))


def _decimal_from_text(value: object, _type: object) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, str | int | Decimal):
        raise ValidationError("number", f"expected a decimal string, not {value!r}")
    try:
        return Decimal(value)
    except ArithmeticError:
        raise ValidationError("number", f"{value!r} is not a decimal number") from None


def _sorted_list(value: frozenset[Any] | set[Any]) -> list[Any]:
    items = [converter.unstructure(item) for item in value]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


converter.register_unstructure_hook(dt.datetime, lambda value: value.isoformat())
converter.register_structure_hook(dt.datetime, _datetime_from_iso)
converter.register_unstructure_hook(dt.date, lambda value: value.isoformat())
converter.register_structure_hook(dt.date, _date_from_iso)
converter.register_unstructure_hook(Decimal, str)
converter.register_structure_hook(Decimal, _decimal_from_text)
converter.register_unstructure_hook(frozenset, _sorted_list)
converter.register_unstructure_hook(set, _sorted_list)


#: Types whose values are their own JSON data: :func:`to_json_data` returns them as they are,
#: without a walk through the converter (the most common field values of an event).
_PLAIN: frozenset[type] = frozenset({str, int, bool, float, type(None)})


def to_json_data(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, strings, numbers, booleans, None)."""
    if type(value) in _PLAIN:
        return value
    return converter.unstructure(value)


def from_json_data(data: Any, kind: Any) -> Any:
    """Rebuild a value of type ``kind`` from what :func:`to_json_data` made."""
    return converter.structure(data, kind)


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(data: Any) -> str:
    """One spelling of ``data`` as JSON: sorted keys, no spaces, UTF-8 kept as is."""
    return _ENCODER.encode(data)


def canonical_json_of(value: Any) -> str:
    """``canonical_json(to_json_data(value))``, without the converter's walk when ``value`` is
    JSON data already (an event's payload is: it was made by :func:`to_json_data`).

    The JSON encoder refuses anything that is not plain JSON data (a ``Decimal``, a date, a set,
    an attrs object) with ``TypeError``; such a value then goes through the converter. For
    plain data the two spellings are the same: the converter returns plain data as it is, and a
    ``StrEnum`` or ``IntEnum`` member is written as its value either way.
    """
    try:
        return _ENCODER.encode(value)
    except TypeError:
        return _ENCODER.encode(converter.unstructure(value))


def _is_set_type(kind: Any) -> bool:
    return getattr(kind, "__origin__", None) in (frozenset, set)


# A typed set field (``audience: frozenset[str]``) reaches cattrs's own collection hook, which
# keeps the set (not JSON data) rather than the runtime hook above; this makes it a sorted list.
converter.register_unstructure_hook_func(_is_set_type, _sorted_list)
