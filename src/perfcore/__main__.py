"""``python -m perfcore``: the ``perfcore`` command (see :mod:`perfcore.cli`)."""

from perfcore.cli import main

raise SystemExit(main())
