"""Shared test settings: perfcore's own hypothesis profiles, from :mod:`perfcore.testing.profiles`.

``python -m pytest`` runs the fast profile; CI sets ``HYPOTHESIS_PROFILE=ci`` (see ``.ci/run``)
for the thorough one. ``dev`` and ``ci`` are this project's names for them; ``thorough`` is
kept for ``HYPOTHESIS_PROFILE=thorough`` runs by hand. Tests marked ``thorough`` (measures that
take too long for the edit-test loop) run under the thorough profile only.

The plugin's fixtures come from ``perfcore.testing.pytest_plugin``: an installed perfcore provides
it under that name, and naming it here too loads it once (pytest skips a plugin already
registered), so that the tests also run from a checkout perfcore is not installed from.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from perfcore.testing import profiles

pytest_plugins = ["perfcore.testing.pytest_plugin"]

profiles.register(
    aliases={"dev": profiles.FAST, "ci": profiles.THOROUGH, "thorough": profiles.THOROUGH}
)
profiles.load(default=profiles.FAST)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "thorough: a measure too long for the edit-test loop; run under the thorough profile "
        "(HYPOTHESIS_PROFILE=ci), skipped under the fast one",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if settings.get_current_profile_name() in {profiles.THOROUGH, "ci", "thorough"}:
        return
    skip = pytest.mark.skip(reason="a thorough measure: run with HYPOTHESIS_PROFILE=ci")
    for item in items:
        if item.get_closest_marker("thorough") is not None:
            item.add_marker(skip)
