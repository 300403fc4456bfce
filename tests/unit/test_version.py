"""perfcore.__version__ is the version pyproject.toml gives the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

import perfcore


def test_the_version_is_the_packages() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert perfcore.__version__ == declared
