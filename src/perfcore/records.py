"""Small records that several aggregates share."""

from __future__ import annotations

import datetime as dt

import attrs

from perfcore._validate import any_text, aware_datetime, identifier

__all__ = ["Acknowledgement"]


@attrs.frozen(kw_only=True)
class Acknowledgement:
    """A person's acknowledgement (of a plan, of an evaluation's result): who, when, and what
    they added, if anything."""

    by: str = attrs.field(validator=identifier)
    at: dt.datetime = attrs.field(validator=aware_datetime)
    comment: str = attrs.field(default="", validator=any_text)
