"""Run perfcore's benchmarks and print one table (see docs/performance.md).

    python -m benchmarks                    # the full sizes (several minutes)
    python -m benchmarks --quick            # small sizes, under a minute (CI, no thresholds)
    python -m benchmarks --json out.json    # every figure, its runs and ratios, as JSON

Goals are reported, never asserted: the exit status is 0 whatever the figures are.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import perfcore

from . import (
    commands,
    cycle,
    domain,
    durability,
    peer_commands,
    postgres,
    stored_bytes,
    verification,
)
from .harness import Row, Stats

FIGURES = {
    "domain": (1, "common commands in memory, by history", domain),
    "commands": (2, "a check-in through the services, by history", commands),
    "peer": (3, "perfcore against eventsourcing on SQLite", peer_commands),
    "bytes": (4, "stored bytes per event", stored_bytes),
    "verification": (5, "verify_store on SQLite", verification),
    "durability": (6, "SQLite synchronous settings against raw sqlite3", durability),
    "postgres": (7, "PostgreSQL beside SQLite, 1 to 8 writer processes", postgres),
    "cycle": (8, "a whole review cycle in bulk, 1,000 to 100,000 people", cycle),
}


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _source_digest() -> str:
    """A SHA-256 over perfcore's source files: which code the figures are of (the tree is edited
    by many hands, and a run measures the files as they were when it started)."""
    digest = hashlib.sha256()
    root = Path(perfcore.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def environment(quick: bool) -> dict[str, Any]:
    versions = {}
    for package in ("perfcore", "attrs", "transitions", "eventsourcing", "psycopg"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "mode": "quick" if quick else "full",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": _cpu_model(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "tmpdir": tempfile.gettempdir(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "packages": versions,
        "perfcore_source_sha256": _source_digest(),
    }


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _ratio(ratio: Stats | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio.median:.2f}x [{ratio.minimum:.2f}-{ratio.maximum:.2f}]"


def _goal(row: Row) -> str:
    if not row.goal:
        return row.note
    verdict = "not measured" if row.met is None else "met" if row.met else "NOT MET"
    return f"{row.goal}: {verdict}" + (f" ({row.note})" if row.note else "")


def table(rows: list[Row], markdown: bool = False) -> str:
    head = ["#", "measurement", "median", "min", "max", "unit", "ratio [range]", "goal / note"]
    lines = []
    for row in rows:
        values = (
            ["", "", ""]
            if row.stats is None
            else [
                _number(row.stats.median),
                _number(row.stats.minimum),
                _number(row.stats.maximum),
            ]
        )
        lines.append([str(row.figure), row.name, *values, row.unit, _ratio(row.ratio), _goal(row)])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(cells[i]) for cells in [head, *lines]) for i in range(len(head))]
    right = {2, 3, 4}

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ).rstrip()

    return "\n".join([line(head), *(line(cells) for cells in lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every result as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--only", action="append", choices=list(FIGURES), help="run only these (repeatable)"
    )
    options = parser.parse_args(argv)
    env = environment(options.quick)
    summary = (
        f"perfcore benchmarks ({env['mode']}): {env['python']}, SQLite {env['sqlite']},"
        f" {env['nproc']} CPUs ({env['cpu']}), load {env['load_average']}"
    )
    print(summary, file=sys.stderr)
    rows: list[Row] = []
    timings = {}
    with tempfile.TemporaryDirectory(prefix="perfcore-bench-") as folder:
        for name in options.only or list(FIGURES):
            number, title, module = FIGURES[name]
            started = time.perf_counter()
            print(f"  figure {number}: {title} ...", end="", file=sys.stderr, flush=True)
            rows += module.run(options.quick, Path(folder))
            timings[name] = time.perf_counter() - started
            print(f" {timings[name]:.1f} s", file=sys.stderr)
    print(summary)
    print(table(rows, markdown=options.markdown))
    if options.json is not None:
        document = {
            "environment": env,
            "seconds": timings,
            "results": [row.as_json() for row in rows],
        }
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
