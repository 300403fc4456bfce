"""Pausing Python's cyclic garbage collector while perfcore does much at once.

Every few hundred objects a program allocates, the collector looks at the youngest ones; every
hundred such looks, if enough objects have survived since, it walks *every* object the process
holds. In a process holding a large store (or a large cache of objects, or an organisation's
directory), that full walk costs seconds, and a bulk unit of work or an organisation-wide query,
which allocate hundreds of thousands of short-lived objects, set it off again and again: at
10,000 people the full walks took a fifth of a whole review cycle's time, and made a cycle's
status at 100,000 people ten times slower than its work.

Inside :func:`paused` the collector does not run; the objects allocated meanwhile are looked at
once, as one young generation, when it ends. Reference counting still frees every object that
is not part of a cycle, at once, as always; only cyclic garbage waits until the block ends.
Blocks may nest and run in several threads: the collector runs again when the last one ends,
and only if it was running when the first one began (a program that disabled it keeps it so).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["paused"]

_lock = threading.Lock()
_depth = 0
_resume = False


@contextlib.contextmanager
def paused(enabled: bool = True) -> Iterator[None]:
    """Run the block with the cyclic garbage collector paused (``enabled=False``: as it is)."""
    global _depth, _resume
    if not enabled:
        yield
        return
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
