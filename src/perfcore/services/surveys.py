"""The Survey service: anonymous surveys, with answers kept apart from who gave them.

A survey's population is the directory's, on the day it opens (:meth:`SurveyService.open`);
each person asked answers once (:meth:`SurveyService.respond`). What the store keeps of an
answer, and where, is the design docs/surveys.md argues:

- the survey's stream holds **who took part** (the ``respond`` events: their actor and time)
  and, in separate ``release_answers`` events fired by the ballot box
  (:data:`~perfcore.survey.BALLOT_BOX`), **what was answered**, in shuffled batches of at
  least the anonymity threshold;
- until a batch is whole, answers wait in the survey's **ballot box**: one record of the
  unit of work's snapshot store (kind :data:`BOX`), rewritten by each answer, holding the
  waiting answers sorted by their content, with no actor, no time and no order of arrival. It
  is written in the same unit of work as the participation, so an answer is kept exactly when
  its participation is, and a second answer is refused;
- a respond request's idempotency fingerprint covers the survey and the respondent, never the
  replies (a hash of a few scores could be inverted by trying them all).

>>> import datetime as dt
>>> from perfcore import Actor, MemoryDirectory, Question, Reply
>>> from perfcore.adapters.memory import MemoryStore
>>> from perfcore.services import Perfcore
>>> org = MemoryDirectory()
>>> org.place("mia", on=dt.date(2020, 1, 1), department="Support", roles={"employee", "manager"})
>>> org.place("hana", on=dt.date(2020, 1, 1), roles={"employee", "hr"})
>>> for person in ("ana", "bo", "cy"):
...     org.place(person, on=dt.date(2024, 1, 1), manager_id="mia", department="Support")
>>> class Clock:
...     def now(self):
...         return dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
>>> pc = Perfcore(MemoryStore(), clock=Clock(), directory=org)
>>> _ = pc.surveys.create(by="mia", id="s-1", title="Team health", manager_id="mia",
...     questions=[Question(key="clear", text="My goals are clear")],
...     opens_on=dt.date(2026, 3, 2), closes_on=dt.date(2026, 3, 13))
>>> pc.surveys.open("s-1", by="mia").asked                 # the directory's people
3
>>> for person, score in (("ana", 4), ("bo", 5), ("cy", 3)):
...     view = pc.surveys.respond("s-1", by=person, replies=[Reply(question="clear", score=score)])
>>> view.took_part, view.responses
(True, 3)
>>> [event.trigger for event in pc.history("Survey", "s-1", by="hana")][-4:]
['respond', 'respond', 'respond', 'release_answers']
>>> pc.surveys.results("s-1", by="mia") is None              # not released to her yet
True
>>> _ = pc.surveys.close("s-1", by="mia")
>>> _ = pc.surveys.release("s-1", by="mia")
>>> pc.surveys.results("s-1", by="mia").questions[0].mean
Decimal('4.00')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from perfcore._codec import canonical_json, from_json_data, to_json_data
from perfcore._validate import check_date, check_id, check_sequence
from perfcore.actor import Actor, Role
from perfcore.errors import ConcurrencyError, NotFound, PermissionDenied, ValidationError
from perfcore.evaluation import Evaluation
from perfcore.ports import Snapshot, SnapshotStore
from perfcore.reading import HISTORY
from perfcore.repositories import Repositories
from perfcore.services._commands import SurveyCommands
from perfcore.services._runner import ATTEMPTS, Session
from perfcore.survey import (
    _EDITABLE,
    BALLOT_BOX,
    Ballot,
    Question,
    Reply,
    Scope,
    Survey,
    SurveyResults,
    SurveyState,
)

__all__ = ["BOX", "DepartmentResults", "SurveyService", "SurveyView", "survey_view"]

#: The snapshot kind of a survey's ballot box: the answers waiting for a whole batch.
BOX = "SurveyBallotBox"

#: The states in which a survey's results are shown to the manager and the people asked.
_SHOWN = frozenset({SurveyState.RELEASED})


@attrs.frozen(kw_only=True)
class SurveyView:
    """A survey as anyone but HR sees it: never who took part, nor any answer below the
    threshold.

    Attributes:
        asked: how many people were asked (0 before it opens).
        responses: how many have answered.
        took_part: whether the reader has.
        results: the results, once released to the reader (and at or above the threshold).
    """

    id: str
    state: SurveyState
    title: str
    scope: Scope
    manager_id: str
    department: str | None
    questions: tuple[Question, ...]
    opens_on: dt.date
    closes_on: dt.date
    asked: int
    responses: int
    took_part: bool
    results: SurveyResults | None


@attrs.frozen(kw_only=True)
class DepartmentResults:
    """The released surveys of one department, rolled up.

    Attributes:
        answers: the answers released over all of them.
        score: their scale replies' mean share of the way up each scale (0..1), weighted by
            answers; ``None`` without any.
    """

    department: str
    answers: int
    score: Decimal | None
    surveys: tuple[SurveyResults, ...]


def survey_view(survey: Survey, reader: Actor) -> Survey | SurveyView:
    """What ``reader``, who may read ``survey``, is shown of it: HR the survey itself (who took
    part among it); anyone else a :class:`SurveyView`, with the results once released."""
    if Role.HR in reader.roles:
        return survey
    return SurveyView(
        id=survey.id,
        state=survey.state,
        title=survey.title,
        scope=survey.scope,
        manager_id=survey.manager_id,
        department=survey.department,
        questions=survey.questions,
        opens_on=survey.opens_on,
        closes_on=survey.closes_on,
        asked=len(survey.population),
        responses=len(survey.participants),
        took_part=survey.took_part(reader.id),
        results=survey.results() if survey.state in _SHOWN else None,
    )


# -- the ballot box -------------------------------------------------------------------------------


def _box(snapshots: SnapshotStore, survey_id: str) -> tuple[int, list[Ballot]]:
    """The box's version and the answers waiting in it."""
    found = snapshots.get(BOX, survey_id)
    if found is None:
        return 0, []
    waiting = json.loads(found.data.decode("utf-8"))
    return found.version, [from_json_data(item, Ballot) for item in waiting]


def _waiting_for(snapshots: SnapshotStore, survey: Survey) -> tuple[int, list[Ballot]]:
    """The box of ``survey`` as loaded: its version and the answers waiting in it, which are
    exactly the answers given and not released (``survey.withheld``) while it is open.

    Raises:
        ConcurrencyError: the box was written by an answer committed after ``survey`` was read
            (a store whose reads are not one snapshot): the command is run again on both anew.
    """
    version, waiting = _box(snapshots, survey.id)
    expected = survey.withheld if survey.state is SurveyState.OPEN else 0
    if len(waiting) != expected:
        raise ConcurrencyError("Survey", survey.id, survey.version, None)
    return version, waiting


def _put_box(snapshots: SnapshotStore, survey_id: str, version: int, ballots: list[Ballot]) -> None:
    """Rewrite the box: its answers sorted by their content, so the record says nothing of
    the order they came in."""
    items = sorted((to_json_data(ballot) for ballot in ballots), key=canonical_json)
    data = canonical_json(items).encode("utf-8")
    snapshots.put(Snapshot(kind=BOX, id=survey_id, version=version + 1, schema=1, data=data))


def _release(session: Session, survey: Survey, ballots: list[Ballot], key: bytes) -> Survey:
    """Fire ``release_answers`` for ``ballots``, shuffled, as the ballot box.

    The box holds them sorted by their content, so their arrival is gone before the shuffle;
    the shuffle is seeded by the survey, the batch's place and the audit key, so that every
    store (and a run compared with a reference store) releases one batch in one order."""
    batch = sorted(ballots, key=lambda ballot: canonical_json(to_json_data(ballot)))
    seed = canonical_json([survey.id, len(survey.ballots)]).encode("utf-8")
    random.Random(hashlib.sha256(key + seed).digest()).shuffle(batch)
    return survey.release_answers(
        by=Actor(id=BALLOT_BOX), at=session.at, ballots=batch, policy=session.policy
    )


# -- the service ----------------------------------------------------------------------------------


class SurveyService(SurveyCommands):
    """Surveys: draft, open to the directory's people, answer once, close, release results."""

    kind = Survey
    view_name = "Survey | SurveyView"
    id_argument = "survey_id"
    editable = _EDITABLE

    def _shown(self, obj: Survey, reader: Actor) -> Survey | SurveyView:
        """HR gets the survey (who took part among it); anyone else a :class:`SurveyView`."""
        return survey_view(obj, reader)

    def _result(self, obj: Survey, by: Actor | str) -> Survey | SurveyView:
        return self._shown(obj, self._runner.reader(by))

    def create(
        self,
        *,
        by: Actor | str,
        title: str,
        manager_id: str,
        questions: Sequence[Question],
        opens_on: dt.date,
        closes_on: dt.date,
        scope: Scope | str = Scope.REPORTS,
        id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Survey | SurveyView:
        """Draft a survey of ``manager_id``'s reports, team or department (HR, or that
        manager; see :meth:`perfcore.survey.Survey.create`)."""
        check_id("manager_id", manager_id)
        directory = self._runner.directory
        if directory is not None and directory.person(manager_id, self._today()) is None:
            raise ValidationError("manager_id", f"{manager_id!r} is not in the organisation")
        fields = {
            "title": title,
            "manager_id": manager_id,
            "questions": questions,
            "opens_on": opens_on,
            "closes_on": closes_on,
            "scope": scope,
        }
        return self._create(id=id, by=by, fields=fields, idempotency_key=idempotency_key)

    def open(
        self,
        survey_id: str,
        *,
        by: Actor | str,
        population: Iterable[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Survey | SurveyView:
        """Open the survey to its population: with a directory, the people below its manager
        on the day (by its scope), and the manager's department; without one (tests, demos),
        the ``population`` given.

        Raises:
            ValidationError: a ``population`` given with a directory (the directory decides),
                or none without one.
            GuardFailed: fewer people than the anonymity threshold would be asked.
        """
        check_id(self.id_argument, survey_id)
        directory = self._runner.directory
        if directory is not None and population is not None:
            raise ValidationError("population", "the directory decides who is asked: give none")
        given: tuple[str, ...] | None = None
        if directory is None:
            if population is None:
                raise ValidationError("population", "without a directory, name who is asked")
            if isinstance(population, str | bytes) or not isinstance(population, Iterable):
                raise ValidationError("population", "must be a collection of ids")
            given = tuple(check_id("population", person) for person in population)

        def work(session: Session) -> Survey:
            actor = session.actor(by)
            survey = session.load_for(actor, Survey, survey_id)
            if given is None:
                people, department = self._population(survey, session.at.date())
            else:
                people, department = frozenset(given), None
            return session.changed(
                survey.open(
                    by=actor,
                    at=session.at,
                    population=people,
                    department=department,
                    threshold=session.policy.evaluation.anonymity_threshold,
                    policy=session.policy,
                )
            )

        args = {"id": survey_id, "by": by, "population": given}
        return self._run("open", args, work, idempotency_key)

    def _population(self, survey: Survey, on: dt.date) -> tuple[frozenset[str], str | None]:
        """Who is below the survey's manager on day ``on``, by its scope, and the manager's
        department: the directory's, never the caller's."""
        directory = self._runner.directory
        assert directory is not None
        manager = directory.person(survey.manager_id, on)
        if manager is None:
            raise ValidationError("manager_id", f"{survey.manager_id!r} has left the organisation")
        if survey.scope is Scope.REPORTS:
            return frozenset(directory.reports(survey.manager_id, on)), manager.department
        found: set[str] = set()
        waiting = [survey.manager_id]
        while waiting:
            for person in directory.reports(waiting.pop(), on):
                if person not in found and person != survey.manager_id:
                    found.add(person)
                    waiting.append(person)
        if survey.scope is Scope.DEPARTMENT:
            found = {
                person
                for person in found
                if (someone := directory.person(person, on)) is not None
                and someone.department == manager.department
            }
        return frozenset(found), manager.department

    def respond(
        self,
        survey_id: str,
        *,
        by: Actor | str,
        replies: Sequence[Reply],
        idempotency_key: str | None = None,
    ) -> Survey | SurveyView:
        """Answer the survey, once: the participation is recorded under your name, the replies
        apart from it, without it (see the module's docstring).

        Raises:
            NotFound: no survey ``survey_id`` you may read.
            PermissionDenied: you were not asked, or have answered already.
            ValidationError: the replies do not answer its questions.
        """
        check_id(self.id_argument, survey_id)
        given = check_sequence("replies", replies)

        def work(session: Session) -> Survey:
            actor = session.actor(by)
            survey = session.load_for(actor, Survey, survey_id)
            answered = survey.respond(by=actor, at=session.at, replies=given, policy=session.policy)
            ballot = Ballot(replies=survey.check_replies(given))
            snapshots = session.uow.snapshots
            version, waiting = _waiting_for(snapshots, survey)
            waiting.append(ballot)
            if len(waiting) >= max(1, answered.threshold):
                answered = _release(session, answered, waiting, self._runner.audit_key or b"")
                waiting = []
            _put_box(snapshots, survey_id, version, waiting)
            return session.changed(answered)

        # The fingerprint names the survey and the respondent, never the replies.
        return self._again("respond", survey_id, {"id": survey_id, "by": by}, work, idempotency_key)

    def _again(
        self,
        trigger: str,
        id: str,
        args: dict[str, Any],
        work: Callable[[Session], Survey],
        idempotency_key: str | None,
    ) -> Survey | SurveyView:
        """Run a command that writes the ballot box; when another answer to the same survey
        committed first, run it again: every rule is checked again on the fresh survey, and
        the box is read again with it."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._run(trigger, args, work, idempotency_key)
            except ConcurrencyError as conflict:
                if conflict.aggregate_id != id or attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(
        self,
        survey_id: str,
        *,
        by: Actor | str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Survey | SurveyView:
        """Stop taking answers. Answers still waiting for a batch are never released: they are
        dropped from the ballot box, and the survey counts them (``withheld``)."""
        check_id(self.id_argument, survey_id)

        def work(session: Session) -> Survey:
            actor = session.actor(by)
            survey = session.load_for(actor, Survey, survey_id)
            closed = survey.close(by=actor, at=session.at, reason=reason, policy=session.policy)
            snapshots = session.uow.snapshots
            version, waiting = _waiting_for(snapshots, survey)
            if waiting:
                _put_box(snapshots, survey_id, version, [])
            return session.changed(closed)

        args = {"id": survey_id, "by": by, "reason": reason}
        return self._again("close", survey_id, args, work, idempotency_key)

    # -- results --------------------------------------------------------------------------------

    def results(self, id: str, *, by: Actor | str) -> SurveyResults | None:
        """The survey's results as ``by`` may see them: HR's at any time, everyone else's once
        released; ``None`` before that, or while fewer answers than the threshold are released.

        Raises:
            NotFound: no survey ``id`` that ``by`` may read.
        """
        found = self.get(id, by=by)
        return found.results() if isinstance(found, Survey) else found.results

    def by_department(self, *, by: Actor | str) -> tuple[DepartmentResults, ...]:
        """Every released survey's results that ``by`` may read, rolled up by department (the
        manager's on the day the survey opened), sorted by department. Linear in the released
        surveys."""
        reader = self._runner.reader(by)
        policy = self._runner.policy

        def work(uow: Repositories) -> list[Survey]:
            return [
                survey
                for survey in uow.of("Survey").by_state(SurveyState.RELEASED)
                if survey.department is not None and policy.may_read(reader, "Survey", survey)
            ]

        grouped: dict[str, list[SurveyResults]] = {}
        for survey in self._runner.read(work):
            results = survey.results()
            if results is not None and survey.department is not None:
                grouped.setdefault(survey.department, []).append(results)
        return tuple(_rolled_up(name, grouped[name]) for name in sorted(grouped))

    def second_opinion(self, evaluation_id: str, *, by: Actor | str) -> tuple[SurveyResults, ...]:
        """The released results of the surveys of an evaluation's subject's people (the
        surveys whose manager is the subject) that opened in the evaluation's period: a
        manager's second opinion, as one feedback group each. For the evaluator, HR and the
        subject; each is at or above the threshold, none is by person.

        Raises:
            NotFound: no evaluation ``evaluation_id`` that ``by`` may read.
            PermissionDenied: ``by`` is a reviewer of it, not its evaluator, HR or subject.
        """
        check_id("evaluation_id", evaluation_id)
        reader = self._runner.reader(by)
        policy = self._runner.policy

        def work(uow: Repositories) -> tuple[SurveyResults, ...]:
            evaluation = uow.of("Evaluation").find(evaluation_id)
            if evaluation is None or not policy.may_read(reader, "Evaluation", evaluation):
                raise NotFound("Evaluation", evaluation_id, reader.id)
            assert isinstance(evaluation, Evaluation)
            if reader.id != evaluation.subject_id and not policy.permits(
                reader, "Evaluation", evaluation, HISTORY
            ):
                raise PermissionDenied(
                    reader.id, "Evaluation", evaluation_id, "second_opinion",
                    "the evaluator, HR or the subject",
                )  # fmt: skip
            found = []
            for survey in uow.streams.find("Survey", "manager", evaluation.subject_id):
                assert isinstance(survey, Survey)
                if survey.state not in _SHOWN:
                    continue
                if not evaluation.period_start <= survey.opens_on <= evaluation.period_end:
                    continue
                results = survey.results()
                if results is not None:
                    found.append(results)
            return tuple(sorted(found, key=lambda results: results.survey_id))

        return self._runner.read(work)

    def _today(self) -> dt.date:
        return check_date("today", self._runner.clock.now().date())


def _rolled_up(department: str, surveys: list[SurveyResults]) -> DepartmentResults:
    answers = sum(results.answers for results in surveys)
    weighted = [
        (results.score, results.answers) for results in surveys if results.score is not None
    ]
    weight = sum(count for _score, count in weighted)
    score = (
        (sum((score * count for score, count in weighted), Decimal(0)) / weight).quantize(
            Decimal("0.01")
        )
        if weight
        else None
    )
    return DepartmentResults(
        department=department,
        answers=answers,
        score=score,
        surveys=tuple(sorted(surveys, key=lambda results: results.survey_id)),
    )
