"""Hypothesis settings profiles for perfcore's property tests, yours and perfcore's own.

Two profiles, registered when this module is imported (the pytest plugin imports it, so an
installed perfcore registers them in every pytest run):

- ``perfcore-fast`` (:data:`FAST`): for the edit-test loop. Few examples, no deadline (a
  workflow step runs a whole unit of work), no too-slow health check. perfcore's own
  ``python -m pytest`` runs under it.
- ``perfcore-thorough`` (:data:`THOROUGH`): for CI. Many more examples, no example database
  (a CI machine starts empty), and the blob to reproduce a failure printed with it.

Choose one with the ``HYPOTHESIS_PROFILE`` environment variable (the pytest plugin loads the
profile it names, when one of these is) or with hypothesis's own ``--hypothesis-profile``
option. perfcore's own tests also accept the names ``dev`` and ``ci`` for them. Everything in
:mod:`perfcore.testing` follows the profile in force: the conformance suite's property tests
run a quarter of its examples, and the workflow machine a quarter too (each example is a whole
workflow).

>>> from hypothesis import settings
>>> from perfcore.testing import profiles
>>> settings.get_profile(profiles.FAST).max_examples
20
>>> settings.get_profile(profiles.THOROUGH).max_examples
200

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from hypothesis import HealthCheck, settings

__all__ = ["ENVIRONMENT_VARIABLE", "FAST", "PROFILES", "THOROUGH", "load", "register", "requested"]

#: The profile for the edit-test loop.
FAST = "perfcore-fast"
#: The profile for CI.
THOROUGH = "perfcore-thorough"
#: The environment variable that names the profile to load.
ENVIRONMENT_VARIABLE = "HYPOTHESIS_PROFILE"

#: Each profile's settings. Neither sets a deadline: a step of the workflow machine runs whole
#: units of work on a store, whose time depends on the machine more than on perfcore.
PROFILES: Mapping[str, settings] = {
    FAST: settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ),
    THOROUGH: settings(
        max_examples=200,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    ),
}


def register(aliases: Mapping[str, str] | None = None) -> None:
    """Register :data:`FAST` and :data:`THOROUGH` (again, harmlessly, if repeated), and each
    of ``aliases`` as another name for the profile it maps to (``{"ci": THOROUGH}``)."""
    for name, chosen in PROFILES.items():
        settings.register_profile(name, chosen)
    for alias, name in (aliases or {}).items():
        settings.register_profile(alias, PROFILES[name])


def requested() -> str | None:
    """The profile ``HYPOTHESIS_PROFILE`` names, if it is set and not blank."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip() or None


def load(default: str | None = None) -> str | None:
    """Load the profile ``HYPOTHESIS_PROFILE`` names, or ``default`` when it names none.

    Returns:
        The name of the profile loaded, or ``None`` when neither names one (the profile in
        force is left as it is).

    Raises:
        hypothesis.errors.InvalidArgument: the name is not a registered profile.
    """
    name = requested() or default
    if name is None:
        return None
    settings.load_profile(name)
    return name


register()
