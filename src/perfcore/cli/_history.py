"""``perfcore history``: one object's timeline, for a person who may read it.

perfcore has no authorised read of a history yet (the services' ``Perfcore.history`` names no
reader), so this command decides who may read one from what the library has: the directory (the
reader as it has them on the day, with their relations and roles), and, for an evaluation, the
evaluation's own :func:`~perfcore.visibility.view_for`. :func:`may_read_history` is the rule.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from perfcore import Perfcore
from perfcore._aggregate import Aggregate
from perfcore.actor import Actor, Role
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
from perfcore.directory import Directory, resolve_actor
from perfcore.errors import PermissionDenied, ValidationError
from perfcore.evaluation import Evaluation
from perfcore.events import Event
from perfcore.goal import Goal
from perfcore.job_description import JobDescription
from perfcore.plan import ApproverKind, Plan
from perfcore.policy import DEFAULT_POLICY, Policy
from perfcore.services._base import AggregateService

__all__ = ["add_parser", "may_read_history", "timeline"]

#: The directory's table (:mod:`perfcore.adapters.sqlite_directory`).
_DIRECTORY_TABLE = "directory_placements"


def _people(obj: Aggregate) -> tuple[set[str], set[str]]:
    """Who an object names (``named``), and whose object it is (``subjects``: their managers
    up the line may read it too)."""
    if isinstance(obj, Goal):
        return {obj.owner_id, obj.manager_id}, {obj.owner_id}
    if isinstance(obj, Plan):
        subjects = {obj.subject_id, *obj.team_member_ids}
        named = {obj.author_id, *subjects}
        if obj.approver is not None and obj.approver.kind is ApproverKind.PERSON:
            named.add(obj.approver.id)
        return named, subjects
    if isinstance(obj, JobDescription):
        employee = set() if obj.employee_id is None else {obj.employee_id}
        return {obj.author_id, *employee}, employee
    return set(), set()  # a review cycle: HR's


def may_read_history(reader: Actor, obj: Aggregate, policy: Policy = DEFAULT_POLICY) -> bool:
    """Whether ``reader`` may read ``obj``'s whole history: who did what, when and why.

    - An evaluation's history names every reviewer and holds what each said, so only those
      :func:`~perfcore.visibility.view_for` shows the whole evaluation (its evaluator, and HR
      unless they are its subject) may read it.
    - Anything else: HR; the people it names (a goal's owner and manager; a plan's subject, team,
      author and named approver; a description's author and employee); and the managers, up
      the line in the directory, of the person it is about. A review cycle: HR only.

    ``reader`` is an actor the directory resolved (:func:`~perfcore.directory.resolve_actor`):
    its roles and relations are the directory's on the day.
    """
    if isinstance(obj, Evaluation):
        try:
            return bool(obj.view_for(reader, policy)["audience"] == "full")
        except PermissionDenied:
            return False
    if reader.is_a(Role.HR):
        return True
    named, subjects = _people(obj)
    if reader.id in named:
        return True
    relations = reader.relations
    return relations is not None and any(relations.manages(person) for person in subjects)


def _directory(arguments: argparse.Namespace) -> SQLiteDirectory:
    source = arguments.directory or arguments.db
    path, tables = sqlite_tables(source, "directory")
    if _DIRECTORY_TABLE not in tables:
        raise CommandError(
            f"{source} keeps no directory (no {_DIRECTORY_TABLE} table), so who {arguments.reader}"
            " is cannot be checked: name the file that does with --directory"
        )
    return SQLiteDirectory(path)


def _find(pc: Perfcore, id: str, kind: str | None) -> Aggregate:
    services: dict[str, AggregateService[Any]] = {
        "JobDescription": pc.job_descriptions,
        "Goal": pc.goals,
        "Plan": pc.plans,
        "Evaluation": pc.evaluations,
        "ReviewCycle": pc.cycles,
    }
    try:
        if kind is not None:
            found: Aggregate | None = services[kind].find(id)
            if found is None:
                raise CommandError(f"no {kind} is stored under {printable(id)!r}")
            return found
        matches: list[Aggregate] = []
        for service in services.values():
            one = service.find(id)
            if one is not None:
                matches.append(one)
    except ValidationError as error:
        raise CommandError(f"{printable(id)!r} is not an id: {printable(error)}") from None
    if not matches:
        raise CommandError(f"nothing is stored under {printable(id)!r}")
    if len(matches) > 1:
        kinds = ", ".join(type(one).__name__ for one in matches)
        raise CommandError(
            f"several objects are stored under {printable(id)!r} ({kinds}): choose with --kind"
        )
    return matches[0]


def timeline(events: Sequence[Event]) -> Iterable[str]:
    """An object's events as the lines of a table: version, when, who, trigger, from, to, why.

    >>> import datetime as dt
    >>> at = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    >>> made = Event(aggregate_type="Goal", aggregate_id="g-1", version=1, trigger="create",
    ...     from_state=None, to_state="draft", actor_id="ana", at=at, reason="agreed\\nin 1:1")
    >>> print("\\n".join(timeline([made])))
    version  at                         by   trigger  from  to     why
    1        2026-01-05T09:00:00+00:00  ana  create   -     draft  agreed\\nin 1:1
    """
    header = ("version", "at", "by", "trigger", "from", "to", "why")
    rows = [header] + [
        (
            str(event.version),
            event.at.isoformat(),
            printable(event.actor_id),
            printable(event.trigger),
            printable(event.from_state or "-"),
            printable(event.to_state),
            printable(event.reason),
        )
        for event in events
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        yield "  ".join([*cells, row[-1]]).rstrip()


def _run(arguments: argparse.Namespace) -> int:
    on = arguments.as_of or dt.datetime.now(dt.UTC).date()
    directory = _directory(arguments)
    try:
        kind, obj, events = _read(arguments, directory, on)
    finally:
        directory.close()
    state = getattr(obj, "state", "")
    write(f"{kind} {printable(obj.id)!r}: {state}, version {obj.version}")
    for line in timeline(events):
        write(line)
    return EXIT_OK


def _read(
    arguments: argparse.Namespace, directory: Directory, on: dt.date
) -> tuple[str, Aggregate, Sequence[Event]]:
    """The object ``arguments.id``, and its events, if ``arguments.reader`` may read them."""
    with open_store(arguments.db) as store:
        pc = Perfcore(store, directory=directory, cache_size=0)
        obj = _find(pc, arguments.id, arguments.kind)
        kind = type(obj).__name__
        try:
            reader = resolve_actor(directory, arguments.reader, on)
        except ValidationError as error:
            who = printable(arguments.reader)
            raise CommandError(f"--as {who!r} is not a person's id: {error}") from None
        except PermissionDenied:
            who = printable(arguments.reader)
            raise CommandError(f"{who!r} is not in the directory on {on}", EXIT_REFUSED) from None
        if not may_read_history(reader, obj, pc.policy):
            raise CommandError(
                f"{reader.id!r} may not read the history of {kind} {printable(obj.id)!r} on {on}",
                EXIT_REFUSED,
            )
        return kind, obj, pc.history(kind, obj.id)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``history`` to the ``perfcore`` command."""
    parser = commands.add_parser(
        "history",
        help="one object's timeline",
        description="One object's timeline: for each event, its version, when, who, the trigger,"
        " from which state to which, and why; shown only if PERSON may read it on the day"
        " (HR; the people the object names; the managers up the line of the person it is about;"
        " for an evaluation, its evaluator and HR). Exit status 2: bad input; 3: PERSON may not"
        " read it.",
    )
    parser.add_argument("id", metavar="ID", help="the object's id")
    parser.add_argument("--db", required=True, metavar="PATH", help="the SQLite database")
    parser.add_argument(
        "--as", dest="reader", required=True, metavar="PERSON", help="who is reading (their id)"
    )
    parser.add_argument(
        "--as-of",
        type=day,
        metavar="DATE",
        help="the day the directory is read for PERSON (YYYY-MM-DD; default: today, in UTC)",
    )
    parser.add_argument(
        "--kind",
        choices=("JobDescription", "Goal", "Plan", "Evaluation", "ReviewCycle"),
        metavar="TYPE",
        help="the object's type (JobDescription, Goal, Plan, Evaluation, ReviewCycle), when"
        " several types have an object with that id",
    )
    parser.add_argument(
        "--directory",
        metavar="PATH",
        help="the SQLite file the directory is kept in (default: the database itself)",
    )
    parser.set_defaults(run=_run)
