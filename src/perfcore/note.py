"""Note: continuous feedback outside a cycle, a note or praise on a person, a goal or a criterion.

Anyone the policy admits writes one (by default about anyone but themselves); it is
``shared`` with the person it is about, or ``private`` to their managers up the line and HR
(see :mod:`perfcore.reading`). Its author may change its words or withdraw it, saying why. The
evaluator of the person's next evaluation sees the notes about them from the evaluation's
period beside it (:meth:`perfcore.services.notes.NoteService.for_evaluation`).

What a note is about is checked by the services against the store: a goal's note is about the
goal's owner, a criterion's names one of the criteria of a job description of the person's.

>>> import datetime as dt
>>> from perfcore import Actor
>>> at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
>>> note = Note.create(id="n-1", by=Actor(id="bo"), at=at, author_id="bo", subject_id="ana",
...     kind="praise", text="Took my on-call shift at a day's notice.")
>>> note.state, note.visibility, note.given_on
(<NoteState.GIVEN: 'given'>, <Visibility.SHARED: 'shared'>, datetime.date(2026, 3, 2))
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, TypedDict, Unpack

import attrs

from perfcore._aggregate import Aggregate, check_reason
from perfcore._validate import (
    identifier,
    optional_identifier,
    optional_short_text,
    reads,
    text,
    to_enum,
)
from perfcore.actor import Actor, Role
from perfcore.errors import ValidationError
from perfcore.lifecycle import Lifecycle, Step, register
from perfcore.policy import Policy
from perfcore.rules import has_role, is_person, never

__all__ = ["About", "Note", "NoteKind", "NoteState", "Visibility"]


class NoteState(enum.StrEnum):
    """Where a note is in its lifecycle."""

    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class NoteKind(enum.StrEnum):
    """A note, or praise."""

    NOTE = "note"
    PRAISE = "praise"


class About(enum.StrEnum):
    """What a note is about: the person, one of their goals, or a criterion of their job."""

    PERSON = "person"
    GOAL = "goal"
    CRITERION = "criterion"


class Visibility(enum.StrEnum):
    """Who besides its author, the person's managers up the line and HR reads a note."""

    #: The person it is about reads it too.
    SHARED = "shared"
    #: Nobody else.
    PRIVATE = "private"


def _state(value: object) -> NoteState:
    return to_enum(NoteState, "state")(value)


def _kind(value: object) -> NoteKind:
    return to_enum(NoteKind, "kind")(value)


def _about(value: object) -> About:
    return to_enum(About, "about")(value)


def _visibility(value: object) -> Visibility:
    return to_enum(Visibility, "visibility")(value)


@reads("about", "goal_id", "job_description_id")
def _what_it_is_about(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    about = instance.about
    if (about is About.GOAL) != (instance.goal_id is not None):
        raise ValidationError("goal_id", "a note about a goal names the goal, and no other does")
    if (about is About.CRITERION) != (value is not None):
        raise ValidationError(
            attribute.name, "a note about a criterion names the criterion, and no other does"
        )
    if (about is About.CRITERION) != (instance.job_description_id is not None):
        raise ValidationError(
            "job_description_id",
            "a note about a criterion names its job description, and no other does",
        )


@attrs.frozen(kw_only=True)
class Note(Aggregate):
    """A note or praise about a person. Create one with :meth:`Note.create`."""

    state: NoteState = attrs.field(default=NoteState.GIVEN, converter=_state)
    author_id: str = attrs.field(validator=identifier)
    subject_id: str = attrs.field(validator=identifier)
    kind: NoteKind = attrs.field(default=NoteKind.NOTE, converter=_kind)
    about: About = attrs.field(default=About.PERSON, converter=_about)
    goal_id: str | None = attrs.field(default=None, validator=optional_identifier)
    job_description_id: str | None = attrs.field(default=None, validator=optional_identifier)
    criterion: str | None = attrs.field(
        default=None, validator=[optional_short_text, _what_it_is_about]
    )
    text: str = attrs.field(validator=text)
    visibility: Visibility = attrs.field(default=Visibility.SHARED, converter=_visibility)

    @property
    def given_on(self) -> dt.date | None:
        """The day it was written."""
        return None if self.created_at is None else self.created_at.date()

    @classmethod
    def create(
        cls,
        *,
        id: str,
        by: Actor,
        at: dt.datetime,
        author_id: str,
        subject_id: str,
        text: str,
        kind: NoteKind | str = NoteKind.NOTE,
        about: About | str | None = None,
        goal_id: str | None = None,
        job_description_id: str | None = None,
        criterion: str | None = None,
        visibility: Visibility | str = Visibility.SHARED,
        policy: Policy | None = None,
    ) -> Note:
        """Write a note about ``subject_id`` (by its author, never about themselves).

        ``about`` defaults to what is named: a goal, a criterion, else the person.

        Raises:
            ValidationError: a field has the wrong type or an impossible value.
            PermissionDenied: ``by`` is not the author, or writes about themselves.
        """
        if about is None:
            about = (
                About.GOAL
                if goal_id is not None
                else About.CRITERION
                if criterion is not None
                else About.PERSON
            )
        fields = {
            "author_id": author_id,
            "subject_id": subject_id,
            "kind": kind,
            "about": about,
            "goal_id": goal_id,
            "job_description_id": job_description_id,
            "criterion": criterion,
            "text": text,
            "visibility": visibility,
        }
        return cls._create(id=id, by=by, at=at, fields=fields, policy=policy)

    def edit(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        policy: Policy | None = None,
        **fields: Unpack[NoteEdits],
    ) -> Note:
        """Change its words, or who besides the managers may read it (its author)."""
        return self._edit(fields, _EDITABLE, by=by, at=at, policy=policy)

    def withdraw(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> Note:
        """Withdraw it, saying why (its author, or HR)."""
        check_reason(reason, required=True)
        return self._execute("withdraw", by=by, at=at, reason=reason, policy=policy)


class NoteEdits(TypedDict, total=False):
    """The fields :meth:`Note.edit` may change, and what each takes: the one
    declaration of them (see :mod:`perfcore.commands`)."""

    text: str
    visibility: Visibility | str


_EDITABLE = frozenset(NoteEdits.__annotations__)

_author = is_person("author_id", "its author")
_subject = is_person("subject_id", "the person it is about")

LIFECYCLE = Lifecycle(
    name="Note",
    states=[state.value for state in NoteState],
    initial=NoteState.GIVEN.value,
    create_rule=_author & never(_subject),
    steps=[
        Step(trigger="edit", sources=["given"], dest="given", who=_author),
        Step(
            trigger="withdraw",
            sources=["given"],
            dest="withdrawn",
            who=_author | has_role(Role.HR),
        ),
    ],
)
Note.lifecycle = LIFECYCLE
register(Note, LIFECYCLE)
