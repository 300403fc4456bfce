"""Measure how the workflow machine finds the docs' example bug, and how it reports it.

The docs' example is a policy that lets an owner approve their own goal
(``Policy().with_rules({("Goal", "approve"): anyone})``). Each run is the whole machine (not
focused, unless ``--focus`` says so) at the fast profile's settings, from a new random seed,
remembering nothing; it prints whether the run found the bug, how long finding and shrinking took,
and how many lines the report has (the invariant's message and hypothesis's steps)::

    python -m tests.properties.measure_workflow            # 20 runs, shrinking each
    python -m tests.properties.measure_workflow --runs 50 --focus Goal --no-shrink

Timings are for reading, not for asserting: tests/conformance/test_workflow.py asserts the
count (under the thorough profile) and the report's length.
"""

from __future__ import annotations

import argparse
import statistics
import time

from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from perfcore import Policy
from perfcore.rules import anyone
from perfcore.testing import profiles
from perfcore.testing.workflow import WorkflowMachine


class OwnerApproves(WorkflowMachine):
    """The docs' example: anyone may approve a goal, its owner too."""

    policy = Policy().with_rules({("Goal", "approve"): anyone})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--focus", default=None, help="a lifecycle name, such as Goal")
    parser.add_argument("--no-shrink", action="store_true", help="only find, do not shrink")
    parser.add_argument("--show", action="store_true", help="print the first report")
    options = parser.parse_args()
    OwnerApproves.focus = options.focus
    chosen = OwnerApproves.workflow_settings(settings.get_profile(profiles.FAST))
    chosen = settings(chosen, database=None)
    if options.no_shrink:
        chosen = settings(chosen, phases=[Phase.generate])
    found, seconds, lengths = 0, [], []
    shown = not options.show
    for run in range(options.runs):
        start = time.perf_counter()
        try:
            run_state_machine_as_test(OwnerApproves, settings=chosen)
        except AssertionError as failure:
            took = time.perf_counter() - start
            notes = "\n".join(getattr(failure, "__notes__", []))
            report = [*str(failure).splitlines(), *notes.splitlines()]
            hit = "approved by its owner" in str(failure)
            found += hit
            seconds.append(took)
            lengths.append(len(report))
            print(f"run {run}: found={hit} in {took:.1f}s, report of {len(report)} lines")
            if not shown:
                print("\n".join(report))
                shown = True
        else:
            print(f"run {run}: not found in {time.perf_counter() - start:.1f}s")
    print(
        f"found in {found} of {options.runs} runs ({chosen.max_examples} examples of "
        f"{chosen.stateful_step_count} steps each)"
    )
    if seconds:
        print(
            f"found and shrunk in {statistics.median(seconds):.1f}s (median), "
            f"{max(seconds):.1f}s at most; reports of {statistics.median(lengths):.0f} lines "
            f"(median), {max(lengths)} at most, {sum(n < 40 for n in lengths)} under 40"
        )


if __name__ == "__main__":
    main()
