"""JobDescription: its guards, its policy rules, feedback, endorsement, new versions, bad input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from perfcore import (
    Actor,
    EndorsementPolicy,
    GuardFailed,
    PermissionDenied,
    Policy,
    TransitionNotAllowed,
    ValidationError,
)
from perfcore.job_description import (
    Criterion,
    FeedbackResponse,
    JobDescription,
    JobDescriptionState,
)
from perfcore.rules import is_member
from perfcore.testing.drivers.job_description import (
    AUDIENCE,
    AUTHOR,
    HR,
    JobDescriptionDriver,
)

AT = dt.datetime(2026, 2, 2, 10, tzinfo=dt.UTC)
ALI, BO, CY = AUDIENCE
DEE, EVE = Actor(id="dee"), Actor(id="eve")
OTHER_MANAGER = Actor(id="max", roles={"manager"})
STRANGER = Actor(id="zed")
DRIVER = JobDescriptionDriver()


def _criterion(name: str = "Quality", weight: Any = 100, **extra: Any) -> Criterion:
    fields = {"measured_by": "peer review", "required_level": "meets", **extra}
    return Criterion(name=name, weight=weight, **fields)


def _draft(**overrides: Any) -> JobDescription:
    fields: dict[str, Any] = {
        "id": "jd-1",
        "by": AUTHOR,
        "at": AT,
        "title": "Support engineer",
        "department": "Support",
        "responsibilities": ["Answer tickets"],
        "criteria": [_criterion()],
        "audience": {"ali", "bo", "cy", "dee", "eve"},
    }
    return JobDescription.create(**{**fields, **overrides})


def _in_feedback(*votes: tuple[Actor, bool], **overrides: Any) -> JobDescription:
    jd = _draft(**overrides).open_feedback(by=AUTHOR, at=AT)
    for member, supports in votes:
        jd = jd.give_feedback(by=member, at=AT, supports=supports)
    return jd


def _refused_by_guard(command: Callable[[], object], rule: str) -> str:
    with pytest.raises(GuardFailed) as raised:
        command()
    assert raised.value.rule == rule
    return raised.value.why


# -- creating and reading -----------------------------------------------------------------------


def test_create_starts_a_lineage_in_draft() -> None:
    jd = _draft()
    assert jd.state is JobDescriptionState.DRAFT
    assert (jd.version, jd.lineage_id, jd.number, jd.author_id) == (1, "jd-1", 1, "mia")
    assert jd.history[0].trigger == "create"
    assert jd.created_by == "mia"
    assert jd.is_role_description
    assert not _draft(employee_id="ali").is_role_description


def test_author_may_be_named_apart_from_the_creator() -> None:
    jd = _draft(by=HR, author_id="mia")
    assert (jd.created_by, jd.author_id) == ("hana", "mia")


def test_a_numeric_required_level_is_kept_as_its_text() -> None:
    assert _criterion(required_level=4).required_level == "4"
    assert _criterion(required_level=Decimal("3.50")).required_level == "3.50"
    assert _criterion(required_level="B2").required_level == "B2"


def test_readings_on_feedback() -> None:
    jd = _in_feedback((ALI, True), (BO, False), (CY, True), (DEE, True))
    assert jd.responses_count == 4
    assert jd.support_share == Decimal("0.75")
    assert _draft().support_share == 0
    assert _draft().total_weight == 100


# -- open_feedback: each guard ------------------------------------------------------------------


def test_open_feedback_passes_with_a_complete_draft() -> None:
    jd = _draft().open_feedback(by=AUTHOR, at=AT)
    assert jd.state is JobDescriptionState.IN_FEEDBACK


@pytest.mark.parametrize(
    ("overrides", "rule", "why"),
    [
        (
            {"responsibilities": []},
            "has responsibilities",
            "a job description needs at least one responsibility before feedback opens",
        ),
        (
            {"criteria": []},
            "has criteria",
            "a job description needs at least one criterion before feedback opens",
        ),
        (
            {"criteria": [_criterion(weight=50), _criterion("Speed", 50, measured_by="")]},
            "criteria measurable",
            "these criteria do not say how they are measured: 'Speed'",
        ),
        (
            {"criteria": [_criterion(required_level=" ")]},
            "criteria measurable",
            "these criteria have no required level: 'Quality'",
        ),
        (
            {"criteria": [_criterion(weight=50), _criterion("Speed", 40)]},
            "weights sum to 100",
            "criteria weights sum to 90, not 100",
        ),
        (
            {"criteria": [_criterion(n, Decimal("33.33")) for n in ("A", "B", "C")]},
            "weights sum to 100",
            "criteria weights sum to 99.99, not 100",
        ),
        (
            {"criteria": [_criterion(weight=70), _criterion("Speed", "30.5")]},
            "weights sum to 100",
            "criteria weights sum to 100.5, not 100",
        ),
        (
            {"audience": set()},
            "has audience",
            "nobody is invited to give feedback: the audience is empty",
        ),
    ],
)
def test_open_feedback_guards_fail_with_a_reason(
    overrides: dict[str, Any], rule: str, why: str
) -> None:
    jd = _draft(**overrides)
    before = attrs.evolve(jd)
    assert _refused_by_guard(lambda: jd.open_feedback(by=AUTHOR, at=AT), rule) == why
    assert jd == before


@pytest.mark.parametrize(
    "weights",
    [
        (Decimal("33.34"), Decimal("33.33"), Decimal("33.33")),
        (50, 50, 0),
        ("12.5", "87.5", 0),
        (Decimal("100.00"), 0, 0),
    ],
)
def test_weights_summing_exactly_to_100_pass(weights: tuple[Any, ...]) -> None:
    criteria = [_criterion(name, weight) for name, weight in zip("ABC", weights, strict=True)]
    assert _draft(criteria=criteria).open_feedback(by=AUTHOR, at=AT).state == "in_feedback"


# -- give_feedback ------------------------------------------------------------------------------


def test_feedback_from_the_audience_is_recorded() -> None:
    jd = _in_feedback().give_feedback(by=ALI, at=AT, supports=False, comment="too vague")
    assert jd.feedback == (FeedbackResponse(by="ali", supports=False, at=AT, comment="too vague"),)
    assert jd.history[-1].payload == {
        "append": {
            "feedback": [
                {"by": "ali", "supports": False, "at": AT.isoformat(), "comment": "too vague"}
            ]
        }
    }


def test_a_later_response_replaces_the_earlier_and_both_stay_in_history() -> None:
    later = AT + dt.timedelta(hours=2)
    jd = _in_feedback((ALI, False), (BO, True))
    jd = jd.give_feedback(by=ALI, at=later, supports=True, comment="clearer now")
    assert [(r.by, r.supports, r.at) for r in jd.feedback] == [
        ("bo", True, AT),
        ("ali", True, later),
    ]
    assert jd.responses_count == 2
    assert jd.support_share == 1
    given = [e for e in jd.history if e.trigger == "give_feedback"]
    assert len(given) == 3
    assert given[0].payload["append"]["feedback"][0]["supports"] is False
    assert JobDescription.replay(jd.history) == jd


@pytest.mark.parametrize("outsider", [STRANGER, HR, OTHER_MANAGER])
def test_only_the_audience_may_give_feedback(outsider: Actor) -> None:
    jd = _in_feedback()
    with pytest.raises(PermissionDenied) as raised:
        jd.give_feedback(by=outsider, at=AT, supports=True)
    assert raised.value.rule == "a member of the audience, never the author"


def test_the_author_may_not_support_their_own_description_even_in_the_audience() -> None:
    jd = _in_feedback(audience={"mia", "ali", "bo", "cy"})
    before = attrs.evolve(jd)
    with pytest.raises(PermissionDenied):
        jd.give_feedback(by=AUTHOR, at=AT, supports=True)
    assert jd == before
    assert "give_feedback" not in jd.allowed_triggers(AUTHOR)
    assert jd.allowed_triggers(ALI) == ("give_feedback",)


def test_an_integrator_may_let_the_author_give_feedback() -> None:
    policy = Policy(endorsement=EndorsementPolicy(min_responses=1)).with_rules(
        {("JobDescription", "give_feedback"): is_member("audience", "a member of the audience")}
    )
    jd = _draft(audience={"mia", "ali"}).open_feedback(by=AUTHOR, at=AT, policy=policy)
    jd = jd.give_feedback(by=AUTHOR, at=AT, supports=True, policy=policy)
    assert jd.responses_count == 1


def test_feedback_cannot_open_without_the_employee_described() -> None:
    """A description written for one employee goes to them first: without them in its
    audience it cannot open for feedback (unless the policy says otherwise)."""
    draft = _draft(employee_id="zoe")
    why = _refused_by_guard(lambda: draft.open_feedback(by=AUTHOR, at=AT), "subject in audience")
    assert why == "the employee it describes, 'zoe', is not in its audience"
    lenient = Policy(endorsement=EndorsementPolicy(subject_in_audience=False))
    assert draft.open_feedback(by=AUTHOR, at=AT, policy=lenient).state == "in_feedback"


def test_feedback_cannot_open_when_the_audience_could_never_endorse() -> None:
    draft = _draft(audience={"ali", "bo", "mia"})  # the author's view never counts
    why = _refused_by_guard(lambda: draft.open_feedback(by=AUTHOR, at=AT), "quorum reachable")
    assert why.startswith("only 2 of the audience may answer, and endorsement needs 3")


# -- endorse ------------------------------------------------------------------------------------


def test_endorse_passes_with_enough_support() -> None:
    jd = _in_feedback((ALI, True), (BO, True), (CY, False)).endorse(by=AUTHOR, at=AT)
    assert jd.state is JobDescriptionState.ENDORSED


def test_support_exactly_at_the_threshold_passes() -> None:
    votes = ((ALI, True), (BO, True), (CY, True), (DEE, False), (EVE, False))
    assert _in_feedback(*votes).endorse(by=HR, at=AT).state == "endorsed"


def test_endorse_fails_with_too_few_responses() -> None:
    jd = _in_feedback((ALI, True), (BO, True))
    why = _refused_by_guard(lambda: jd.endorse(by=AUTHOR, at=AT), "enough responses")
    assert why == "2 of 3 required responses so far"


@pytest.mark.parametrize(
    ("votes", "why"),
    [
        (
            (True, False, False),
            "support is 33.3%, below the required 60% (1 of 3 responses support it)",
        ),
        (
            (True, True, False, False),
            "support is 50%, below the required 60% (2 of 4 responses support it)",
        ),
    ],
)
def test_endorse_fails_with_too_little_support(votes: tuple[bool, ...], why: str) -> None:
    jd = _in_feedback(*zip((*AUDIENCE, DEE), votes, strict=False))
    before = attrs.evolve(jd)
    assert _refused_by_guard(lambda: jd.endorse(by=AUTHOR, at=AT), "enough support") == why
    assert jd == before


def test_endorsement_numbers_per_call() -> None:
    jd = _in_feedback((ALI, True), (BO, False))
    lenient = EndorsementPolicy(min_responses=2, min_support=Decimal("0.5"))
    assert jd.endorse(by=AUTHOR, at=AT, endorsement=lenient).state == "endorsed"
    strict = EndorsementPolicy(min_responses=2, min_support=Decimal("0.75"))
    why = _refused_by_guard(
        lambda: jd.endorse(by=AUTHOR, at=AT, endorsement=strict), "enough support"
    )
    assert why.startswith("support is 50%, below the required 75%")


def test_endorsement_numbers_per_organisation_and_the_call_wins() -> None:
    jd = _in_feedback((ALI, True))
    organisation = Policy(endorsement=EndorsementPolicy(min_responses=1, min_support=1))
    assert jd.endorse(by=AUTHOR, at=AT, policy=organisation).state == "endorsed"
    stricter = EndorsementPolicy(min_responses=2)
    why = _refused_by_guard(
        lambda: jd.endorse(by=AUTHOR, at=AT, policy=organisation, endorsement=stricter),
        "enough responses",
    )
    assert why == "1 of 2 required responses so far"


def test_an_organisation_that_asks_for_no_responses_may_endorse_without_any() -> None:
    none_needed = EndorsementPolicy(min_responses=0)
    assert _in_feedback().endorse(by=HR, at=AT, endorsement=none_needed).state == "endorsed"


def test_endorsement_must_be_an_endorsement_policy() -> None:
    jd = _in_feedback((ALI, True), (BO, True), (CY, True))
    with pytest.raises(ValidationError) as raised:
        jd.endorse(by=AUTHOR, at=AT, endorsement={"min_responses": 1})  # type: ignore[arg-type]
    assert raised.value.field == "endorsement"


# -- revise, publish, supersede, retire ---------------------------------------------------------


@pytest.mark.parametrize("state", ["in_feedback", "endorsed"])
def test_revise_returns_to_draft_and_clears_the_feedback(state: str) -> None:
    jd = DRIVER.reach(state)
    if state == "in_feedback":
        jd = jd.give_feedback(by=ALI, at=AT, supports=False)
    assert jd.feedback
    revised = jd.revise(by=AUTHOR, at=AT, reason="add the on-call rota")
    assert (revised.state, revised.feedback) == ("draft", ())
    assert revised.history[-1].reason == "add the on-call rota"
    assert JobDescription.replay(revised.history) == revised


@pytest.mark.parametrize("reason", ["", "   "])
def test_revise_needs_a_reason(reason: str) -> None:
    jd = DRIVER.reach("endorsed")
    with pytest.raises(ValidationError) as raised:
        jd.revise(by=AUTHOR, at=AT, reason=reason)
    assert raised.value.field == "reason"


def test_publish_then_supersede_or_retire() -> None:
    published = DRIVER.reach("endorsed").publish(by=AUTHOR, at=AT)
    assert published.supersede(by=AUTHOR, at=AT).state == "superseded"
    assert published.retire(by=HR, at=AT, reason="role merged").state == "retired"
    with pytest.raises(TransitionNotAllowed):
        published.publish(by=AUTHOR, at=AT)


# -- who may ------------------------------------------------------------------------------------

_SOURCE = {
    "edit": "draft",
    "open_feedback": "draft",
    "endorse": "in_feedback",
    "revise": "endorsed",
    "publish": "endorsed",
    "supersede": "published",
    "retire": "published",
}


def _fire(jd: JobDescription, trigger: str, by: Actor) -> JobDescription:
    if trigger == "edit":
        return jd.edit(by=by, at=AT, title="Lead support engineer")
    if trigger == "revise":
        return jd.revise(by=by, at=AT, reason="needs work")
    if trigger == "endorse":
        for member in AUDIENCE:
            jd = jd.give_feedback(by=member, at=AT, supports=True)
        return jd.endorse(by=by, at=AT)
    result: JobDescription = getattr(jd, trigger)(by=by, at=AT)
    return result


@pytest.mark.parametrize("trigger", sorted(_SOURCE))
@pytest.mark.parametrize("actor", [AUTHOR, HR], ids=["author", "hr"])
def test_the_author_and_hr_may_keep_the_description(trigger: str, actor: Actor) -> None:
    jd = DRIVER.reach(_SOURCE[trigger])
    assert trigger in jd.allowed_triggers(actor)
    assert _fire(jd, trigger, actor).history[-1].actor_id == actor.id


@pytest.mark.parametrize("trigger", sorted(_SOURCE))
@pytest.mark.parametrize("actor", [OTHER_MANAGER, ALI], ids=["other-manager", "audience"])
def test_others_may_not_keep_the_description(trigger: str, actor: Actor) -> None:
    jd = DRIVER.reach(_SOURCE[trigger])
    if trigger == "endorse":
        for member in AUDIENCE:
            jd = jd.give_feedback(by=member, at=AT, supports=True)
    before = attrs.evolve(jd)
    with pytest.raises(PermissionDenied) as raised:
        _fire(jd, trigger, actor) if trigger != "endorse" else jd.endorse(by=actor, at=AT)
    assert raised.value.rule == "the author or HR"
    assert raised.value.trigger == trigger
    assert jd == before


@pytest.mark.parametrize("creator", [AUTHOR, OTHER_MANAGER, HR])
def test_managers_and_hr_may_create(creator: Actor) -> None:
    assert _draft(by=creator).created_by == creator.id


def test_an_employee_may_not_create() -> None:
    with pytest.raises(PermissionDenied) as raised:
        _draft(by=ALI)
    assert raised.value.rule == "a manager or HR"


def test_policy_is_checked_before_guards() -> None:
    jd = _draft(criteria=[])
    with pytest.raises(PermissionDenied):
        jd.open_feedback(by=STRANGER, at=AT)


# -- new versions -------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [state.value for state in JobDescriptionState])
def test_new_version_is_a_draft_in_the_same_lineage(state: str) -> None:
    jd = DRIVER.reach(state)
    later = AT + dt.timedelta(days=30)
    v2 = jd.new_version(id="jd-2", by=HR, at=later, reason="the team now runs on-call")
    assert (v2.id, v2.state, v2.version) == ("jd-2", "draft", 1)
    assert (v2.lineage_id, v2.number) == (jd.lineage_id, jd.number + 1)
    assert (v2.title, v2.department, v2.employee_id) == (jd.title, jd.department, jd.employee_id)
    assert (v2.responsibilities, v2.criteria, v2.audience) == (
        jd.responsibilities,
        jd.criteria,
        jd.audience,
    )
    assert v2.feedback == ()
    assert (v2.author_id, v2.created_at, v2.history[0].trigger) == ("hana", later, "create")
    assert v2.history[0].reason == "the team now runs on-call"
    assert JobDescription.replay(v2.history) == v2
    assert jd.new_version(id="jd-2", by=AUTHOR, at=later, author_id="mia").author_id == "mia"


def test_numbers_grow_along_a_lineage() -> None:
    v1 = _draft()
    v3 = v1.new_version(id="jd-2", by=AUTHOR, at=AT).new_version(id="jd-3", by=AUTHOR, at=AT)
    assert (v3.lineage_id, v3.number) == ("jd-1", 3)


def test_new_version_follows_the_create_rule_and_needs_its_own_id() -> None:
    jd = _draft()
    with pytest.raises(PermissionDenied):
        jd.new_version(id="jd-2", by=ALI, at=AT)
    with pytest.raises(ValidationError) as raised:
        jd.new_version(id="jd-1", by=AUTHOR, at=AT)
    assert raised.value.field == "id"


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"at": dt.datetime(2026, 2, 2, 10)}, "at"),
        ({"at": "2026-02-02T10:00:00Z"}, "at"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": None}, "title"),
        ({"department": ""}, "department"),
        ({"by": "mia"}, "by"),
        ({"id": ""}, "id"),
        ({"employee_id": 7}, "employee_id"),
        ({"number": 0}, "number"),
        ({"number": True}, "number"),
        ({"number": "2"}, "number"),
        ({"responsibilities": ["Answer tickets", ""]}, "responsibilities[1]"),
        ({"responsibilities": "Answer tickets"}, "responsibilities"),
        ({"criteria": [{"name": "Quality", "weight": 100}]}, "criteria[0]"),
        ({"criteria": [_criterion(), _criterion(" quality ", 0)]}, "criteria"),
        ({"audience": "ali"}, "audience"),
        ({"audience": {"ali", ""}}, "audience"),
        ({"reason": 5}, "reason"),
    ],
)
def test_create_refuses_bad_input(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _draft(**overrides)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "weight": 10}, "name"),
        ({"name": "Quality", "weight": -1}, "weight"),
        ({"name": "Quality", "weight": "lots"}, "weight"),
        ({"name": "Quality", "weight": Decimal("NaN")}, "weight"),
        ({"name": "Quality", "weight": 10, "measured_by": None}, "measured_by"),
        ({"name": "Quality", "weight": 10, "required_level": True}, "required_level"),
        ({"name": "Quality", "weight": 10, "required_level": float("inf")}, "required_level"),
    ],
)
def test_criterion_refuses_bad_input(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Criterion(**fields)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"criteria": [_criterion(), _criterion("Quality", 0)]}, "criteria"),
        ({"audience": ["ali", 3]}, "audience"),
        ({"author_id": "eve"}, "author_id"),
        ({"number": 2}, "number"),
        ({"feedback": ()}, "feedback"),
        ({}, "fields"),
    ],
)
def test_edit_refuses_bad_input_and_changes_nothing(fields: dict[str, Any], field: str) -> None:
    jd = _draft()
    before = attrs.evolve(jd)
    with pytest.raises(ValidationError) as raised:
        jd.edit(by=AUTHOR, at=AT, **fields)
    assert raised.value.field == field
    assert jd == before


def test_edit_changes_a_draft() -> None:
    jd = _draft().edit(by=AUTHOR, at=AT, employee_id="ali", responsibilities=("Run on-call",))
    assert (jd.employee_id, jd.responsibilities, jd.version) == ("ali", ("Run on-call",), 2)
    assert jd.history[-1].payload == {
        "set": {"employee_id": "ali", "responsibilities": ["Run on-call"]}
    }


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda jd: jd.give_feedback(by=ALI, at=AT, supports="yes"), "supports"),
        (lambda jd: jd.give_feedback(by=ALI, at=AT, supports=1), "supports"),
        (lambda jd: jd.give_feedback(by=ALI, at=AT, supports=True, comment=None), "comment"),
        (lambda jd: jd.give_feedback(by=ALI, at=AT.replace(tzinfo=None), supports=True), "at"),
        (lambda jd: jd.give_feedback(by="ali", at=AT, supports=True), "by"),
        (lambda jd: jd.endorse(by=AUTHOR, at=AT.replace(tzinfo=None)), "at"),
        (lambda jd: jd.revise(by=AUTHOR, at=AT, reason=None), "reason"),
    ],
)
def test_commands_refuse_bad_input_and_change_nothing(
    call: Callable[[JobDescription], object], field: str
) -> None:
    jd = _in_feedback((ALI, True))
    before = attrs.evolve(jd)
    with pytest.raises(ValidationError) as raised:
        call(jd)
    assert raised.value.field == field
    assert jd == before


# -- history ------------------------------------------------------------------------------------


def test_a_long_history_replays_to_the_same_object() -> None:
    jd = _in_feedback((ALI, False), (BO, True))
    jd = jd.revise(by=AUTHOR, at=AT, reason="clearer criteria")
    jd = jd.edit(by=HR, at=AT, criteria=[_criterion(weight=60), _criterion("Speed", 40)])
    jd = jd.open_feedback(by=AUTHOR, at=AT)
    for member in (ALI, BO, CY, ALI):
        jd = jd.give_feedback(by=member, at=AT, supports=True)
    jd = jd.endorse(by=AUTHOR, at=AT).publish(by=HR, at=AT).supersede(by=HR, at=AT)
    replayed = JobDescription.replay(jd.history)
    assert replayed == jd
    assert [e.version for e in jd.history] == list(range(1, jd.version + 1))
    assert replayed.feedback == jd.feedback
    assert jd.state is JobDescriptionState.SUPERSEDED
