"""``perfcore diagram``: the lifecycle diagrams, generated from the tables."""

from __future__ import annotations

import argparse

import perfcore
from perfcore.cli._common import EXIT_OK, CommandError, write
from perfcore.lifecycle import Lifecycle, lifecycle_of, registered_types

__all__ = ["add_parser", "lifecycles", "to_dot"]

#: The types shown first: the four stages, then the cycle that ties them; others follow by name.
ORDER = ("JobDescription", "Goal", "Plan", "Evaluation", "ReviewCycle")


def lifecycles() -> tuple[Lifecycle, ...]:
    """Every registered lifecycle: the four stages first, then any other by name."""
    assert perfcore.__all__  # importing perfcore registers every lifecycle
    names = sorted({kind.__name__ for kind in registered_types()})
    ordered = [name for name in ORDER if name in names]
    ordered += [name for name in names if name not in ORDER]
    return tuple(lifecycle_of(name) for name in ordered)


def _find(name: str) -> Lifecycle:
    """The lifecycle called ``name``, in any case, with or without underscores or hyphens
    (``Goal``, ``goal``, ``job_description``, ``review-cycle``)."""

    def key(text: str) -> str:
        return text.replace("_", "").replace("-", "").casefold()

    for lifecycle in lifecycles():
        if key(lifecycle.name) == key(name):
            return lifecycle
    known = ", ".join(lifecycle.name for lifecycle in lifecycles())
    raise CommandError(f"no lifecycle is called {name!r}; known: {known}")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(lifecycle: Lifecycle) -> str:
    """The lifecycle as a Graphviz ``digraph``: a point for the start, a double border for the
    final states, an arrow labelled with its trigger for each row of the table.

    >>> print(to_dot(lifecycle_of("Goal")).splitlines()[5])
        "draft" -> "draft" [label="edit"];
    """
    lines = [
        f"digraph {_quoted(lifecycle.name)} {{",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="sans-serif"];',
        '    __start__ [shape=point, label=""];',
        f"    __start__ -> {_quoted(lifecycle.initial)};",
    ]
    lines += [
        f"    {_quoted(source)} -> {_quoted(dest)} [label={_quoted(trigger)}];"
        for trigger, source, dest in lifecycle.transitions
    ]
    lines += [f"    {_quoted(state)} [peripheries=2];" for state in lifecycle.terminal_states]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _run(arguments: argparse.Namespace) -> int:
    chosen = lifecycles() if arguments.type is None else (_find(arguments.type),)
    for number, lifecycle in enumerate(chosen):
        if number:
            write()
        if arguments.format == "dot":
            write(to_dot(lifecycle).rstrip("\n"))
        else:
            write(f"%% {lifecycle.name}")
            write(lifecycle.to_mermaid().rstrip("\n"))
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``diagram`` to the ``perfcore`` command."""
    parser = commands.add_parser(
        "diagram",
        help="draw a lifecycle from its table",
        description="Print the lifecycle diagrams, generated from the lifecycle tables: one"
        " diagram per type (Mermaid diagrams each after a %%%% line naming the type).",
    )
    parser.add_argument(
        "type",
        nargs="?",
        metavar="TYPE",
        help="the type to draw: "
        + ", ".join(lifecycle.name for lifecycle in lifecycles())
        + " (any case; default: all of them)",
    )
    parser.add_argument(
        "--format",
        choices=("mermaid", "dot"),
        default="mermaid",
        help="Mermaid stateDiagram-v2 (the default) or Graphviz dot",
    )
    parser.set_defaults(run=_run)
