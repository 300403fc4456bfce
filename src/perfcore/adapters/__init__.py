"""Stores that implement :mod:`perfcore.ports`.

- :mod:`perfcore.adapters.memory`: :class:`~perfcore.adapters.memory.MemoryStore`, the reference;
  dict-based, thread-safe within one process, gone when the process ends.
- :mod:`perfcore.adapters.sqlite`: a file (or ``:memory:``) database, safe for several processes.
- :mod:`perfcore.adapters.postgres`: PostgreSQL through psycopg 3 (the ``postgres`` extra), for
  many application servers on one database.
- :mod:`perfcore.adapters.sqlite_directory`: the organisation's directory kept in SQLite.

All pass the same behaviour tests; see ``docs/storage.md`` for how to write another.
"""
