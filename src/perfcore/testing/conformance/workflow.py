"""The workflow machine run against the adapter, compared step by step with the memory store.

Every command of :class:`~perfcore.testing.workflow.WorkflowMachine` runs against a new store of
the adapter's and against a :class:`~perfcore.adapters.memory.MemoryStore`, and after every step
both must agree on the outcome, the objects, the audit log, the outbox and the idempotency keys;
every workflow invariant is checked on the adapter's store besides.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from perfcore.ports import Store
from perfcore.testing.conformance.fixture import StoreFixture
from perfcore.testing.workflow import WorkflowMachine, memory_store

__all__ = ["WorkflowContract"]


class WorkflowContract(StoreFixture):
    """Random workflows through the services give the same results on the adapter as on the
    in-memory reference, and keep every workflow invariant.

    Needs :attr:`~StoreFixture.supports_new_stores` (a new, empty store for every example).

    .. versionadded:: 0.1.0
    """

    #: The machine the comparison runs; a subclass of it adds the adapter's own invariants.
    workflow_machine: ClassVar[type[WorkflowMachine]] = WorkflowMachine

    def workflow_settings(self) -> settings:
        """The hypothesis settings of the comparison: the machine's, by default."""
        return self.workflow_machine.workflow_settings()

    def test_workflows_match_the_memory_reference(self, store: Store) -> None:
        self.require("supports_new_stores")

        def new_store() -> Store:
            return self.new_store(store)

        machine = type(
            f"{type(self).__name__}Workflow",
            (self.workflow_machine,),
            {
                "make_store": staticmethod(new_store),
                "make_reference_store": staticmethod(memory_store),
            },
        )
        run_state_machine_as_test(machine, settings=self.workflow_settings())
