"""Strategies for the small records several aggregates share (:mod:`perfcore.records`)."""

from __future__ import annotations

from hypothesis import strategies as st

from perfcore.records import Acknowledgement
from perfcore.testing.strategies._common import aware_datetimes, optional_text, people

__all__ = ["acknowledgements"]

COMMENTS = ("thanks, agreed", "I will raise the on-call work with HR")


def acknowledgements() -> st.SearchStrategy[Acknowledgement]:
    """A person's acknowledgement of a plan or of an evaluation's result: who, when, and
    sometimes a comment.

    .. versionadded:: 0.1.0
    """
    return st.builds(
        Acknowledgement, by=people(), at=aware_datetimes(), comment=optional_text(COMMENTS)
    )
