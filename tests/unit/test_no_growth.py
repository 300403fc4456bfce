"""Running commands leaves nothing behind in perfcore's own module state.

A validator made while an object was being checked, and registered in the sets the incremental
checks read (``ITEMWISE``, ``SELF_CONTAINED``), once grew those sets by a function per object
checked: a leak in every long-running process, and a heap the garbage collector walked again and
again (a fifth of a 10,000-person cycle's time).
"""

from __future__ import annotations

from perfcore import _validate
from perfcore.lifecycle import lifecycle_of
from perfcore.testing.drivers import drivers


def _every_state_of_every_type() -> int:
    reached = 0
    for name, driver in drivers().items():
        for state in lifecycle_of(name).states:
            driver.reach(state, id=f"{name.lower()}-{state}")
            reached += 1
    return reached


def test_commands_register_no_validator_per_object() -> None:
    _every_state_of_every_type()  # whatever is made once, at first use, is made now
    itemwise, self_contained = len(_validate.ITEMWISE), len(_validate.SELF_CONTAINED)
    reached = _every_state_of_every_type()
    assert reached > 20
    assert len(_validate.ITEMWISE) == itemwise
    assert len(_validate.SELF_CONTAINED) == self_contained
