"""The ``perfcore`` command (also ``python -m perfcore``).

Commands:

- ``perfcore demo [--db PATH] [--people N] [--seed S] [--force]``: a generated organisation
  through a whole review cycle on SQLite (:mod:`perfcore.demo.cycle`), and HR's report.
- ``perfcore report --db PATH --as PERSON [--as-of DATE] [--format table|json|csv|html]
  [--output FILE]``: what PERSON may see: who is meeting their goals, plans due, evaluations
  outstanding, each cycle's stage and what holds it up.
- ``perfcore diagram [TYPE] [--format mermaid|dot]``: the lifecycle diagrams, from the tables.
- ``perfcore audit verify --db PATH [--key-file FILE] [--checkpoint LINE] [--quick]``: prove a
  SQLite database against its events; exit status 0 when intact, 1 when tampered with.
- ``perfcore history --db PATH --as PERSON [--as-of DATE] [--kind TYPE] [--directory PATH] ID``:
  one object's timeline, if the policy lets PERSON read it (``Perfcore.history(..., by=)``).

Bad input (a missing file, a file that is not a perfcore database, one written by a newer
perfcore, a bad date, an unknown id, or one the person may not read, of which they are told
nothing) is one line on stderr and exit status 2; a person the directory does not know that day,
or who may read an object but not its history, exit status 3.

>>> main(["diagram", "goal"])
%% Goal
stateDiagram-v2
    [*] --> draft
...
0

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from perfcore.cli import _audit, _demo, _diagram, _history, _report
from perfcore.cli._common import EXIT_BAD_INPUT, CommandError, Parser, printable
from perfcore.errors import PerfcoreError

__all__ = ["COMMANDS", "main", "parser"]

#: Each command's ``add_parser(subparsers)``, in the order ``perfcore --help`` lists them.
COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _demo.add_parser,
    _report.add_parser,
    _diagram.add_parser,
    _history.add_parser,
    _audit.add_parser,
)


def parser() -> argparse.ArgumentParser:
    """The ``perfcore`` command's argument parser."""
    from perfcore import __version__

    top = Parser(
        prog="perfcore",
        description="perfcore on the command line: run a demo organisation's review cycle,"
        " report on a database, draw the lifecycles, read an object's history, verify a"
        " database's audit trail.",
    )
    top.add_argument("--version", action="version", version=f"perfcore {__version__}")
    commands: argparse._SubParsersAction[argparse.ArgumentParser] = top.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )
    for add in COMMANDS:
        add(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``perfcore`` command with ``argv`` (by default the process's arguments).

    Returns:
        The exit status: 0 done, 1 the audit found tampering, 2 bad input, 3 not permitted.
    """
    arguments = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = arguments.run
    try:
        return run(arguments)
    except CommandError as error:
        return _refuse(str(error), error.code)
    except PerfcoreError as error:  # the library's own refusal, which says what to do
        return _refuse(str(error), EXIT_BAD_INPUT)
    except BrokenPipeError:  # the reader of the output went away (| head)
        sys.stderr.close()
        return 0


def _refuse(message: str, code: int) -> int:
    sys.stderr.write(f"perfcore: {printable(' '.join(message.split()))}\n")
    return code
