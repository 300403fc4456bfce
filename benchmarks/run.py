"""The old entry point, kept as an alias: ``python benchmarks/run.py [options]`` runs
``python -m benchmarks [options]`` (see benchmarks/__main__.py and docs/performance.md)."""

import importlib
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(importlib.import_module("benchmarks.__main__").main())
