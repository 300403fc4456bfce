"""``perfcore history``: one object's timeline, for a person who may read it.

Who may read a history is the library's decision, not this command's: it asks the services with
the person as reader (``Perfcore.history(kind, id, by=PERSON)``), on a clock set to the day
``--as-of`` names, so that the policy's ``(type, "history")`` rule judges them as the directory
has them that day (see :mod:`perfcore.reading`). Like the services, it tells someone who may not
read an object nothing about it: not even that it exists.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from perfcore import Perfcore
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
from perfcore.errors import NotFound, PermissionDenied, ValidationError
from perfcore.events import Event
from perfcore.services import service_names

__all__ = ["add_parser", "kinds", "timeline"]

#: The directory's table (:mod:`perfcore.adapters.sqlite_directory`).
_DIRECTORY_TABLE = "directory_placements"
#: The types shown first, in this order; any other stored type follows, by name.
FIRST = ("JobDescription", "Goal", "Plan", "Evaluation", "ReviewCycle")


def kinds() -> tuple[str, ...]:
    """Every type perfcore stores with a service, in the order an id is looked for."""
    names = sorted(service_names())
    return tuple(name for name in FIRST if name in names) + tuple(
        name for name in names if name not in FIRST
    )


class _Day:
    """A clock that stands at noon (UTC) of one day: the day the reader is judged on."""

    def __init__(self, on: dt.date) -> None:
        self._at = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self._at


def _directory(arguments: argparse.Namespace) -> SQLiteDirectory:
    source = arguments.directory or arguments.db
    path, tables = sqlite_tables(source, "directory")
    if _DIRECTORY_TABLE not in tables:
        raise CommandError(
            f"{source} keeps no directory (no {_DIRECTORY_TABLE} table), so who {arguments.reader}"
            " is cannot be checked: name the file that does with --directory"
        )
    return SQLiteDirectory(path)


def _services(pc: Perfcore) -> dict[str, Any]:
    """Each stored type's service on ``pc`` (``{"Goal": pc.goals, ...}``)."""
    return {kind: getattr(pc, attribute) for kind, attribute in service_names().items()}


def _kind(pc: Perfcore, id: str, reader: str, kind: str | None) -> str:
    """The type of the object ``id`` that ``reader`` may read."""
    if kind is not None:
        return kind
    services = _services(pc)
    found = [name for name in kinds() if services[name].find(id, by=reader) is not None]
    if not found:
        raise CommandError(f"nothing {reader!r} may read is stored under {printable(id)!r}")
    if len(found) > 1:
        types = ", ".join(found)
        raise CommandError(
            f"several objects are stored under {printable(id)!r} ({types}): choose with --kind"
        )
    return found[0]


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
        kind, id, events = _read(arguments, directory, on)
    finally:
        directory.close()
    last = events[-1]
    write(f"{kind} {printable(id)!r}: {printable(last.to_state)}, version {last.version}")
    for line in timeline(events):
        write(line)
    return EXIT_OK


def _read(
    arguments: argparse.Namespace, directory: Directory, on: dt.date
) -> tuple[str, str, Sequence[Event]]:
    """The kind, id and events of ``arguments.id``, read as ``arguments.reader`` on ``on``."""
    who = printable(arguments.reader)
    try:
        reader = resolve_actor(directory, arguments.reader, on).id
    except ValidationError as error:
        raise CommandError(f"--as {who!r} is not a person's id: {error}") from None
    except PermissionDenied:
        raise CommandError(f"{who!r} is not in the directory on {on}", EXIT_REFUSED) from None
    id = arguments.id
    with open_store(arguments.db) as store:
        pc = Perfcore(store, directory=directory, clock=_Day(on), cache_size=0)
        try:
            kind = _kind(pc, id, reader, arguments.kind)
        except ValidationError as error:
            raise CommandError(f"{printable(id)!r} is not an id: {printable(error)}") from None
        try:
            return kind, id, pc.history(kind, id, by=reader)
        except NotFound:
            raise CommandError(
                f"nothing {reader!r} may read is stored under {printable(id)!r}"
            ) from None
        except PermissionDenied as refused:
            raise CommandError(
                f"{reader!r} may not read the history of {kind} {printable(id)!r}: only"
                f" {printable(refused.rule)}",
                EXIT_REFUSED,
            ) from None


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``history`` to the ``perfcore`` command."""
    parser = commands.add_parser(
        "history",
        help="one object's timeline",
        description="One object's timeline: for each event, its version, when, who, the trigger,"
        " from which state to which, and why; shown only if the policy lets PERSON read it, as"
        " the directory has them on the day (by default the people the object is about and"
        " names, their managers up the line, and HR; an evaluation's history, its evaluator and"
        " HR). Someone who may not read an object is told nothing of it. Exit status 2: bad"
        " input, or nothing PERSON may read under ID; 3: PERSON is not in the directory that"
        " day, or may read the object but not its history.",
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
        choices=kinds(),
        metavar="TYPE",
        help=f"the object's type ({', '.join(kinds())}), when several types have an object"
        " with that id",
    )
    parser.add_argument(
        "--directory",
        metavar="PATH",
        help="the SQLite file the directory is kept in (default: the database itself)",
    )
    parser.set_defaults(run=_run)
