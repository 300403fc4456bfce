"""Every public method of a service runs under the input limits of its ``Perfcore``.

The bounds in :mod:`perfcore.limits` hold for the current thread or task (a context variable).
``Perfcore(limits=...)`` sets them for one composition root: each public method of the classes
below runs inside :func:`perfcore.limits.using` with them, from its first argument check to its
last read, so that two ``Perfcore`` objects in one process each keep their own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from perfcore.limits import DEFAULT_LIMITS, current, using
from perfcore.services._runner import Runner

__all__ = ["Limited"]

F = TypeVar("F", bound=Callable[..., Any])


def _limited(method: F) -> F:
    @functools.wraps(method)
    def run(self: Limited, /, *args: Any, **kwargs: Any) -> Any:
        limits = self._runner.limits
        if limits is DEFAULT_LIMITS or current() is limits:
            return method(self, *args, **kwargs)
        with using(limits):
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]


class Limited:
    """A base whose subclasses' public methods run under ``self._runner.limits``."""

    _runner: Runner

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            # Plain methods only: a property or a context manager's factory (bulk) is left as
            # it is; the commands run inside a bulk are limited one by one.
            if name.startswith("_") or not inspect.isfunction(value):
                continue
            if getattr(value, "__wrapped__", None) is not None:
                continue
            setattr(cls, name, _limited(value))
