"""Strategies for notes: continuous feedback, a note or praise about someone, in any state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from hypothesis import strategies as st

from perfcore.actor import Actor
from perfcore.note import Note, NoteKind, NoteState, Visibility
from perfcore.testing.strategies._common import (
    Ranges,
    aware_datetimes,
    choice,
    employee,
    hr,
    ids,
    manager,
    outsider,
    people,
    reasons,
)
from perfcore.testing.strategies._engine import (
    Arguments,
    Kit,
    checked_states,
    reached,
    register,
)

__all__ = ["notes"]

_TEXTS = st.sampled_from(
    ("Took my on-call shift at a day's notice.", "Missed two stand-ups.", "Great handover.")
)


def notes(
    states: Iterable[NoteState | str] | None = None,
    *,
    actors: Iterable[Actor] | None = None,
    ranges: Ranges | None = None,
) -> st.SearchStrategy[Note]:
    """Notes and praise in any state (or one of ``states``), built by real commands.

    .. versionadded:: 0.2.0
    """
    return reached(KIT, checked_states(KIT, states), actors=actors, ranges=ranges)


class NoteKit(Kit[Note]):
    """A note by one person about another; HR withdraws too; the subject may not edit it."""

    kind = Note

    def create(self, draw: st.DrawFn) -> Note:
        author = draw(people(), label="author")
        return Note.create(
            id=draw(ids("note"), label="id"),
            by=employee(author),
            at=draw(aware_datetimes(), label="at"),
            author_id=author,
            subject_id=draw(people(exclude={author}), label="subject"),
            kind=draw(st.sampled_from(list(NoteKind)), label="kind"),
            text=draw(_TEXTS, label="text"),
            visibility=draw(st.sampled_from(list(Visibility)), label="visibility"),
        )

    def cast(self, obj: Note) -> tuple[Actor, ...]:
        named = {obj.author_id, obj.subject_id}
        return (
            employee(obj.author_id),
            employee(obj.subject_id),
            hr(besides=named),
            manager(outsider(named)),
        )

    def arguments(
        self, draw: st.DrawFn, obj: Note, trigger: str, dest: str | None, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return {"text": draw(_TEXTS, label="text")}
        return {"reason": draw(reasons(), label="reason")}

    def wild_arguments(
        self, draw: st.DrawFn, obj: Note, trigger: str, at: dt.datetime
    ) -> Arguments:
        if trigger == "edit":
            return choice(draw, ({}, {"text": " "}, {"subject_id": "zed"}))
        return {"reason": choice(draw, ("", "posted twice"))}


KIT = NoteKit()
register(KIT)
