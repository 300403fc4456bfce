"""The workflow machine run against the adapter, compared step by step with the memory store.

Every command of :class:`~perfcore.testing.workflow.WorkflowMachine` runs against a new store of
the adapter's and against a :class:`~perfcore.adapters.memory.MemoryStore`, and after every step
both must agree; every workflow invariant is checked on the adapter's store besides.

The machine drives perfcore's services. While :mod:`perfcore.testing.workflow` cannot be imported
(the services are moving onto the event-stream ports), the test is skipped, saying why.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from perfcore.ports import Store
from perfcore.testing.conformance.fixture import StoreFixture

__all__ = ["WorkflowContract"]


def _workflow() -> ModuleType:
    """:mod:`perfcore.testing.workflow`, or a skip saying why it cannot be imported."""
    try:
        return importlib.import_module("perfcore.testing.workflow")
    except ImportError as error:
        pytest.skip(f"perfcore.testing.workflow cannot be imported yet: {error}")


class WorkflowContract(StoreFixture):
    """Random workflows through the services give the same results on the adapter as on the
    in-memory reference, and keep every workflow invariant.

    Needs :attr:`~StoreFixture.supports_new_stores` (a new, empty store for every example).

    .. versionadded:: 0.1.0
    """

    #: The machine the comparison runs (``None``: ``perfcore.testing.workflow.WorkflowMachine``);
    #: a subclass of it adds the adapter's own invariants.
    workflow_machine: ClassVar[type[Any] | None] = None

    def workflow_settings(self) -> settings:
        """The hypothesis settings of the comparison: the machine's, by default."""
        machine = self.workflow_machine or _workflow().WorkflowMachine
        result: settings = machine.workflow_settings()
        return result

    def test_workflows_match_the_memory_reference(self, store: Store) -> None:
        self.require("supports_new_stores")
        workflow = _workflow()

        def new_store() -> Store:
            return self.new_store(store)

        machine = type(
            f"{type(self).__name__}Workflow",
            (self.workflow_machine or workflow.WorkflowMachine,),
            {
                "make_store": staticmethod(new_store),
                "make_reference_store": staticmethod(workflow.memory_store),
            },
        )
        run_state_machine_as_test(machine, settings=self.workflow_settings())
