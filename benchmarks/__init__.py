"""perfcore's benchmarks: ``python -m benchmarks [--quick] [--json PATH]``.

See docs/performance.md for what each figure measures and its baseline.
"""
