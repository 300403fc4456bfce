"""What the commands share: refusing bad input in one line, opening a database for reading."""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
from pathlib import Path
from typing import NoReturn

from perfcore.adapters.sqlite import SQLiteStore

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_TAMPERED",
    "CommandError",
    "Parser",
    "day",
    "open_store",
    "printable",
]

#: The command did what was asked (``audit verify``: the store is intact).
EXIT_OK = 0
#: ``audit verify`` found the store tampered with.
EXIT_TAMPERED = 1
#: Bad input: a missing file, not a perfcore database, a newer schema, a bad date, an unknown id,
#: a wrong argument.
EXIT_BAD_INPUT = 2
#: The person named with ``--as`` may not read what was asked for.
EXIT_REFUSED = 3


class CommandError(Exception):
    """A command cannot go on: its message is the one line the user sees.

    Args:
        message: what is wrong and, where it helps, what to do.
        code: the exit status.
    """

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """An argument parser that refuses bad arguments in one line, not with its usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def printable(text: object) -> str:
    """``text`` on one line, with anything a terminal would act on (escape sequences, line
    breaks) shown escaped: stored text is other people's input."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in str(text))


def day(text: str) -> dt.date:
    """An ISO date given on the command line (``2026-03-31``)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _tables(path: Path) -> set[str]:
    """The tables of the SQLite file at ``path``, read without changing it."""
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise CommandError(f"{path}: cannot be opened ({error})") from None
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError as error:
        raise CommandError(f"{path} is not a perfcore database (not SQLite: {error})") from None
    finally:
        conn.close()
    return {str(name) for (name,) in rows}


def existing_file(text: str, what: str = "database") -> Path:
    """The file ``text`` names, which must exist."""
    path = Path(text).expanduser()
    if not path.exists():
        raise CommandError(f"{text}: no such {what}")
    if not path.is_file():
        raise CommandError(f"{text}: not a file")
    return path.resolve()


def sqlite_tables(text: str, what: str = "database") -> tuple[Path, set[str]]:
    """The SQLite file ``text`` names, and its tables."""
    path = existing_file(text, what)
    return path, _tables(path)


def open_store(text: str) -> SQLiteStore:
    """The perfcore SQLite database at ``text``, opened read-only.

    Raises:
        CommandError: the file is missing, not SQLite, holds no perfcore store, or was written
            by a newer perfcore (the store's own message says so).
    """
    path, tables = sqlite_tables(text)
    if "meta" not in tables:
        raise CommandError(f"{text} is not a perfcore database (it has no perfcore tables)")
    return SQLiteStore(path, read_only=True)


def write(line: str = "") -> None:
    """One line of the command's output."""
    sys.stdout.write(line + "\n")
