"""perfcore.testing: what integrators and perfcore's own tests use to check workflows and stores.

Install with ``pip install perfcore[testing]``. The modules here import hypothesis and pytest only
where they need them, so :mod:`perfcore.testing.drivers` works with perfcore alone.
"""
