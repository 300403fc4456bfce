"""Survey: an anonymous survey of a manager's reports, their whole team, or their department.

The people asked (the *population*) are who the directory says on the day the survey opens,
never a list the caller types in; each answers once. A survey stores **who took part** (to
refuse a second answer), and, apart from it, **what was answered**, never the two together:

- ``respond`` records the participation only: its event names the respondent and carries no
  answer. The answer waits, without a name, a time or an order, in the survey's *ballot box*
  (kept by the services: :mod:`perfcore.services.surveys`) until the box holds a batch.
- ``release_answers`` moves a whole batch (at least the anonymity threshold, shuffled) into
  the survey's record, fired by the ballot box itself (:data:`BALLOT_BOX`), never by a person.
- ``close`` ends the answering: answers still in the box, fewer than a batch, are never
  released (:attr:`Survey.withheld` counts them).

Results are computed per survey from the released answers, only once there are at least the
threshold of them, and never per person (there is nothing per person to compute them from).
docs/surveys.md argues what this proves.

>>> import datetime as dt
>>> from perfcore import Actor
>>> at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
>>> mia = Actor(id="mia", roles={"manager"})
>>> survey = Survey.create(id="s-1", by=mia, at=at, title="How is the team doing?",
...     manager_id="mia", scope="reports", opens_on=at.date(), closes_on=dt.date(2026, 3, 16),
...     questions=[Question(key="clear", text="My goals are clear"),
...                Question(key="better", text="What would help?", kind="text")])
>>> survey = survey.open(by=mia, at=at, population=["ana", "bo", "cy"], department="Support",
...     threshold=3)
>>> replies = [Reply(question="clear", score=4), Reply(question="better", text="fewer meetings")]
>>> survey = survey.respond(by=Actor(id="ana"), at=at, replies=replies)
>>> survey.participants, survey.ballots, survey.results() is None
(('ana',), (), True)
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, TypedDict, Unpack

import attrs

from perfcore._aggregate import Aggregate, Changes, check_reason
from perfcore._validate import (
    any_text,
    check_sequence,
    date,
    identifier,
    optional_identifier,
    short_text,
    text_length,
    to_enum,
    to_frozenset,
    to_tuple,
    tuple_of,
)
from perfcore.actor import Actor, Role
from perfcore.commands import fired_by, services_supply
from perfcore.errors import ValidationError
from perfcore.lifecycle import Command, Guard, Lifecycle, Step, register
from perfcore.policy import Policy
from perfcore.rules import Rule, has_role, is_person

__all__ = [
    "BALLOT_BOX",
    "Ballot",
    "Question",
    "QuestionKind",
    "QuestionResult",
    "Reply",
    "Scope",
    "Survey",
    "SurveyResults",
    "SurveyState",
]

#: The actor id of the ballot box, which alone releases answers: no person fires
#: ``release_answers`` (the services offer no such command).
BALLOT_BOX = "perfcore:ballot-box"


class SurveyState(enum.StrEnum):
    """Where a survey is in its lifecycle."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    RELEASED = "released"


class Scope(enum.StrEnum):
    """Whom a survey asks, below its manager in the directory on the day it opens."""

    #: The manager's direct reports.
    REPORTS = "reports"
    #: Everyone below the manager, all the way down.
    TEAM = "team"
    #: Everyone below the manager who is in the manager's department.
    DEPARTMENT = "department"


class QuestionKind(enum.StrEnum):
    """How a question is answered."""

    SCALE = "scale"
    TEXT = "text"


def _state(value: object) -> SurveyState:
    return to_enum(SurveyState, "state")(value)


def _scope(value: object) -> Scope:
    return to_enum(Scope, "scope")(value)


def _question_kind(value: object) -> QuestionKind:
    return to_enum(QuestionKind, "kind")(value)


def _scale_end(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or not 0 <= value <= 10:
        raise ValidationError(attribute.name, f"must be a whole number from 0 to 10, not {value!r}")


@attrs.frozen(kw_only=True)
class Question:
    """One question: on a scale from ``low`` to ``high`` (``kind="scale"``), or free text."""

    key: str = attrs.field(validator=identifier)
    text: str = attrs.field(validator=short_text)
    kind: QuestionKind = attrs.field(default=QuestionKind.SCALE, converter=_question_kind)
    low: int = attrs.field(default=1, validator=_scale_end)
    high: int = attrs.field(default=5, validator=_scale_end)
    #: Whether an answer must reply to it.
    required: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        if self.low >= self.high:
            raise ValidationError("high", f"must be above low ({self.low}), not {self.high}")


def _optional_score(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (type(value) is not int or not 0 <= value <= 10):
        raise ValidationError(attribute.name, f"must be a whole number from 0 to 10, not {value!r}")


@attrs.frozen(kw_only=True)
class Reply:
    """A reply to one question: a ``score`` on its scale, or a ``text``."""

    question: str = attrs.field(validator=identifier)
    score: int | None = attrs.field(default=None, validator=_optional_score)
    text: str = attrs.field(default="", validator=any_text)


@attrs.frozen(kw_only=True)
class Ballot:
    """One released answer: the replies of somebody who took part, without who, when, or in
    which order they answered."""

    replies: tuple[Reply, ...] = attrs.field(converter=to_tuple, validator=tuple_of(Reply))


@attrs.frozen(kw_only=True)
class QuestionResult:
    """What the released answers say to one question.

    Attributes:
        answered: how many answers reply to it.
        mean: the mean score (scale questions; ``None`` without a score).
        counts: how many answers gave each score from ``low`` to ``high`` (scale questions).
        texts: the free-text replies, sorted (text questions).
    """

    key: str
    text: str
    kind: QuestionKind
    answered: int
    mean: Decimal | None = None
    counts: tuple[int, ...] = ()
    texts: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class SurveyResults:
    """A survey's results, for its whole population: never shown below the threshold.

    Attributes:
        answers: how many answers were released.
        score: every scale reply on its question's scale, as a share of the way from ``low``
            to ``high`` (0..1), averaged; ``None`` without a scale reply. What a department's
            results roll up.
    """

    survey_id: str
    title: str
    manager_id: str
    department: str | None
    answers: int
    score: Decimal | None
    questions: tuple[QuestionResult, ...]


def _ids(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise ValidationError(attribute.name, "must be a tuple of ids")
    for item in value:
        identifier(None, attribute, item)


def _people(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, frozenset):
        raise ValidationError(attribute.name, "must be a set of ids")
    for item in value:
        identifier(None, attribute, item)


def _threshold(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 0:
        raise ValidationError(attribute.name, f"must be a whole number, not {value!r}")


_QUESTIONS = tuple_of(Question)


def _questions(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _QUESTIONS(_instance, attribute, value)
    keys = [question.key for question in value]  # type: ignore[attr-defined]
    if len(set(keys)) != len(keys):
        raise ValidationError(attribute.name, "two questions have the same key")


_QUANTUM = Decimal("0.01")


@attrs.frozen(kw_only=True)
class Survey(Aggregate):
    """An anonymous survey. Create one with :meth:`Survey.create`."""

    state: SurveyState = attrs.field(default=SurveyState.DRAFT, converter=_state)
    title: str = attrs.field(validator=short_text)
    #: Whose people are asked: the population is below them in the directory.
    manager_id: str = attrs.field(validator=identifier)
    scope: Scope = attrs.field(default=Scope.REPORTS, converter=_scope)
    questions: tuple[Question, ...] = attrs.field(converter=to_tuple, validator=_questions)
    opens_on: dt.date = attrs.field(validator=date)
    closes_on: dt.date = attrs.field(validator=date)
    #: Set when it opens: the manager's department that day.
    department: str | None = attrs.field(default=None, validator=optional_identifier)
    #: Set when it opens: who is asked, from the directory that day.
    population: frozenset[str] = attrs.field(
        factory=frozenset, converter=to_frozenset, validator=_people
    )
    #: Set when it opens: the anonymity threshold in force (the least batch, the least results).
    threshold: int = attrs.field(default=0, validator=_threshold)
    #: Who took part, in the order they did: never what they answered.
    participants: tuple[str, ...] = attrs.field(factory=tuple, converter=to_tuple, validator=_ids)
    #: The released answers, in the shuffled order of their batches: never who gave them.
    ballots: tuple[Ballot, ...] = attrs.field(
        factory=tuple, converter=to_tuple, validator=tuple_of(Ballot)
    )

    # -- reading --------------------------------------------------------------------------------

    @property
    def withheld(self) -> int:
        """Answers given but not released (yet: while open, those in the ballot box; once
        closed, those the box held at the close, fewer than a batch, never released)."""
        return len(self.participants) - len(self.ballots)

    def took_part(self, person_id: str) -> bool:
        """Whether ``person_id`` answered."""
        return person_id in self.participants

    def results(self) -> SurveyResults | None:
        """The results of the released answers, or ``None`` while fewer than the threshold
        (never fewer than one) are released."""
        if len(self.ballots) < max(1, self.threshold):
            return None
        questions = []
        shares: list[Decimal] = []
        for question in self.questions:
            replies = [
                reply for ballot in self.ballots for reply in ballot.replies
                if reply.question == question.key
            ]  # fmt: skip
            if question.kind is QuestionKind.TEXT:
                texts = tuple(sorted(reply.text for reply in replies if reply.text.strip()))
                questions.append(
                    QuestionResult(
                        key=question.key,
                        text=question.text,
                        kind=question.kind,
                        answered=len(texts),
                        texts=texts,
                    )
                )
                continue
            scores = [reply.score for reply in replies if reply.score is not None]
            counts = tuple(scores.count(level) for level in range(question.low, question.high + 1))
            mean = (Decimal(sum(scores)) / len(scores)).quantize(_QUANTUM) if scores else None
            span = Decimal(question.high - question.low)
            shares.extend(Decimal(score - question.low) / span for score in scores)
            questions.append(
                QuestionResult(
                    key=question.key,
                    text=question.text,
                    kind=question.kind,
                    answered=len(scores),
                    mean=mean,
                    counts=counts,
                )
            )
        score = (sum(shares, Decimal(0)) / len(shares)).quantize(_QUANTUM) if shares else None
        return SurveyResults(
            survey_id=self.id,
            title=self.title,
            manager_id=self.manager_id,
            department=self.department,
            answers=len(self.ballots),
            score=score,
            questions=tuple(questions),
        )

    def check_replies(self, replies: object) -> tuple[Reply, ...]:
        """``replies`` as an answer to this survey's questions: each question at most once, a
        required one always, a score on its scale or a text as its kind asks.

        Raises:
            ValidationError: they are not.
        """
        given = check_sequence("replies", replies)
        by_key = {question.key: question for question in self.questions}
        seen: set[str] = set()
        for position, reply in enumerate(given):
            name = f"replies[{position}]"
            if not isinstance(reply, Reply):
                raise ValidationError(name, f"must be a Reply, not {type(reply).__name__}")
            question = by_key.get(reply.question)
            if question is None:
                raise ValidationError(name, f"no question has the key {reply.question!r}")
            if reply.question in seen:
                raise ValidationError(name, f"replies to {reply.question!r} twice")
            seen.add(reply.question)
            if question.kind is QuestionKind.SCALE:
                if reply.score is None or not question.low <= reply.score <= question.high:
                    raise ValidationError(
                        name,
                        f"{reply.question!r} takes a score from {question.low} to"
                        f" {question.high}, not {reply.score!r}",
                    )
                if reply.text:
                    raise ValidationError(name, f"{reply.question!r} takes a score, not a text")
            else:
                if reply.score is not None:
                    raise ValidationError(name, f"{reply.question!r} takes a text, not a score")
                text_length(None, attrs.fields(Reply).text, reply.text)
        missing = [q.key for q in self.questions if q.required and q.key not in seen]
        if missing:
            raise ValidationError("replies", f"no reply to the required {', '.join(missing)}")
        # In the questions' order, so the ballot says nothing of the order they were typed in.
        order = {question.key: index for index, question in enumerate(self.questions)}
        return tuple(sorted(given, key=lambda reply: order[reply.question]))

    # -- creating -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        id: str,
        by: Actor,
        at: dt.datetime,
        title: str,
        manager_id: str,
        questions: Sequence[Question],
        opens_on: dt.date,
        closes_on: dt.date,
        scope: Scope | str = Scope.REPORTS,
        policy: Policy | None = None,
    ) -> Survey:
        """Draft a survey of ``manager_id``'s people (HR, or that manager).

        Raises:
            ValidationError: a field has the wrong type or an impossible value.
            PermissionDenied: ``by`` is neither HR nor the manager.
        """
        fields = {
            "title": title,
            "manager_id": manager_id,
            "scope": scope,
            "questions": check_sequence("questions", questions),
            "opens_on": opens_on,
            "closes_on": closes_on,
        }
        return cls._create(id=id, by=by, at=at, fields=fields, policy=policy)

    # -- commands -------------------------------------------------------------------------------

    def edit(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        policy: Policy | None = None,
        **fields: Unpack[SurveyEdits],
    ) -> Survey:
        """Change a draft's title, scope, questions or dates."""
        if "questions" in fields:
            fields["questions"] = check_sequence("questions", fields["questions"])
        return self._edit(fields, _EDITABLE, by=by, at=at, policy=policy)

    @services_supply("population", "department", "threshold")
    def open(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        population: Iterable[str],
        department: str | None,
        threshold: int,
        policy: Policy | None = None,
    ) -> Survey:
        """Open the survey to ``population`` (the services take it, and ``department``, from
        the directory on the day), under the anonymity ``threshold`` in force."""
        if isinstance(population, str | bytes) or not isinstance(population, Iterable):
            raise ValidationError("population", "must be a collection of ids")
        people = frozenset(population)
        values = {"population": people, "department": department, "threshold": threshold}
        return self._execute(
            "open",
            by=by,
            at=at,
            policy=policy,
            args=values,
            changes=lambda _survey: Changes(set=values),
        )

    def respond(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        replies: Sequence[Reply],
        policy: Policy | None = None,
    ) -> Survey:
        """Take part: the replies are checked, and only the participation is recorded. The
        caller (the services) keeps the replies apart, in the ballot box."""
        checked = self.check_replies(replies)
        actor = getattr(by, "id", "")
        return self._execute(
            "respond",
            by=by,
            at=at,
            policy=policy,
            args={"replies": checked},
            changes=lambda _survey: Changes(append={"participants": (actor,)}),
        )

    @fired_by("SurveyService.respond")
    def release_answers(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        ballots: Sequence[Ballot],
        policy: Policy | None = None,
    ) -> Survey:
        """Add a batch of answers to the record (the ballot box only, in shuffled order)."""
        batch = check_sequence("ballots", ballots)
        return self._execute(
            "release_answers",
            by=by,
            at=at,
            policy=policy,
            args={"ballots": batch},
            changes=lambda _survey: Changes(append={"ballots": batch}),
        )

    def close(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> Survey:
        """Stop taking answers."""
        return self._execute("close", by=by, at=at, reason=reason, policy=policy)

    def release(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> Survey:
        """Show the results to the manager and the people asked."""
        check_reason(reason)
        return self._execute("release", by=by, at=at, reason=reason, policy=policy)


class SurveyEdits(TypedDict, total=False):
    """The fields :meth:`Survey.edit` may change, and what each takes: the one
    declaration of them (see :mod:`perfcore.commands`)."""

    closes_on: dt.date
    opens_on: dt.date
    questions: Sequence[Question]
    scope: Scope | str
    title: str


_EDITABLE = frozenset(SurveyEdits.__annotations__)


# -- the lifecycle table ------------------------------------------------------------------------


def _has_questions(survey: Survey, _command: Command) -> str | None:
    if not survey.questions:
        return "a survey needs at least one question"
    return None


def _dated(survey: Survey, command: Command) -> str | None:
    if survey.closes_on < survey.opens_on:
        return f"it closes on {survey.closes_on}, before it opens on {survey.opens_on}"
    today = command.at.date()
    if today < survey.opens_on:
        return f"it does not open until {survey.opens_on}"
    if today > survey.closes_on:
        return f"it closed on {survey.closes_on}"
    return None


def _population_reaches_threshold(_survey: Survey, command: Command) -> str | None:
    population: frozenset[str] = command.args["population"]
    threshold: int = command.args["threshold"]
    least = command.policy.evaluation.anonymity_threshold
    if threshold < least:
        return f"the threshold {threshold} is below the policy's anonymity threshold {least}"
    if len(population) < threshold:
        return (
            f"{len(population)} people would be asked: fewer than the anonymity threshold"
            f" {threshold}, so no result could ever be shown"
        )
    return None


def _before_it_closes(survey: Survey, command: Command) -> str | None:
    if command.at.date() > survey.closes_on:
        return f"it closed on {survey.closes_on}"
    return None


def _a_whole_batch(survey: Survey, command: Command) -> str | None:
    batch: tuple[Any, ...] = command.args["ballots"]
    if len(batch) < max(1, survey.threshold):
        return f"a batch of {len(batch)} is below the anonymity threshold {survey.threshold}"
    if len(batch) > survey.withheld:
        return f"{len(batch)} answers, but only {survey.withheld} given and not yet released"
    return None


def _asked_once(actor: Actor, survey: Any) -> bool:
    return actor.id in survey.population and actor.id not in survey.participants


def _ballot_box(actor: Actor, _survey: Any) -> bool:
    return actor.id == BALLOT_BOX


_hr = has_role(Role.HR)
_manager = is_person("manager_id", "the manager of the people asked")
_organisers = _hr | _manager

LIFECYCLE = Lifecycle(
    name="Survey",
    states=[state.value for state in SurveyState],
    initial=SurveyState.DRAFT.value,
    create_rule=_organisers,
    steps=[
        Step(trigger="edit", sources=["draft"], dest="draft", who=_organisers),
        Step(
            trigger="open",
            sources=["draft"],
            dest="open",
            who=_organisers,
            guards=[
                Guard("has questions", _has_questions),
                Guard("dated", _dated),
                Guard("population reaches the threshold", _population_reaches_threshold),
            ],
        ),
        Step(
            trigger="respond",
            sources=["open"],
            dest="open",
            who=Rule("one of the people asked, who has not answered", _asked_once),
            guards=[Guard("before it closes", _before_it_closes)],
        ),
        Step(
            trigger="release_answers",
            sources=["open"],
            dest="open",
            who=Rule("the ballot box", _ballot_box),
            guards=[Guard("a whole batch", _a_whole_batch)],
        ),
        Step(trigger="close", sources=["open"], dest="closed", who=_organisers),
        Step(trigger="release", sources=["closed"], dest="released", who=_organisers),
    ],
)
Survey.lifecycle = LIFECYCLE
register(Survey, LIFECYCLE)
