"""JobDescription: what a role (or one employee) is expected to do, and how each part is measured.

A description is drafted by a manager or HR, put to its audience for feedback, endorsed once
enough of the audience supports it, and published. A **role description** names the position it
describes (``position_id``, as the directory names it: ``Person.position``) and is written once
for everyone who holds it; a description written for one employee names them (``employee_id``).
A published description is later superseded by a newer number in its lineage
(:meth:`JobDescription.new_version`) or retired.

Decisions the issue leaves open, made here:

- **The author gives no feedback on their own description.** Segregation of duties is a policy
  rule (``give_feedback``: a member of the audience, never the author), so an author who is also
  in the audience is refused, and support always comes from someone else. An integrator who
  wants otherwise replaces that one rule with :meth:`~perfcore.policy.Policy.with_rules`.
- **A criterion's required level is text** ("4 on a 1-5 scale", "B2", "under 4 hours"). A number
  is accepted and kept as its decimal text (``4`` becomes ``"4"``), so that one field serves
  scales, grades and thresholds alike, and payloads need no union type.
- **Revising clears the feedback.** The responses were about the text as it stood; after a
  revision the audience is asked again. The old responses stay in the history.
- **The support share is over the current responses**: one per person, the latest. With no
  responses it is 0.
- **A role description's audience is the position's holders**, as the directory says on the day
  feedback opens (the caller's list is not taken): ``open_feedback`` sets it, in its own event,
  when the acting person comes with the directory (``actor.relations``, which the services set).
  Without a directory the audience is taken as drafted, as every fact is.

>>> import datetime as dt
>>> from perfcore import Actor
>>> from perfcore.job_description import Criterion, JobDescription
>>> at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
>>> mia = Actor(id="mia", roles={"manager"})
>>> jd = JobDescription.create(id="jd-1", by=mia, at=at, title="Support engineer",
...     department="Support", responsibilities=["Answer customer tickets"],
...     criteria=[Criterion(name="Reply time", measured_by="median first reply",
...         weight=100, required_level="under 4 hours")],
...     audience={"ali", "bo", "cy"})
>>> jd = jd.open_feedback(by=mia, at=at)
>>> for name, supports in [("ali", True), ("bo", True), ("cy", False)]:
...     jd = jd.give_feedback(by=Actor(id=name), at=at, supports=supports)
>>> jd.responses_count, round(jd.support_share, 2)
(3, Decimal('0.67'))
>>> jd = jd.endorse(by=mia, at=at).publish(by=mia, at=at)
>>> jd.state, jd.version
(<JobDescriptionState.PUBLISHED: 'published'>, 7)
>>> v2 = jd.new_version(id="jd-2", by=mia, at=at)
>>> v2.state, v2.lineage_id, v2.number, v2.criteria == jd.criteria
(<JobDescriptionState.DRAFT: 'draft'>, 'jd-1', 2, True)
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import ROUND_DOWN, Decimal
from typing import Any, TypedDict, Unpack, cast

import attrs

from perfcore._aggregate import Aggregate, Changes, check_actor, check_reason
from perfcore._validate import (
    any_short_text,
    any_text,
    aware_datetime,
    check_number,
    identifier,
    ids,
    instance_of,
    non_negative,
    optional_identifier,
    optional_number,
    positive_whole,
    reads,
    short_text,
    texts,
    to_decimal,
    to_enum,
    to_frozenset,
    to_tuple,
    tuple_of,
)
from perfcore.actor import Actor, Role
from perfcore.commands import services_supply
from perfcore.errors import ValidationError
from perfcore.lifecycle import Command, Guard, Lifecycle, Step, register
from perfcore.policy import EndorsementPolicy, Policy
from perfcore.rules import has_role, is_member, is_person, never

__all__ = ["Criterion", "FeedbackResponse", "JobDescription", "JobDescriptionState"]

# What create accepts where a description stores a tuple or a frozenset.
_Texts = tuple[str, ...] | list[str]
_Ids = frozenset[str] | set[str] | list[str] | tuple[str, ...]

_FULL_WEIGHT = Decimal(100)


class JobDescriptionState(enum.StrEnum):
    """Where a job description is in its lifecycle."""

    DRAFT = "draft"
    IN_FEEDBACK = "in_feedback"
    ENDORSED = "endorsed"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    RETIRED = "retired"


def _state(value: object) -> JobDescriptionState:
    return to_enum(JobDescriptionState, "state")(value)


def _to_level(value: object) -> object:
    """Keep text as it is; turn a number into its plain decimal text ("4", "3.5")."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return format(check_number("required_level", value), "f")
    return value


@attrs.frozen(kw_only=True)
class Criterion:
    """One thing the role is measured on.

    Args:
        name: unique within its description (ignoring case and surrounding spaces).
        weight: its share of the whole, in points; a description's weights sum to 100.
        description: what it means, in words.
        measured_by: how it is measured (a metric, an observation, a review).
        required_level: the level the role requires, as text; a number becomes its text.
        safety_critical: whether falling short of the required level puts people at risk: an
            evaluation that rates it below ``required_score`` cannot be finalized without a
            linked improvement plan, and the manager and HR are told.
        required_score: the lowest score on an evaluation's scale that meets the required
            level; ``None`` for the scale's middle (3 on 1..5). Read for safety-critical
            criteria.
    """

    name: str = attrs.field(validator=short_text)
    weight: Decimal = attrs.field(converter=to_decimal, validator=non_negative)
    description: str = attrs.field(default="", validator=any_text)
    measured_by: str = attrs.field(default="", validator=any_text)
    required_level: str = attrs.field(default="", converter=_to_level, validator=any_short_text)
    safety_critical: bool = attrs.field(default=False, validator=instance_of(bool))
    required_score: Decimal | None = attrs.field(
        default=None, converter=to_decimal, validator=optional_number
    )

    @property
    def measurable(self) -> bool:
        """Whether it says how it is measured and what level is required."""
        return bool(self.measured_by.strip() and self.required_level.strip())


@attrs.frozen(kw_only=True)
class FeedbackResponse:
    """One audience member's current view of a description in feedback."""

    by: str = attrs.field(validator=identifier)
    supports: bool = attrs.field(validator=instance_of(bool))
    at: dt.datetime = attrs.field(validator=aware_datetime)
    comment: str = attrs.field(default="", validator=any_text)


_CRITERIA = tuple_of(Criterion)


def _criteria(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _CRITERIA(instance, attribute, value)
    seen: set[str] = set()
    for criterion in cast(tuple[Criterion, ...], value):
        key = criterion.name.strip().casefold()
        if key in seen:
            raise ValidationError(
                attribute.name, f"two criteria are named {criterion.name!r}; names must be unique"
            )
        seen.add(key)


@reads("employee_id")
def _one_kind(instance: JobDescription, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and instance.employee_id is not None:
        raise ValidationError(
            attribute.name,
            "a description is for a role (position_id) or for one employee (employee_id), not both",
        )


_RESPONSES = tuple_of(FeedbackResponse)


def _feedback(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _RESPONSES(instance, attribute, value)
    people = [response.by for response in cast(tuple[FeedbackResponse, ...], value)]
    if len(people) != len(set(people)):
        raise ValidationError(attribute.name, "holds more than one current response per person")


@attrs.frozen(kw_only=True)
class JobDescription(Aggregate):
    """The expectations for a role, or for one employee, and how each is measured.

    ``number`` counts the descriptions of one lineage (1, 2, ...); ``version`` counts the
    commands of this one description. Create one with :meth:`create` or :meth:`new_version`;
    every command returns a new JobDescription.
    """

    state: JobDescriptionState = attrs.field(default=JobDescriptionState.DRAFT, converter=_state)
    title: str = attrs.field(validator=short_text)
    department: str = attrs.field(validator=short_text)
    employee_id: str | None = attrs.field(default=None, validator=optional_identifier)
    position_id: str | None = attrs.field(default=None, validator=[optional_identifier, _one_kind])
    author_id: str = attrs.field(validator=identifier)
    lineage_id: str = attrs.field(validator=identifier)
    number: int = attrs.field(default=1, validator=positive_whole)
    responsibilities: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=texts)
    criteria: tuple[Criterion, ...] = attrs.field(
        default=(), converter=to_tuple, validator=_criteria
    )
    audience: frozenset[str] = attrs.field(
        default=frozenset(), converter=to_frozenset, validator=ids
    )
    feedback: tuple[FeedbackResponse, ...] = attrs.field(
        default=(), converter=to_tuple, validator=_feedback
    )

    # -- reading --------------------------------------------------------------------------------

    @property
    def is_role_description(self) -> bool:
        """Whether this describes a role rather than one named employee."""
        return self.employee_id is None

    def holders_on(self, actor: Actor) -> frozenset[str] | None:
        """The holders of this description's position as the directory has them on the acting
        person's day (``actor.relations``), or ``None`` when there is no position or no
        directory to ask."""
        relations = getattr(actor, "relations", None)
        if self.position_id is None or relations is None:
            return None
        return frozenset(relations.holders(self.position_id))

    @property
    def responses_count(self) -> int:
        """How many audience members have a current response."""
        return len(self.feedback)

    @property
    def support_share(self) -> Decimal:
        """The share (0..1) of the current responses that support the description; 0 with none."""
        if not self.feedback:
            return Decimal(0)
        return Decimal(self._supporting) / Decimal(len(self.feedback))

    @property
    def total_weight(self) -> Decimal:
        """The criteria's weights added up (100 when the description is ready for feedback)."""
        return sum((criterion.weight for criterion in self.criteria), Decimal(0))

    @property
    def _supporting(self) -> int:
        return sum(1 for response in self.feedback if response.supports)

    # -- creating -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        id: str,
        by: Actor,
        at: dt.datetime,
        title: str,
        department: str,
        employee_id: str | None = None,
        position_id: str | None = None,
        author_id: str | None = None,
        lineage_id: str | None = None,
        number: int = 1,
        responsibilities: _Texts = (),
        criteria: tuple[Criterion, ...] | list[Criterion] = (),
        audience: _Ids = frozenset(),
        reason: str = "",
        policy: Policy | None = None,
    ) -> JobDescription:
        """Draft a job description. A draft may be incomplete; :meth:`open_feedback` checks it.

        Args:
            id: the new description's id.
            by: who drafts it (a manager or HR under the default policy).
            at: when (timezone-aware).
            title: the role's title.
            department: the department the role belongs to.
            employee_id: the one employee it describes, or ``None`` for a role description.
            position_id: the position a role description describes (the directory's
                ``Person.position``), whose holders are its audience; never with
                ``employee_id``.
            author_id: who answers for its content; by default ``by``.
            lineage_id: the lineage it belongs to; by default its own id (a new lineage).
            number: its number within the lineage, from 1.
            responsibilities: what the role does, one text each.
            criteria: how the role is measured.
            audience: the ids of the employees invited to give feedback.
            reason: why it is drafted (may be empty).
            policy: the policy in force; by default :data:`~perfcore.policy.DEFAULT_POLICY`.

        Returns:
            The new description, in ``draft``, at version 1.

        Raises:
            ValidationError: a field has the wrong type or an impossible value.
            PermissionDenied: the policy does not let ``by`` create job descriptions.
        """
        check_actor(by)
        fields = {
            "title": title,
            "department": department,
            "employee_id": employee_id,
            # Only when it names one, so that a description without stays recorded as before.
            **({"position_id": position_id} if position_id is not None else {}),
            "author_id": by.id if author_id is None else author_id,
            "lineage_id": id if lineage_id is None else lineage_id,
            "number": number,
            "responsibilities": responsibilities,
            "criteria": criteria,
            "audience": audience,
        }
        return cls._create(id=id, by=by, at=at, fields=fields, policy=policy, reason=reason)

    def new_version(
        self,
        *,
        id: str,
        by: Actor,
        at: dt.datetime,
        author_id: str | None = None,
        reason: str = "",
        policy: Policy | None = None,
    ) -> JobDescription:
        """Draft the next number of this lineage, with this description's content.

        This description is left as it is: publishing the new one and superseding this one are
        two commands, which the service layer runs together.

        Args:
            id: the new description's id (not this one's).
            by: who drafts it; the policy's create rule decides whether they may.
            at: when (timezone-aware).
            author_id: who answers for the new content; by default ``by``.
            reason: why a new version is needed (may be empty).
            policy: the policy in force.

        Returns:
            A new description in ``draft``, version 1, in this lineage with ``number + 1``,
            with no feedback.

        Raises:
            ValidationError: ``id`` is this description's own, or another argument is invalid.
            PermissionDenied: the policy does not let ``by`` create job descriptions.
        """
        if id == self.id:
            raise ValidationError("id", f"a new version needs an id of its own, not {id!r}")
        return type(self).create(
            id=id,
            by=by,
            at=at,
            title=self.title,
            department=self.department,
            employee_id=self.employee_id,
            position_id=self.position_id,
            author_id=author_id,
            lineage_id=self.lineage_id,
            number=self.number + 1,
            responsibilities=self.responsibilities,
            criteria=self.criteria,
            audience=self.audience,
            reason=reason,
            policy=policy,
        )

    # -- commands -------------------------------------------------------------------------------

    def edit(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        policy: Policy | None = None,
        **fields: Unpack[JobDescriptionEdits],
    ) -> JobDescription:
        """Change a draft's content.

        Args:
            by: the author or HR.
            at: when (timezone-aware).
            policy: the policy in force.
            **fields: new values for any of title, department, employee_id, position_id,
                responsibilities, criteria and audience.

        Raises:
            ValidationError: no field, a field that cannot be edited, or a bad value.
            TransitionNotAllowed: the description is not a draft.
            PermissionDenied: ``by`` is neither the author nor HR.
        """
        return self._edit(fields, _EDITABLE, by=by, at=at, policy=policy)

    def open_feedback(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> JobDescription:
        """Invite the audience to give feedback on the draft. A role description's audience
        becomes its position's holders as the directory has them that day (when ``by`` comes
        with the directory), recorded in this command's event.

        Raises:
            GuardFailed: no responsibility, no criterion, a criterion that does not say how it
                is measured or what level is required, weights not summing to exactly 100, or
                an empty audience.
            TransitionNotAllowed: the description is not a draft.
            PermissionDenied: ``by`` is neither the author nor HR.
        """
        holders = self.holders_on(by)
        if holders is None:
            return self._execute("open_feedback", by=by, at=at, reason=reason, policy=policy)
        return self._execute(
            "open_feedback",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            args={"audience": holders},
            changes=lambda jd: (
                Changes(set={"audience": holders}) if holders != jd.audience else Changes()
            ),
        )

    def give_feedback(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        supports: bool,
        comment: str = "",
        policy: Policy | None = None,
    ) -> JobDescription:
        """Record ``by``'s view; a later response from the same person replaces theirs.

        Args:
            by: a member of the audience (never the author, under the default policy).
            at: when (timezone-aware).
            supports: whether they support the description as it stands.
            comment: what they would change, or why they support it.
            policy: the policy in force.

        Raises:
            ValidationError: ``supports`` is not a bool, or another argument is invalid.
            TransitionNotAllowed: the description is not in feedback.
            PermissionDenied: ``by`` is not in the audience, or is the author.
        """
        response = FeedbackResponse(
            by=getattr(by, "id", ""), supports=supports, at=at, comment=comment
        )
        return self._execute(
            "give_feedback",
            by=by,
            at=at,
            policy=policy,
            args={"response": response},
            changes=lambda jd: jd._respond(response),
        )

    @services_supply("endorsement")
    def endorse(
        self,
        *,
        by: Actor,
        at: dt.datetime,
        reason: str = "",
        policy: Policy | None = None,
        endorsement: EndorsementPolicy | None = None,
    ) -> JobDescription:
        """Endorse the description once the feedback meets the endorsement policy.

        Args:
            by: the author or HR.
            at: when (timezone-aware).
            reason: why (may be empty).
            policy: the policy in force; its ``endorsement`` applies unless overridden.
            endorsement: the numbers for this one call, in place of the policy's. Whoever
                calls the domain decides who may choose them; an HR system should not let the
                author pass their own.

        Raises:
            ValidationError: ``endorsement`` is not an EndorsementPolicy.
            GuardFailed: too few responses, or too little support among them.
            TransitionNotAllowed: the description is not in feedback.
            PermissionDenied: ``by`` is neither the author nor HR.
        """
        if endorsement is not None and not isinstance(endorsement, EndorsementPolicy):
            raise ValidationError(
                "endorsement", f"must be an EndorsementPolicy, not {type(endorsement).__name__}"
            )
        return self._execute(
            "endorse",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            args={"endorsement": endorsement},
        )

    def revise(
        self, *, by: Actor, at: dt.datetime, reason: str, policy: Policy | None = None
    ) -> JobDescription:
        """Take the description back to draft, saying what must change; the feedback is
        cleared, since it was about the text as it stood (it stays in the history).

        Raises:
            ValidationError: the reason is blank.
            TransitionNotAllowed: the description is neither in feedback nor endorsed.
            PermissionDenied: ``by`` is neither the author nor HR.
        """
        check_reason(reason, required=True)
        return self._execute(
            "revise",
            by=by,
            at=at,
            reason=reason,
            policy=policy,
            changes=lambda _jd: Changes(set={"feedback": ()}),
        )

    def publish(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> JobDescription:
        """Publish the endorsed description: it is now the one in force for its lineage.

        Raises:
            TransitionNotAllowed: the description is not endorsed.
            PermissionDenied: ``by`` is neither the author nor HR.
        """
        return self._execute("publish", by=by, at=at, reason=reason, policy=policy)

    def supersede(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> JobDescription:
        """Mark the published description as replaced by a newer number of its lineage.

        Raises:
            TransitionNotAllowed: the description is not published.
            PermissionDenied: ``by`` is neither the author nor HR.
        """
        return self._execute("supersede", by=by, at=at, reason=reason, policy=policy)

    def retire(
        self, *, by: Actor, at: dt.datetime, reason: str = "", policy: Policy | None = None
    ) -> JobDescription:
        """Withdraw the published description with no successor (the role is gone).

        Raises:
            TransitionNotAllowed: the description is not published.
            PermissionDenied: ``by`` is neither the author nor HR.
        """
        return self._execute("retire", by=by, at=at, reason=reason, policy=policy)

    def _respond(self, response: FeedbackResponse) -> Changes:
        """Append a first response; replace an earlier one (so the feedback stays ordered by
        when each current response was given)."""
        others = tuple(item for item in self.feedback if item.by != response.by)
        if len(others) == len(self.feedback):
            return Changes(append={"feedback": (response,)})
        return Changes(set={"feedback": (*others, response)})


class JobDescriptionEdits(TypedDict, total=False):
    """The fields :meth:`JobDescription.edit` may change, and what each takes: the one
    declaration of them (see :mod:`perfcore.commands`)."""

    audience: _Ids
    criteria: tuple[Criterion, ...] | list[Criterion]
    department: str
    employee_id: str | None
    position_id: str | None
    responsibilities: _Texts
    title: str


_EDITABLE = frozenset(JobDescriptionEdits.__annotations__)


# -- the lifecycle table ------------------------------------------------------------------------


def _number(value: Decimal) -> str:
    """A Decimal as plain text without trailing zeros: 90, 99.99, 100."""
    return format(value.normalize(), "f")


def _percent(share: Decimal, *, floor: bool = False) -> str:
    """A share as a percentage; ``floor`` truncates to one decimal, so a share below a
    threshold never reads as reaching it."""
    value = share * 100
    if floor:
        value = value.quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return f"{_number(value)}%"


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _has_responsibilities(jd: JobDescription, _command: Command) -> str | None:
    if not jd.responsibilities:
        return "a job description needs at least one responsibility before feedback opens"
    return None


def _has_criteria(jd: JobDescription, _command: Command) -> str | None:
    if not jd.criteria:
        return "a job description needs at least one criterion before feedback opens"
    return None


def _measurable(jd: JobDescription, _command: Command) -> str | None:
    unmeasured = [c.name for c in jd.criteria if not c.measured_by.strip()]
    if unmeasured:
        return f"these criteria do not say how they are measured: {_quoted(unmeasured)}"
    unlevelled = [c.name for c in jd.criteria if not c.required_level.strip()]
    if unlevelled:
        return f"these criteria have no required level: {_quoted(unlevelled)}"
    return None


def _weights_total(jd: JobDescription, _command: Command) -> str | None:
    if jd.total_weight != _FULL_WEIGHT:
        return f"criteria weights sum to {_number(jd.total_weight)}, not 100"
    return None


def _opening_audience(jd: JobDescription, command: Command) -> frozenset[str]:
    """The audience feedback opens to: a role description's holders from the directory when the
    command brought them, else the audience as drafted."""
    holders: frozenset[str] | None = command.args.get("audience")
    return jd.audience if holders is None else holders


def _has_audience(jd: JobDescription, command: Command) -> str | None:
    if not _opening_audience(jd, command):
        if jd.position_id is not None and command.args.get("audience") is not None:
            return f"nobody holds the position {jd.position_id!r} in the directory that day"
        return "nobody is invited to give feedback: the audience is empty"
    return None


def _subject_asked(jd: JobDescription, command: Command) -> str | None:
    if not _endorsement(command).subject_in_audience or jd.employee_id is None:
        return None
    if jd.employee_id not in _opening_audience(jd, command):
        return f"the employee it describes, {jd.employee_id!r}, is not in its audience"
    return None


def _quorum_reachable(jd: JobDescription, command: Command) -> str | None:
    required = _endorsement(command).min_responses
    # The author's own view never counts, so only the rest of the audience can make the quorum.
    answering = len(_opening_audience(jd, command) - {jd.author_id})
    if answering < required:
        return (
            f"only {answering} of the audience may answer, and endorsement needs {required}"
            " responses: it could never be endorsed"
        )
    return None


def _endorsement(command: Command) -> EndorsementPolicy:
    chosen: EndorsementPolicy | None = command.args.get("endorsement")
    return chosen if chosen is not None else command.policy.endorsement


def _enough_responses(jd: JobDescription, command: Command) -> str | None:
    required = _endorsement(command).min_responses
    if jd.responses_count < required:
        return f"{jd.responses_count} of {required} required responses so far"
    return None


def _enough_support(jd: JobDescription, command: Command) -> str | None:
    required = _endorsement(command).min_support
    # Compared as a product, not a quotient, so that 2 of 3 is never rounded past a threshold;
    # with no responses it holds, since an organisation that asks for none asks for no support.
    if Decimal(jd._supporting) >= required * jd.responses_count:
        return None
    return (
        f"support is {_percent(jd.support_share, floor=True)}, below the required"
        f" {_percent(required)} ({jd._supporting} of {jd.responses_count} responses support it)"
    )


_author = is_person("author_id", "the author")
_hr = has_role(Role.HR)
_keeper = _author | _hr
_audience = is_member("audience", "a member of the audience") & never(_author)

LIFECYCLE = Lifecycle(
    name="JobDescription",
    states=[state.value for state in JobDescriptionState],
    initial=JobDescriptionState.DRAFT.value,
    create_rule=has_role(Role.MANAGER) | _hr,
    steps=[
        Step(trigger="edit", sources=["draft"], dest="draft", who=_keeper),
        Step(
            trigger="open_feedback",
            sources=["draft"],
            dest="in_feedback",
            who=_keeper,
            guards=[
                Guard("has responsibilities", _has_responsibilities),
                Guard("has criteria", _has_criteria),
                Guard("criteria measurable", _measurable),
                Guard("weights sum to 100", _weights_total),
                Guard("has audience", _has_audience),
                Guard("subject in audience", _subject_asked),
                Guard("quorum reachable", _quorum_reachable),
            ],
        ),
        Step(trigger="give_feedback", sources=["in_feedback"], dest="in_feedback", who=_audience),
        Step(
            trigger="endorse",
            sources=["in_feedback"],
            dest="endorsed",
            who=_keeper,
            guards=[
                Guard("enough responses", _enough_responses),
                Guard("enough support", _enough_support),
            ],
        ),
        Step(trigger="revise", sources=["in_feedback", "endorsed"], dest="draft", who=_keeper),
        Step(trigger="publish", sources=["endorsed"], dest="published", who=_keeper),
        Step(trigger="supersede", sources=["published"], dest="superseded", who=_keeper),
        Step(trigger="retire", sources=["published"], dest="retired", who=_keeper),
    ],
)
JobDescription.lifecycle = LIFECYCLE
register(JobDescription, LIFECYCLE)
