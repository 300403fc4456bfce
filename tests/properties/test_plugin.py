"""perfcore's pytest plugin and hypothesis entry point: an installed perfcore provides its
fixtures and profiles to a test module that imports nothing from perfcore.testing (perfcore's own
run loads the plugin once), and its strategies to ``st.from_type`` with nothing imported first."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from tests.conformance.harness import run_module

from perfcore.testing import profiles, pytest_plugin
from perfcore.testing._fakes import ManualClock
from perfcore.testing._hypothesis import public_types
from perfcore.testing.strategies._registry import strategies_by_type

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


@pytest.fixture
def profile_kept() -> Iterator[None]:
    """The profile in force before the test, loaded again after it (a run inside this one may
    load another)."""
    name = settings.get_current_profile_name()
    yield
    settings.load_profile(name)


def _fixture_example() -> str:
    """The test module docs/testing.md shows for the plugin's fixtures."""
    section = PAGE.read_text(encoding="utf-8").split("## Settings profiles and the pytest plugin")[
        1
    ]
    found = re.search(r"```python\n(import datetime.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_docs_example_runs_on_the_plugins_fixtures(tmp_path: Path) -> None:
    outcomes = run_module(tmp_path, _fixture_example())
    assert outcomes == {"test_an_approved_goal_is_active": "passed"}, outcomes.reports


def test_a_policy_of_ones_own_replaces_the_default(tmp_path: Path) -> None:
    source = """
import pytest
from perfcore import DEFAULT_POLICY, Actor, PermissionDenied, Role
from perfcore.rules import has_role

@pytest.fixture
def perfcore_policy():
    return DEFAULT_POLICY.with_rules({("Goal", "create"): has_role(Role.HR)})

def test_only_hr_creates_goals(perfcore_services, perfcore_clock, perfcore_store):
    assert perfcore_services.store is perfcore_store
    with pytest.raises(PermissionDenied):
        perfcore_services.goals.create(
            by=Actor(id="ana"), owner_id="ana", manager_id="ben", title="t", metric="m",
            baseline=0, target=1, start=perfcore_clock.now().date(),
            due=perfcore_clock.now().date())
"""
    outcomes = run_module(tmp_path, source)
    assert outcomes == {"test_only_hr_creates_goals": "passed"}, outcomes.reports


def test_hypothesis_profile_names_a_perfcore_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile_kept: None
) -> None:
    monkeypatch.setenv("HYPOTHESIS_PROFILE", profiles.THOROUGH)
    source = """
from hypothesis import settings

def test_the_profile_is_loaded():
    assert settings.get_current_profile_name() == "perfcore-thorough"
    assert settings().max_examples == 200
"""
    outcomes = run_module(tmp_path, source)
    assert outcomes == {"test_the_profile_is_loaded": "passed"}, outcomes.reports


def test_perfcore_loads_the_plugin_once(request: pytest.FixtureRequest) -> None:
    manager = request.config.pluginmanager
    loaded = [plugin for plugin in manager.get_plugins() if plugin is pytest_plugin]
    assert len(loaded) == 1
    assert manager.get_name(pytest_plugin) == "perfcore.testing.pytest_plugin"


def test_the_clock_stands_still_until_moved(perfcore_clock: ManualClock) -> None:
    first = perfcore_clock.now()
    assert first == pytest_plugin.CLOCK_START == perfcore_clock.now()
    assert perfcore_clock.advance(days=1, hours=2) == first + dt.timedelta(days=1, hours=2)
    assert perfcore_clock.set(first) == first
    with pytest.raises(ValueError, match="only moves on"):
        perfcore_clock.advance(dt.timedelta(seconds=-1))


def test_from_type_works_without_importing_the_strategies() -> None:
    """An installed perfcore registers its types with hypothesis's entry point: a new process
    that imports only hypothesis and perfcore draws a goal."""
    code = (
        "import sys\n"
        "from hypothesis import find, strategies as st\n"
        "from perfcore import Goal\n"
        "assert 'perfcore.testing.strategies' not in sys.modules\n"
        "goal = find(st.from_type(Goal), lambda goal: goal.state == 'active')\n"
        "print(goal.state)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "active"


def test_the_hypothesis_hook_registers_every_type_the_strategies_do() -> None:
    assert set(public_types()) == set(strategies_by_type())


def test_the_profiles_are_registered_and_the_default_is_fast() -> None:
    fast, thorough = (settings.get_profile(name) for name in (profiles.FAST, profiles.THOROUGH))
    assert fast.max_examples < thorough.max_examples
    assert fast.deadline is None
    assert thorough.deadline is None
    assert settings.get_profile("ci") == thorough  # what .ci/run asks for
    assert settings.get_profile("dev") == fast
    assert settings.get_current_profile_name() in {profiles.FAST, "dev", "ci", profiles.THOROUGH}
