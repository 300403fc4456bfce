"""``perfcore report``: what one person may see of the organisation's performance, on a day.

Everything in the report is read through the library's authorised reads, with the person as
reader (``by=PERSON``), on a clock set to the day (``--as-of``), so that the policy judges them as
the directory has them that day (see :mod:`perfcore.reading`):

- whose rows it holds: HR, everyone in the directory that day; anyone else, themselves and the
  people below them in the directory's reporting lines;
- each person's goals and how they stand (``pc.queries.team_goals``, for each manager of those
  people): who is meeting their goals and who is not (:class:`~perfcore.cycle_status.GoalCounts`);
- the plans due for review by 30 days after the day, overdue ones included
  (``pc.queries.plans_due_for_review``);
- each review cycle the person may read (``pc.queries.cycle_progress``): its stage, each stage's
  work done and who holds it up, and the evaluations outstanding, each one shown only if the
  person may read it (``pc.evaluations.find``).

Without ``--as-of`` the report is for the day of the database's newest record, so that a
finished (or demo) database shows the records as they were left.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from perfcore import Perfcore
from perfcore.actor import Actor, Role
from perfcore.adapters.sqlite import SQLiteStore
from perfcore.adapters.sqlite_directory import SQLiteDirectory
from perfcore.cli._common import (
    EXIT_OK,
    EXIT_REFUSED,
    CommandError,
    day,
    open_store,
    printable,
    sqlite_tables,
    write,
)
from perfcore.cycle_status import GoalCounts, ProgressReport, Stage, explain
from perfcore.directory import resolve_actor
from perfcore.errors import NotFound, PermissionDenied, ValidationError
from perfcore.goal import Standing
from perfcore.review_cycle import ReviewCycleState

__all__ = ["FORMATS", "Report", "add_parser", "build", "render"]

#: The directory's table (:mod:`perfcore.adapters.sqlite_directory`).
_DIRECTORY_TABLE = "directory_placements"
#: How far ahead the plans due for review are looked for.
DUE_WITHIN = dt.timedelta(days=30)
#: The output formats.
FORMATS = ("table", "json", "csv", "html")
#: The evaluation states in which an evaluation is done, for the cycle.
_DONE = frozenset({"finalized", "acknowledged", "disputed"})
#: The stage whose work the cycle in each state waits for, and the step it leads to.
_NEXT = {
    ReviewCycleState.PLANNED.value: (None, "start"),
    ReviewCycleState.JOB_DESCRIPTIONS.value: (Stage.JOB_DESCRIPTIONS, "begin evaluations"),
    ReviewCycleState.EVALUATIONS.value: (Stage.EVALUATIONS, "begin planning"),
    ReviewCycleState.PLANNING.value: (Stage.PLANNING, "begin attainment"),
    ReviewCycleState.ATTAINMENT.value: (None, "close"),
    ReviewCycleState.CLOSED.value: (None, None),
}
STANDINGS = tuple(standing.value for standing in Standing)
T = TypeVar("T")


@attrs.frozen(kw_only=True)
class PersonRow:
    """One person: their goals and how they stand, their evaluation, their plans due."""

    id: str
    department: str
    manager_id: str | None
    goals: dict[str, int]
    outlook: str
    not_meeting: tuple[str, ...]
    evaluation: str | None
    plans_due: int


@attrs.frozen(kw_only=True)
class DepartmentRow:
    """One department: its people by outlook, its goals by standing, its open work."""

    department: str
    people: int
    meeting: tuple[str, ...]
    not_meeting: tuple[str, ...]
    none_under_way: tuple[str, ...]
    goals: dict[str, int]
    plans_due: int
    evaluations_outstanding: int


@attrs.frozen(kw_only=True)
class PlanDue:
    """A plan whose review is due."""

    id: str
    subject_id: str
    author_id: str
    kind: str
    due: dt.date
    overdue: bool


@attrs.frozen(kw_only=True)
class EvaluationRow:
    """An evaluation not yet finished (finalized, acknowledged or disputed)."""

    id: str
    subject_id: str
    evaluator_id: str | None
    state: str


@attrs.frozen(kw_only=True)
class StageRow:
    """One stage of a cycle, over the people in the report."""

    stage: str
    done: int
    total: int
    waiting_on: tuple[str, ...]


@attrs.frozen(kw_only=True)
class CycleRow:
    """A review cycle: its stage, each stage's work, and what holds it up."""

    id: str
    name: str
    state: str
    next_step: str | None
    participants: int
    stages: tuple[StageRow, ...]
    holding_up: str
    disputed: tuple[str, ...]


@attrs.frozen(kw_only=True)
class Report:
    """What ``reader`` may see on day ``on`` (see the module's documentation)."""

    reader: str
    on: dt.date
    sees: str
    departments: tuple[DepartmentRow, ...]
    people: tuple[PersonRow, ...]
    plans_due: tuple[PlanDue, ...]
    evaluations_outstanding: tuple[EvaluationRow, ...]
    cycles: tuple[CycleRow, ...]

    @property
    def behind(self) -> tuple[PersonRow, ...]:
        """The people not meeting their goals."""
        return tuple(person for person in self.people if person.outlook == "not_meeting")

    def to_data(self) -> dict[str, Any]:
        """The report as JSON data."""
        data: dict[str, Any] = attrs.asdict(self, recurse=True)
        return json.loads(json.dumps(data, default=_json_default))  # type: ignore[no-any-return]


def _json_default(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


# -- reading ------------------------------------------------------------------------------------


class _Day:
    """A clock that stands at noon (UTC) of one day: the day the reader is judged on."""

    def __init__(self, on: dt.date) -> None:
        self._at = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self._at


def newest_day(store: SQLiteStore) -> dt.date | None:
    """The day of the store's newest event, or ``None`` if it holds none."""
    with store.unit_of_work() as uow:
        position = uow.events.stable_position()
        while position > 0:
            found = uow.events.scan(after=max(0, position - 100), limit=100)
            if found:
                header = json.loads(found[-1].header)
                return dt.datetime.fromisoformat(header[4]).date()
            position -= 100
    return None


def _people_seen(directory: SQLiteDirectory, reader: Actor, on: dt.date) -> tuple[str, list[str]]:
    """Whose rows ``reader`` sees on ``on``: HR everyone in the directory; anyone else
    themselves and everyone below them."""
    if Role.HR in reader.roles:
        everyone = sorted({placement.person_id for placement in directory.placements()})
        return "everyone", [p for p in everyone if directory.person(p, on) is not None]
    found = [reader.id]
    queue = [reader.id]
    while queue:
        for report in directory.reports(queue.pop(0), on):
            if report not in found:
                found.append(report)
                queue.append(report)
    return ("their line" if len(found) > 1 else "themselves"), sorted(found)


def _cycle_ids(store: SQLiteStore) -> list[str]:
    """Every review cycle stored (whether the reader may read each is asked of the services)."""
    with store.unit_of_work() as uow:
        return sorted(
            head.id
            for state in ReviewCycleState
            for head in uow.events.find("ReviewCycle", "state", state.value)
        )


def build(
    store: SQLiteStore,
    directory: SQLiteDirectory,
    reader_id: str,
    on: dt.date,
    newest: dt.date | None = None,
) -> Report:
    """The report for ``reader_id`` on ``on``, read from ``store`` through the services.

    ``newest`` is the day of the store's newest record: a report for an earlier day says that
    a cycle's work (descriptions, evaluations, plans) is as recorded then, its goals as on ``on``.

    Raises:
        CommandError: the reader is not a person's id, or not in the directory that day.
    """
    who = printable(reader_id)
    try:
        reader = resolve_actor(directory, reader_id, on)
    except ValidationError as error:
        raise CommandError(f"--as {who!r} is not a person's id: {error}") from None
    except PermissionDenied:
        raise CommandError(f"{who!r} is not in the directory on {on}", EXIT_REFUSED) from None
    pc = Perfcore(store, directory=directory, clock=_Day(on))
    until = dt.datetime.combine(on + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    sees, people = _people_seen(directory, reader, on)
    seen = set(people)
    department: dict[str, str] = {}
    manager_of: dict[str, str | None] = {}
    for person in people:
        placed = directory.person(person, on)
        department[person] = (placed.department if placed else None) or "-"
        manager_of[person] = placed.manager_id if placed else None

    standings: dict[str, list[Standing]] = {person: [] for person in people}
    not_meeting: dict[str, list[str]] = {person: [] for person in people}

    def count(owner: str, goal_id: str, standing: Standing) -> None:
        standings[owner].append(standing)
        if standing in (Standing.BEHIND, Standing.MISSED):
            not_meeting[owner].append(goal_id)

    # Each review cycle the reader may read: its summary of every participant's work (their
    # goals and standings, evaluation, plans) and its progress, kept for the reader's people.
    cycles: list[CycleRow] = []
    evaluation_of: dict[str, str] = {}
    unfinished: list[tuple[str, str]] = []  # (participant, evaluation id)
    participants: set[str] = set()
    for cycle_id in _cycle_ids(store):
        try:
            cycle = pc.cycles.get(cycle_id, by=reader.id)
            status = pc.cycles.status(cycle_id, by=reader.id, on=on)
        except NotFound:
            continue  # a cycle the reader may not read: not theirs to hear of
        # The stage it was in at the end of the day, from its history (the summary of the
        # participants' work is as recorded now; their goals stand as on the day).
        events = [e for e in pc.history("ReviewCycle", cycle_id, by=reader.id) if e.at < until]
        if not events:
            continue  # not yet created that day
        progress = cycle.progress(status, on)
        row = _cycle_row(progress, events[-1].to_state, cycle.name, seen)
        if newest is not None and on < newest:
            row = attrs.evolve(
                row,
                holding_up=f"{row.holding_up} (descriptions, evaluations and plans as recorded"
                f" on {newest}; goals as they stood on {on})",
            )
        cycles.append(row)
        for entry in status.participants:
            person = entry.employee_id
            if person not in seen or person in participants:
                continue
            participants.add(person)
            for goal in entry.goals:
                count(person, goal.id, goal.standing)
            if entry.evaluation is not None:
                evaluation_of[person] = entry.evaluation.state
                if not entry.evaluation.finished:
                    unfinished.append((person, entry.evaluation.id))

    # The goals of the reader's people who are in no cycle they may read, manager by manager.
    others = [person for person in people if person not in participants]
    for manager in sorted({m for p in others if (m := manager_of[p]) is not None}):
        for goal_status in pc.queries.team_goals(manager, by=reader.id, on=on):
            owner = goal_status.owner_id
            if owner in seen and owner not in participants:
                count(owner, goal_status.goal.id, goal_status.standing)

    # The evaluations outstanding, each as the reader may read it (its evaluator is named only
    # to those who may read the evaluation).
    outstanding = []
    for person, evaluation_id in unfinished:
        view = pc.evaluations.find(evaluation_id, by=reader.id)
        outstanding.append(
            EvaluationRow(
                id=evaluation_id,
                subject_id=person,
                evaluator_id=view.evaluator_id if view is not None else None,
                state=str(view.state) if view is not None else evaluation_of[person],
            )
        )

    plans = tuple(
        PlanDue(
            id=review.plan.id,
            subject_id=review.plan.subject_id,
            author_id=review.plan.author_id,
            kind=str(review.plan.kind),
            due=review.due,
            overdue=review.due < on,
        )
        for review in pc.queries.plans_due_for_review(on, on + DUE_WITHIN, by=reader.id)
        if review.plan.subject_id in seen
    )
    due_per_person: dict[str, int] = {}
    for plan in plans:
        due_per_person[plan.subject_id] = due_per_person.get(plan.subject_id, 0) + 1

    rows = []
    for person in people:
        if not standings[person] and person not in participants:
            continue
        counts = GoalCounts.of(standings[person])
        rows.append(
            PersonRow(
                id=person,
                department=department[person],
                manager_id=manager_of[person],
                goals={standing: counts.count(standing) for standing in STANDINGS},
                outlook=counts.outlook.value,
                not_meeting=tuple(sorted(not_meeting[person])),
                evaluation=evaluation_of.get(person),
                plans_due=due_per_person.get(person, 0),
            )
        )
    rows.sort(key=lambda row: (row.department, row.id))
    return Report(
        reader=reader.id,
        on=on,
        sees=sees,
        departments=_departments(rows, plans, outstanding, department),
        people=tuple(rows),
        plans_due=plans,
        evaluations_outstanding=tuple(sorted(outstanding, key=lambda row: row.id)),
        cycles=tuple(cycles),
    )


def _cycle_row(progress: ProgressReport, state: str, name: str, seen: set[str]) -> CycleRow:
    """The cycle's progress, over the people in the report."""
    mine = [p for p in progress.participants if p.employee_id in seen]
    stages = tuple(
        StageRow(
            stage=stage.stage.value,
            done=sum(1 for person in stage.done if person in seen),
            total=len(mine),
            waiting_on=tuple(person for person in stage.waiting_on if person in seen),
        )
        for stage in progress.stages
    )
    blockers = [b for stage in progress.stages for b in stage.blockers if b.employee_id in seen]
    waited_for, step = _NEXT.get(state, (None, None))
    current = [b for b in blockers if waited_for is not None and b.stage is waited_for]
    if step is None:
        holding = "closed"
    elif current:
        holding = f"to {step}: {explain(current)}"
    elif blockers:
        holding = f"nothing holds up the next step ({step}); still open: {explain(blockers)}"
    else:
        holding = f"nothing holds up the next step ({step})"
    return CycleRow(
        id=progress.cycle_id,
        name=name,
        state=state,
        next_step=step,
        participants=len(mine),
        stages=stages,
        holding_up=holding,
        disputed=tuple(person for person in progress.disputed if person in seen),
    )


def _departments(
    rows: Sequence[PersonRow],
    plans: Sequence[PlanDue],
    outstanding: Sequence[EvaluationRow],
    department: dict[str, str],
) -> tuple[DepartmentRow, ...]:
    names = sorted({row.department for row in rows})
    found = []
    for name in names:
        members = [row for row in rows if row.department == name]
        found.append(
            DepartmentRow(
                department=name,
                people=len(members),
                meeting=tuple(row.id for row in members if row.outlook == "meeting"),
                not_meeting=tuple(row.id for row in members if row.outlook == "not_meeting"),
                none_under_way=tuple(row.id for row in members if row.outlook == "none_under_way"),
                goals={s: sum(row.goals[s] for row in members) for s in STANDINGS},
                plans_due=sum(1 for plan in plans if department.get(plan.subject_id) == name),
                evaluations_outstanding=sum(
                    1 for row in outstanding if department.get(row.subject_id) == name
                ),
            )
        )
    return tuple(found)


# -- writing ------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    cells = [list(header)] + [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[n]) for row in cells) for n in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]


def _names(ids: Sequence[str], most: int = 8) -> str:
    if not ids:
        return "-"
    shown = ", ".join(ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


def _cut(items: Sequence[T], most: int | None) -> tuple[Sequence[T], list[str]]:
    """At most ``most`` of ``items``, and a line saying how many more there are, if any."""
    if most is None or len(items) <= most:
        return items, []
    return items[:most], [f"  ... and {len(items) - most:,} more"]


def as_table(report: Report, most: int | None = None) -> str:
    """The report as text: sections of aligned columns (at most ``most`` people in each list
    of people, if given)."""
    lines = [
        f"perfcore report for {report.reader} on {report.on} (sees {report.sees})",
        "",
    ]
    for cycle in report.cycles:
        lines.append(f"Review cycle {cycle.id} ({cycle.name}): stage {cycle.state}")
        lines.append(f"  {cycle.holding_up}")
        lines += [
            "  " + line
            for line in _table(
                ("stage", "done", "of", "waiting on"),
                ((s.stage, s.done, s.total, _names(s.waiting_on)) for s in cycle.stages),
            )
        ]
        if cycle.disputed:
            lines.append(f"  disputing their evaluation: {_names(cycle.disputed)}")
        lines.append("")
    if not report.cycles:
        lines += [f"No review cycle this person may read existed on {report.on}.", ""]
    lines.append("Goals per department")
    lines += _table(
        ("department", "people", "meeting", "not meeting", "none under way", *STANDINGS),
        (
            (
                d.department,
                d.people,
                len(d.meeting),
                len(d.not_meeting),
                len(d.none_under_way),
                *(d.goals[s] for s in STANDINGS),
            )
            for d in report.departments
        ),
    )
    lines += ["", "Not meeting their goals"]
    behind, more_behind = _cut(report.behind, most)
    people, more_people = _cut(report.people, most)
    lines += (
        _table(
            ("department", "person", "manager", "goals behind or missed"),
            ((p.department, p.id, p.manager_id or "-", ", ".join(p.not_meeting)) for p in behind),
        )
        if behind
        else ["  nobody"]
    )
    lines += more_behind
    lines += ["", "People"]
    lines += _table(
        ("department", "person", "manager", "goals", "outlook", "evaluation", "plans due"),
        (
            (
                p.department,
                p.id,
                p.manager_id or "-",
                sum(p.goals.values()),
                p.outlook.replace("_", " "),
                p.evaluation or "-",
                p.plans_due,
            )
            for p in people
        ),
    )
    lines += more_people
    plans, more_plans = _cut(report.plans_due, most)
    lines += ["", f"Plans due for review by {report.on + DUE_WITHIN}"]
    lines += (
        _table(
            ("due", "plan", "subject", "author", "kind", ""),
            (
                (p.due, p.id, p.subject_id, p.author_id, p.kind, "overdue" if p.overdue else "")
                for p in plans
            ),
        )
        if plans
        else ["  none"]
    )
    lines += more_plans
    evaluations, more_evaluations = _cut(report.evaluations_outstanding, most)
    lines += ["", "Evaluations outstanding"]
    lines += (
        _table(
            ("evaluation", "subject", "evaluator", "state"),
            ((e.id, e.subject_id, e.evaluator_id or "-", e.state) for e in evaluations),
        )
        if evaluations
        else ["  none"]
    )
    lines += more_evaluations
    return "\n".join(lines) + "\n"


def as_csv(report: Report) -> str:
    """The report as CSV: one row per person (the plans and evaluations are theirs)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "on",
            "department",
            "person",
            "manager",
            "outlook",
            *(f"goals_{s}" for s in STANDINGS),
            "goals_behind_or_missed",
            "evaluation",
            "plans_due",
        ]
    )
    for p in report.people:
        writer.writerow(
            [
                report.on.isoformat(),
                p.department,
                p.id,
                p.manager_id or "",
                p.outlook,
                *(p.goals[s] for s in STANDINGS),
                " ".join(p.not_meeting),
                p.evaluation or "",
                p.plans_due,
            ]
        )
    return out.getvalue()


def render(report: Report, form: str) -> str:
    """The report in format ``form`` (one of :data:`FORMATS`)."""
    if form == "json":
        return json.dumps(report.to_data(), indent=2, sort_keys=True) + "\n"
    if form == "csv":
        return as_csv(report)
    if form == "html":
        from perfcore.cli._report_html import as_html

        return as_html(report)
    return as_table(report)


# -- the command --------------------------------------------------------------------------------


def _directory(text: str) -> SQLiteDirectory:
    path, tables = sqlite_tables(text, "directory")
    if _DIRECTORY_TABLE not in tables:
        raise CommandError(
            f"{text} keeps no directory (no {_DIRECTORY_TABLE} table), so who may see what"
            " cannot be checked: name the file that does with --directory"
        )
    return SQLiteDirectory(path)


def _run(arguments: argparse.Namespace) -> int:
    if arguments.output is not None:
        target = Path(arguments.output).expanduser()
        if not target.parent.is_dir():
            raise CommandError(f"{arguments.output}: no such folder {str(target.parent)!r}")
        if target.is_dir():
            raise CommandError(f"{arguments.output}: is a folder, not a file")
    with open_store(arguments.db) as store:
        directory = _directory(arguments.directory or arguments.db)
        try:
            newest = newest_day(store)
            on = arguments.as_of or newest or dt.datetime.now(dt.UTC).date()
            report = build(store, directory, arguments.reader, on, newest)
        finally:
            directory.close()
    text = render(report, arguments.format)
    if arguments.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        Path(arguments.output).expanduser().write_text(text, encoding="utf-8")
    except OSError as error:
        raise CommandError(f"{arguments.output}: cannot be written ({error.strerror})") from None
    write(f"wrote the report for {report.reader} on {report.on} to {arguments.output}")
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report`` to the ``perfcore`` command."""
    parser = commands.add_parser(
        "report",
        help="who is meeting their goals, what is due, where the cycle stands",
        description="What PERSON may see on a day, read through the library's authorised reads"
        " (HR sees everyone; anyone else themselves and the people below them): per department"
        " and person, who is meeting their goals and who is not, plans due for review,"
        " evaluations outstanding, and each review cycle's stage and what holds it up. Exit"
        " status 2: bad input; 3: PERSON is not in the directory that day.",
    )
    parser.add_argument("--db", required=True, metavar="PATH", help="the SQLite database")
    parser.add_argument(
        "--as", dest="reader", required=True, metavar="PERSON", help="who is reading (their id)"
    )
    parser.add_argument(
        "--as-of",
        type=day,
        metavar="DATE",
        help="the day (YYYY-MM-DD) to report on, as the records stood at its end (default: the"
        " day of the database's newest record)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (the default), json, csv (one row per person) or html (one self-contained"
        " page with charts)",
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write the report to FILE instead of standard output"
    )
    parser.add_argument(
        "--directory",
        metavar="PATH",
        help="the SQLite file that keeps the directory (default: the database itself)",
    )
    parser.set_defaults(run=_run)
