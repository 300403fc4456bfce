"""Running a test module the way its author would, from inside a test, and reading the outcomes.

:func:`run_module` writes the module, runs it with ``pytest.main`` in this process, and records
every test's outcome with a plugin. That runs a suite as a user runs it (collection,
parametrisation, fixtures, capability skips) rather than calling test methods by hand, so that a
failure cannot hide behind a skip or a fixture. The run has its own ``pytest.ini`` (not the
project's). The plugin can also provide the ``store`` fixture, so that a module needs to import
nothing from these tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from perfcore.ports import Store

__all__ = ["Outcomes", "failed", "run_module"]


class Outcomes(dict[str, str]):
    """Each test's outcome, by name; and, in :attr:`reports`, what pytest said of each failure."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: dict[str, str] = {}


class _Harness:
    """A pytest plugin: provides the ``store`` fixture, and records each test's outcome."""

    def __init__(self, make: Callable[[], Store] | None) -> None:
        self.make = make
        self.outcomes = Outcomes()

    @pytest.fixture
    def store(self) -> Store:
        if self.make is None:
            pytest.fail("the module's class defines no store fixture")
        return self.make()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.split("::")[-1]
        if report.failed or report.when == "call" or (report.skipped and name not in self.outcomes):
            self.outcomes[name] = report.outcome
        if report.failed:
            self.outcomes.reports[name] = str(report.longrepr)


def run_module(
    tmp_path: Path,
    source: str,
    make: Callable[[], Store] | None = None,
    select: str | None = None,
) -> Outcomes:
    """Run the test module ``source`` (with ``store`` built by ``make``, unless the module
    defines it; only the tests ``select`` picks, if given): each test's outcome, by name."""
    # A name of its own: modules are imported once per process, and this is one process.
    module = tmp_path / f"test_module_{tmp_path.name}.py"
    module.write_text(source)
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\nfilterwarnings = error\n")
    harness = _Harness(make)
    arguments = [str(module), "-c", str(ini), "--rootdir", str(tmp_path), "-q"]
    arguments += ["-p", "no:cacheprovider", "--import-mode=importlib", "--tb=short"]
    arguments += ["-k", select] if select else []
    pytest.main(arguments, plugins=[harness])
    assert harness.outcomes, "the module ran no test"
    return harness.outcomes


def failed(outcomes: dict[str, str]) -> set[str]:
    """The names of the failed tests, without their parameters."""
    return {name.split("[")[0] for name, outcome in outcomes.items() if outcome == "failed"}
