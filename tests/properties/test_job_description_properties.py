"""Random commands by random people on a job description: the table, versions and history hold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from perfcore import Actor, EndorsementPolicy, PerfcoreError, lifecycle_of
from perfcore.job_description import Criterion, JobDescription, JobDescriptionState
from perfcore.testing.drivers.job_description import AUDIENCE, AUTHOR, HR, JobDescriptionDriver

LIFECYCLE = lifecycle_of(JobDescription)
TABLE = set(LIFECYCLE.transitions)
AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
PEOPLE = (AUTHOR, HR, *AUDIENCE, Actor(id="max", roles={"manager"}), Actor(id="zed"))

moments = st.one_of(
    st.integers(0, 90).map(lambda days: AT + dt.timedelta(days=days)),
    st.just(AT.replace(tzinfo=None)),  # naive: always refused
)
criteria = st.lists(
    st.builds(
        Criterion,
        name=st.sampled_from(["Quality", "Speed", "quality"]),
        weight=st.sampled_from([0, 25, 40, 60, 100, Decimal("33.33"), Decimal("33.34")]),
        measured_by=st.sampled_from(["", "peer review"]),
        required_level=st.sampled_from(["", "meets", 4]),
    ),
    max_size=3,
)
edits = st.one_of(
    st.fixed_dictionaries({"title": st.sampled_from(["", "Support lead", "  "])}),
    st.fixed_dictionaries({"criteria": criteria}),
    st.fixed_dictionaries(
        {"audience": st.frozensets(st.sampled_from([p.id for p in PEOPLE]), max_size=5)}
    ),
    st.fixed_dictionaries(
        {"responsibilities": st.lists(st.sampled_from(["Answer tickets", ""]), max_size=2)}
    ),
)
endorsements = st.one_of(
    st.none(),
    st.builds(
        EndorsementPolicy,
        min_responses=st.integers(0, 4),
        min_support=st.sampled_from([Decimal(0), Decimal("0.5"), Decimal("0.6"), Decimal(1)]),
    ),
)
ARGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "edit": edits,
    "open_feedback": st.just({}),
    "give_feedback": st.fixed_dictionaries(
        {"supports": st.booleans(), "comment": st.sampled_from(["", "ok"])}
    ),
    "endorse": st.fixed_dictionaries({"endorsement": endorsements}),
    "revise": st.fixed_dictionaries({"reason": st.sampled_from(["", "fix"])}),
    "publish": st.just({}),
    "supersede": st.just({}),
    "retire": st.just({}),
}


def _walk(data: st.DataObject) -> JobDescription:
    """Up to 40 random commands by random people; mostly ones the table and policy allow now,
    so that walks get past feedback, but any command by anyone may be tried."""
    jd = JobDescriptionDriver().create()
    for _ in range(data.draw(st.integers(0, 40), label="length")):
        state = str(jd.state)
        plausible = data.draw(st.integers(0, 9), label="plausible") > 0
        triggers = LIFECYCLE.triggers_from(state) if plausible else LIFECYCLE.triggers
        trigger = data.draw(st.sampled_from(triggers or LIFECYCLE.triggers), label="trigger")
        allowed = [p for p in PEOPLE if trigger in jd.allowed_triggers(p)]
        by = data.draw(st.sampled_from(allowed if plausible and allowed else PEOPLE), label="by")
        args = data.draw(ARGS[trigger], label="args")
        at = data.draw(moments, label="at")
        jd = _step(jd, trigger, args, by, at)
    return jd


def _step(
    jd: JobDescription, trigger: str, args: dict[str, Any], by: Actor, at: dt.datetime
) -> JobDescription:
    """Fire one command and check what must hold whether it is accepted or refused."""
    before = attrs.evolve(jd)
    try:
        after: JobDescription = getattr(jd, trigger)(by=by, at=at, **args)
    except PerfcoreError:
        assert jd == before  # a refused command changes nothing
        return jd
    assert jd == before  # an accepted one leaves the old object as it was
    assert after.version == jd.version + 1
    event = after.history[-1]
    assert (event.trigger, event.from_state, event.to_state) in TABLE
    assert (event.trigger, event.actor_id, event.at) == (trigger, by.id, at)
    _check_invariants(after)
    return after


def _check_invariants(jd: JobDescription) -> None:
    assert str(jd.state) in LIFECYCLE.states
    people = [response.by for response in jd.feedback]
    assert len(people) == len(set(people))
    assert set(people) <= jd.audience - {jd.author_id}  # segregation of duties
    if jd.state is JobDescriptionState.DRAFT:
        assert jd.feedback == ()
    assert Decimal(0) <= jd.support_share <= Decimal(1)


@given(data=st.data())
def test_random_commands_keep_to_the_table_and_replay(data: st.DataObject) -> None:
    jd = _walk(data)
    replayed = JobDescription.replay(jd.history)
    assert replayed == jd
    assert [e.to_state for e in replayed.history] == [e.to_state for e in jd.history]


@given(data=st.data(), number_of_versions=st.integers(1, 3))
def test_new_versions_number_a_lineage_from_any_state(
    data: st.DataObject, number_of_versions: int
) -> None:
    jd = _walk(data)
    latest = jd
    for count in range(1, number_of_versions + 1):
        latest = latest.new_version(id=f"x-1.{count}", by=HR, at=AT)
        assert (latest.state, latest.version, latest.feedback) == ("draft", 1, ())
        assert (latest.lineage_id, latest.number) == (jd.lineage_id, jd.number + count)
        assert (latest.criteria, latest.audience) == (jd.criteria, jd.audience)
        assert JobDescription.replay(latest.history) == latest
