"""The testing package ships in the wheel: an integrator who installs perfcore (not a checkout)
imports the conformance suite, the workflow machine and the strategies.

The wheel is built offline with the hatchling this environment has (``--no-build-isolation``);
where hatchling is missing, pip fetches it as it would for any install. The built wheel is then
installed into a directory of its own and imported from there in a fresh interpreter, so that the
checkout's ``src`` (on the path through the editable install) cannot stand in for it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Files an integrator's tests import, which must be in the wheel.
SHIPPED = {
    "perfcore/py.typed",
    "perfcore/testing/__init__.py",
    "perfcore/testing/workflow.py",
    "perfcore/testing/conformance/__init__.py",
    "perfcore/testing/conformance/fixture.py",
    "perfcore/testing/conformance/workflow.py",
    "perfcore/testing/strategies/__init__.py",
    "perfcore/testing/drivers/__init__.py",
}

IMPORT = """
import perfcore, perfcore.testing.conformance, perfcore.testing.strategies
from perfcore.testing.workflow import WorkflowMachine
print(perfcore.__file__)
"""


def _pip(*arguments: str, cwd: Path) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """perfcore's wheel, built from this checkout."""
    out = tmp_path_factory.mktemp("dist")
    offline = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    _pip("wheel", "--no-deps", *offline, "--wheel-dir", str(out), str(ROOT), cwd=out)
    [built] = out.glob("perfcore-*.whl")
    return built


def test_the_wheel_holds_the_testing_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert names >= SHIPPED, sorted(SHIPPED - names)
    assert any(name.startswith("perfcore/testing/_workflow/") for name in names)


def test_the_testing_package_imports_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    _pip("install", "--no-deps", "--no-index", "--target", str(site), str(wheel), cwd=tmp_path)
    environment = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(site), done.stdout
