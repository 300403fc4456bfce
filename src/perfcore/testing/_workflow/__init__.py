"""The parts of :mod:`perfcore.testing.workflow`: commands, snapshots and the checks."""
