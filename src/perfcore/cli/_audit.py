"""``perfcore audit verify``: prove a SQLite database's state against its events."""

from __future__ import annotations

import argparse

from perfcore.audit import AuditCheckpoint, AuditReport, verify_store
from perfcore.cli._common import (
    EXIT_OK,
    EXIT_TAMPERED,
    CommandError,
    Parser,
    existing_file,
    open_store,
    printable,
    write,
)
from perfcore.errors import ValidationError

__all__ = ["add_parser", "describe"]


def _key(text: str | None) -> bytes | None:
    if text is None:
        return None
    path = existing_file(text, "key file")
    try:
        key = path.read_bytes()
    except OSError as error:
        raise CommandError(f"{text}: cannot be read ({error.strerror})") from None
    if not key:
        raise CommandError(f"{text} is empty: the audit key is the file's bytes")
    return key


def _checkpoint(text: str | None) -> AuditCheckpoint | None:
    if text is None:
        return None
    try:
        return AuditCheckpoint.from_text(text)
    except ValidationError:
        raise CommandError(
            f"{text!r} is not an audit checkpoint (the line an intact verification prints)"
        ) from None


def describe(report: AuditReport) -> str:
    """Where a report's first fault is, in words: ``Goal 'g-1' version 2 (position 5)``."""
    where = []
    if report.kind is not None:
        where.append(f"{report.kind} {report.id!r}" if report.id is not None else report.kind)
    if report.version is not None:
        where.append(f"version {report.version}")
    if report.position is not None:
        where.append(f"(position {report.position})")
    if report.seal is not None:
        where.append(f"seal {report.seal}")
    return printable(" ".join(where) or "the store as a whole")


def _run(arguments: argparse.Namespace) -> int:
    key = _key(arguments.key_file)
    checkpoint = _checkpoint(arguments.checkpoint)
    with open_store(arguments.db) as store:
        report = verify_store(store, key=key, checkpoint=checkpoint, replay=not arguments.quick)
    counts = f"{report.events} events in {report.streams} streams, {report.seals} seals checked"
    if report.intact:
        write(f"intact: {counts}")
        if report.checkpoint is not None:
            write(f"checkpoint: {report.checkpoint.as_text()}")
        return EXIT_OK
    problem = report.problem.value if report.problem is not None else "problem"
    write(f"TAMPERED: {problem} at {describe(report)}: {printable(report.detail)}")
    write(f"checked before the fault: {counts}")
    return EXIT_TAMPERED


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit verify`` to the ``perfcore`` command."""
    audit = commands.add_parser(
        "audit", help="verify the audit trail", description="The audit trail of a database."
    )
    actions = audit.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=Parser
    )
    verify = actions.add_parser(
        "verify",
        help="prove the stored state against the events",
        description="Prove a perfcore SQLite database against its events, opened read-only:"
        " every stream's hash chain, every object equal to the replay of its events, and the"
        " seals over the global order. Exit status 0: intact (the checkpoint to keep outside"
        " the database is printed); 1: tampered with, saying what and where; 2: bad input.",
    )
    verify.add_argument("--db", required=True, metavar="PATH", help="the SQLite database")
    verify.add_argument(
        "--key-file",
        metavar="FILE",
        help="a file holding the audit key the database was written with (its bytes exactly,"
        " as given to Perfcore(audit_key=...)); without it, plain SHA-256",
    )
    verify.add_argument(
        "--checkpoint",
        metavar="LINE",
        help="the checkpoint an earlier verification printed: it must still hold",
    )
    verify.add_argument(
        "--quick",
        action="store_true",
        help="check hash chains, heads and seals only, without replaying every object",
    )
    verify.set_defaults(run=_run)
