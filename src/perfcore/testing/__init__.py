"""perfcore.testing: what integrators and perfcore's own tests use to check workflows and stores.

Install with ``pip install perfcore[testing]``. The modules here import hypothesis and pytest only
where they need them, so :mod:`perfcore.testing.drivers` works with perfcore alone.

- :mod:`perfcore.testing.strategies`: hypothesis strategies for every public type (listed in
  docs/strategies.md), and random command sequences under your policy, people and ranges;
- :mod:`perfcore.testing.workflow`: the workflow state machine, over your store and policy;
- :mod:`perfcore.testing.conformance`: the test suite a storage adapter must pass;
- :mod:`perfcore.testing.profiles`: the ``perfcore-fast`` and ``perfcore-thorough`` hypothesis
  settings profiles;
- :mod:`perfcore.testing.pytest_plugin`: fixtures (a store, a ``Perfcore``, a clock moved by
  hand), which an installed perfcore provides to every pytest run;
- :mod:`perfcore.testing.drivers`: a valid way to fire every trigger and reach every state.
"""
