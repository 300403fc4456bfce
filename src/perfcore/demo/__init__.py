"""Made-up data for demos and benchmarks: :mod:`perfcore.demo.organisation` generates an
organisation (departments, managers, people) from a seed."""

from __future__ import annotations

from perfcore.demo.organisation import Member, Organisation, generate

__all__ = ["Member", "Organisation", "generate"]
