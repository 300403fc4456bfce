"""The documentation tells the truth: its examples run, and its diagrams match the tables."""

from __future__ import annotations

import doctest
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_examples_in_the_page_run(page: Path) -> None:
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} example(s) failed in {page.name}"


def test_lifecycle_page_is_generated_from_the_tables() -> None:
    spec = importlib.util.spec_from_file_location(
        "render_lifecycles", ROOT / "tools" / "render_lifecycles.py"
    )
    assert spec is not None
    assert spec.loader is not None
    renderer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(renderer)
    committed = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert committed == renderer.render(), "run: python tools/render_lifecycles.py"
