"""Sphinx configuration: the documentation site (furo, MyST Markdown, the API from docstrings).

Build it with warnings as errors, as CI does::

    pip install -e '.[docs]'
    sphinx-build -W -b html docs docs/_build/html
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import perfcore  # noqa: E402 - after the extension path

project = "perfcore"
author = "perfcore developers"
copyright = "perfcore developers, MIT licence"
release = perfcore.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "perfcore_docs",
]

# Markdown pages; README-style links between them (lifecycle.md) resolve to the pages.
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 4
# ```mermaid fences (docs/lifecycle.md, generated from the tables) are drawn in the browser.
myst_fence_as_directive = ["mermaid"]

# The API from the docstrings (Google style), in source order, with type hints in the text.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# "Attributes:" sections as fields of their class, not a second description of each attribute.
napoleon_use_ivar = True

# strategies.md lists its strategies under h4 headings below h2 on purpose; and a short name in a
# docstring (``state``, ``Command``) that several classes define resolves to the nearest one.
suppress_warnings = ["myst.header", "ref.python"]

html_theme = "furo"
html_title = f"perfcore {release}"
