"""``perfcore demo``: a generated organisation through a whole review cycle, on SQLite.

The scenario is the library's (:func:`perfcore.demo.cycle.run`); this command chooses the file,
shows a progress bar on stderr while it runs, and prints HR's report at the end. The database is
written beside its destination and moved into place when it is complete, so an interrupted demo
leaves nothing half-made; an existing file is replaced only with ``--force``, and only if it is
a SQLite database (or empty).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import attrs

from perfcore.adapters.sqlite import SQLiteStore
from perfcore.adapters.sqlite_directory import SQLiteDirectory
from perfcore.cli._common import EXIT_OK, CommandError, printable, write
from perfcore.cli._report import as_table, build
from perfcore.demo.cycle import MAX_PEOPLE, MIN_PEOPLE, DemoResult, run

__all__ = ["DEFAULT_DB", "ProgressBar", "add_parser"]

#: Where the demo writes by default (in the current folder).
DEFAULT_DB = "perfcore-demo.sqlite3"
#: The People section of the report printed at the end shows at most this many rows.
SHOWN = 40
_SIDE_FILES = ("-wal", "-shm", "-journal")


class ProgressBar:
    """A plain-text progress bar: redrawn in place on a terminal, else a line per tenth."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._last: tuple[int, str] | None = None
        self._started = time.perf_counter()

    def __call__(self, done: int, total: int, phase: str) -> None:
        share = done / total if total else 1.0
        percent = int(share * 100)
        filled = int(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        took = time.perf_counter() - self._started
        line = f"[{bar}] {percent:3d}% {took:5.1f} s  {phase}"
        if self.tty:
            self.stream.write("\r" + line.ljust(78))
            if done >= total:
                self.stream.write("\n")
        elif self._last is None or percent // 10 > self._last[0] // 10 or done >= total:
            self.stream.write(line + "\n")
        else:
            return
        self._last = (percent, phase)
        self.stream.flush()


def _is_sqlite(path: Path) -> bool:
    """Whether ``path`` is empty or a SQLite database."""
    if path.stat().st_size == 0:
        return True
    with path.open("rb") as file:
        return file.read(16) == b"SQLite format 3\x00"


def _destination(text: str, force: bool) -> Path:
    path = Path(text).expanduser()
    if path.is_dir():
        raise CommandError(f"{text}: is a folder; name the database file to write with --db")
    if not path.parent.is_dir():
        raise CommandError(f"{text}: no such folder {str(path.parent)!r}")
    if path.exists():
        if not force:
            raise CommandError(
                f"{text} exists: the demo never overwrites a file; pass --force to replace it,"
                " or choose another file with --db"
            )
        if not _is_sqlite(path):
            raise CommandError(f"{text} is not a SQLite database: not replaced, even with --force")
    return path


def _remove(path: Path) -> None:
    for name in (path.name, *(path.name + side for side in _SIDE_FILES)):
        (path.parent / name).unlink(missing_ok=True)


def _report(result: DemoResult) -> str:
    with SQLiteStore(result.path, read_only=True) as store:
        directory = SQLiteDirectory(result.path)
        try:
            report = build(store, directory, result.hr_id, result.on)
        finally:
            directory.close()
    return as_table(report, most=SHOWN)


def _run(arguments: argparse.Namespace) -> int:
    people, seed = arguments.people, arguments.seed
    if not MIN_PEOPLE <= people <= MAX_PEOPLE:
        raise CommandError(f"--people {people}: must be from {MIN_PEOPLE} to {MAX_PEOPLE:,}")
    if seed < 0:
        raise CommandError(f"--seed {seed}: must be 0 or more")
    path = _destination(arguments.db, arguments.force)
    partial = path.with_name(f".{path.name}.partial")
    _remove(partial)
    started = time.perf_counter()
    try:
        result = run(partial, people=people, seed=seed, progress=ProgressBar(sys.stderr))
        _remove(path)
        os.replace(partial, path)
    except KeyboardInterrupt:
        _remove(partial)
        sys.stderr.write("\n")
        raise CommandError(f"interrupted: {printable(arguments.db)} was not written", 130) from None
    except OSError as error:
        _remove(partial)
        raise CommandError(f"{printable(arguments.db)}: cannot be written ({error})") from None
    except BaseException:
        _remove(partial)
        raise
    took = time.perf_counter() - started
    result = attrs.evolve(result, path=path)
    shown = printable(arguments.db)
    write(
        f"perfcore demo: {result.people:,} people, {result.commands:,} commands through the"
        f" services in {took:.1f} s, written to {shown} (seed {seed})"
    )
    write()
    sys.stdout.write(_report(result))
    write()
    write("Try next:")
    write(f"  perfcore report --db {shown} --as {result.manager_behind}  # a manager behind")
    write(f"  perfcore report --db {shown} --as {result.hr_id} --format html --output report.html")
    write(f"  perfcore history --db {shown} --as {result.hr_id} g-{result.manager_behind}-year")
    write(f"  perfcore audit verify --db {shown}")
    return EXIT_OK


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the ``perfcore`` command."""
    parser = commands.add_parser(
        "demo",
        help="run a whole review cycle over a generated organisation",
        description="Generate an organisation (its directory kept in the database) and run a"
        " year's review cycle through the services on SQLite: role descriptions drafted,"
        " discussed, one revised, endorsed and published; goals proposed and approved, checked"
        " in each quarter, some achieved, some missed, one manager far behind; evaluations with"
        " self reviews, feedback, a calibrated divergence and disputes; plans approved and"
        " reviewed every month, some attained. The same seed gives the same records (people,"
        " objects, events and their days) and the same report, which is printed at the end (as"
        " HR sees it).",
    )
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        metavar="PATH",
        help=f"the SQLite file to write (default: ./{DEFAULT_DB}); never overwritten without"
        " --force",
    )
    parser.add_argument(
        "--people",
        type=_whole,
        default=40,
        metavar="N",
        help=f"how many people (default 40, from {MIN_PEOPLE} to {MAX_PEOPLE:,})",
    )
    parser.add_argument(
        "--seed", type=_whole, default=0, metavar="S", help="which organisation and story"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the file if it exists (a SQLite file)"
    )
    parser.set_defaults(run=_run)
