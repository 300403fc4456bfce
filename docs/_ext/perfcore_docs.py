"""Sphinx directives for perfcore's site: Mermaid diagrams, and the command line's reference
generated from its argument parser (so the page cannot drift from the command)."""

from __future__ import annotations

import argparse
import html
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

#: Mermaid, loaded by the browser to draw the diagrams (without it, their source shows).
MERMAID = "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.min.js"


class MermaidDirective(Directive):
    """A Mermaid diagram: drawn in HTML by mermaid.js, shown as its source elsewhere."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        source = "\n".join(self.content)
        drawn = nodes.raw(
            "", f'<pre class="mermaid">\n{html.escape(source)}\n</pre>\n', format="html"
        )
        return [drawn]


def _commands(
    parser: argparse.ArgumentParser, prefix: str
) -> list[tuple[str, argparse.ArgumentParser]]:
    """``(name, parser)`` for ``parser`` and each of its subcommands, depth first."""
    found = [(prefix, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, f"{prefix} {name}")
    return found


class CommandsDirective(Directive):
    """Every ``perfcore`` command with its arguments: each one's ``--help``, as the command
    prints it."""

    def run(self) -> list[nodes.Node]:
        from perfcore.cli import parser

        sections: list[nodes.Node] = []
        for name, command in _commands(parser(), "perfcore"):
            if name == "perfcore":
                continue
            section = nodes.section(ids=[nodes.make_id(name)])
            section += nodes.title(text=name)
            text = command.format_help()
            section += nodes.literal_block(text, text, language="text")
            sections.append(section)
        return sections


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("mermaid", MermaidDirective)
    app.add_directive("perfcore-commands", CommandsDirective)
    app.add_js_file(MERMAID)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
