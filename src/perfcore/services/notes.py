"""The Note service: continuous feedback, a note or praise on a person, a goal or a criterion.

What a note is about is taken from the store, not from the caller: a goal's note is about the
goal's owner (whom its writer must be able to read the goal of), a criterion's names one of the
criteria of a job description that is the person's own or a role's; with a directory, the person
must be in the organisation that day. Each note is read as :mod:`perfcore.reading` allows, and
the evaluator of a person's evaluation sees those written in its period
(:meth:`NoteService.for_evaluation`).

>>> import datetime as dt
>>> from perfcore import Actor
>>> from perfcore.adapters.memory import MemoryStore
>>> from perfcore.services import Perfcore
>>> class Clock:
...     def now(self):
...         return dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
>>> pc = Perfcore(MemoryStore(), clock=Clock())
>>> bo = Actor(id="bo")
>>> note = pc.notes.create(by=bo, id="n-1", subject_id="ana", kind="praise",
...     text="Took my on-call shift at a day's notice.")
>>> [n.id for n in pc.notes.about("ana", by=Actor(id="ana"))]    # shared with her
['n-1']
>>> pc.notes.withdraw("n-1", by=bo, reason="posted twice").state
<NoteState.WITHDRAWN: 'withdrawn'>
"""

from __future__ import annotations

import datetime as dt

from perfcore._validate import check_id, check_optional_date, check_optional_id
from perfcore.actor import Actor
from perfcore.errors import NotFound, PermissionDenied, ValidationError
from perfcore.evaluation import Evaluation
from perfcore.goal import Goal
from perfcore.job_description import JobDescription
from perfcore.note import _EDITABLE, Note, NoteKind, NoteState, Visibility
from perfcore.reading import HISTORY
from perfcore.repositories import Repositories
from perfcore.services._commands import NoteCommands
from perfcore.services._runner import Session

__all__ = ["NoteService"]


class NoteService(NoteCommands):
    """Notes and praise: create, edit, withdraw; listed by person and beside an evaluation."""

    kind = Note
    id_argument = "note_id"
    editable = _EDITABLE

    def create(
        self,
        *,
        by: Actor | str,
        text: str,
        subject_id: str | None = None,
        kind: NoteKind | str = NoteKind.NOTE,
        goal_id: str | None = None,
        job_description_id: str | None = None,
        criterion: str | None = None,
        visibility: Visibility | str = Visibility.SHARED,
        id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Note:
        """Write a note or praise about a person (``subject_id``), one of their goals
        (``goal_id``: the note is about its owner) or a criterion of their job
        (``job_description_id`` and ``criterion``).

        Raises:
            NotFound: the goal or job description is not one ``by`` may read.
            ValidationError: ``subject_id`` is not the goal's owner, the criterion is not the
                description's, the description is someone else's, or (with a directory) the
                person is not in the organisation.
            PermissionDenied: ``by`` writes about themselves.
        """
        check_optional_id("subject_id", subject_id)
        check_optional_id("goal_id", goal_id)
        check_optional_id("job_description_id", job_description_id)
        check_optional_id("id", id)
        if (job_description_id is None) != (criterion is None):
            raise ValidationError("criterion", "name a criterion and its job description together")
        if goal_id is not None and criterion is not None:
            raise ValidationError("goal_id", "a note is about a goal or a criterion, not both")

        def work(session: Session) -> Note:
            actor = session.actor(by)
            subject = subject_id
            if goal_id is not None:
                goal = session.load_for(actor, Goal, goal_id)
                subject = _same("subject_id", subject, goal.owner_id, "the goal's owner")
            if job_description_id is not None:
                description = session.load_for(actor, JobDescription, job_description_id)
                names = {item.name for item in description.criteria}
                if criterion not in names:
                    raise ValidationError(
                        "criterion", f"{criterion!r} is not a criterion of {job_description_id!r}"
                    )
                if subject is None:
                    subject = description.employee_id
                if description.employee_id not in (None, subject):
                    raise ValidationError(
                        "job_description_id",
                        f"{job_description_id!r} is written for someone else",
                    )
            if subject is None:
                raise ValidationError("subject_id", "say whom the note is about")
            directory = self._runner.directory
            if directory is not None and directory.person(subject, session.at.date()) is None:
                raise ValidationError("subject_id", f"{subject!r} is not in the organisation")
            new_id = id if id is not None else session.new_id("Note")
            note = Note.create(
                id=new_id,
                by=actor,
                at=session.at,
                author_id=actor.id,
                subject_id=subject,
                text=text,
                kind=kind,
                goal_id=goal_id,
                job_description_id=job_description_id,
                criterion=criterion,
                visibility=visibility,
                policy=session.policy,
            )
            return session.changed(note)

        args = {
            "id": id,
            "by": by,
            "text": text,
            "subject_id": subject_id,
            "kind": kind,
            "goal_id": goal_id,
            "job_description_id": job_description_id,
            "criterion": criterion,
            "visibility": visibility,
        }
        return self._run("create", args, work, idempotency_key)

    # -- reading --------------------------------------------------------------------------------

    def about(
        self,
        person_id: str,
        *,
        by: Actor | str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        include_withdrawn: bool = False,
    ) -> tuple[Note, ...]:
        """The notes about ``person_id`` that ``by`` may read, written from ``start`` to
        ``end`` (each included, when given), oldest first. Linear in the notes about them."""
        check_id("person_id", person_id)
        check_optional_date("start", start)
        check_optional_date("end", end)
        if not isinstance(include_withdrawn, bool):
            raise ValidationError("include_withdrawn", "must be True or False")
        reader = self._runner.reader(by)
        return self._runner.read(
            lambda uow: _notes(uow, self, reader, person_id, start, end, include_withdrawn)
        )

    def for_evaluation(self, evaluation_id: str, *, by: Actor | str) -> tuple[Note, ...]:
        """The notes about an evaluation's subject written in its period that ``by`` may read,
        oldest first: what the evaluator weighs beside the evaluation. For those who may read
        its history (its evaluator and HR) and its subject (who sees only what is shared
        with them).

        Raises:
            NotFound: no evaluation ``evaluation_id`` that ``by`` may read.
            PermissionDenied: ``by`` is a reviewer of it, not its evaluator, HR or subject.
        """
        check_id("evaluation_id", evaluation_id)
        reader = self._runner.reader(by)
        policy = self._runner.policy

        def work(uow: Repositories) -> tuple[Note, ...]:
            evaluation = uow.of("Evaluation").find(evaluation_id)
            if evaluation is None or not policy.may_read(reader, "Evaluation", evaluation):
                raise NotFound("Evaluation", evaluation_id, reader.id)
            assert isinstance(evaluation, Evaluation)
            if reader.id != evaluation.subject_id and not policy.permits(
                reader, "Evaluation", evaluation, HISTORY
            ):
                raise PermissionDenied(
                    reader.id, "Evaluation", evaluation_id, "for_evaluation",
                    "the evaluator, HR or the subject",
                )  # fmt: skip
            return _notes(
                uow,
                self,
                reader,
                evaluation.subject_id,
                evaluation.period_start,
                evaluation.period_end,
                False,
            )

        return self._runner.read(work)


def _same(name: str, given: str | None, found: str, what: str) -> str:
    if given is not None and given != found:
        raise ValidationError(name, f"{given!r} is not {what}, {found!r}")
    return found


def _notes(
    uow: Repositories,
    service: NoteService,
    reader: Actor,
    person_id: str,
    start: dt.date | None,
    end: dt.date | None,
    include_withdrawn: bool,
) -> tuple[Note, ...]:
    policy = service._runner.policy
    found = []
    for note in uow.streams.find("Note", "subject", person_id):
        assert isinstance(note, Note)
        day = note.given_on
        if day is None or (start is not None and day < start) or (end is not None and day > end):
            continue
        if note.state is NoteState.WITHDRAWN and not include_withdrawn:
            continue
        if policy.may_read(reader, "Note", note):
            found.append(note)
    return tuple(sorted(found, key=lambda note: (note.created_at or dt.datetime.min, note.id)))
