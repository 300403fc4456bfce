"""The in-memory store keeps the behaviour contract every store keeps."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from perfcore.adapters.memory import MemoryStore
from perfcore.ports import AuditEntry, Store
from perfcore.testing.conformance import StoreContract


class TestMemoryStore(StoreContract):
    """:class:`MemoryStore` against the whole contract (one process: no process tests)."""

    supports_threads = True
    supports_processes = False
    supports_tampering = True
    supports_new_stores = True

    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()

    def new_store(self, store: Store) -> Store:
        return MemoryStore()

    def rewrite_audit_log(self, store: Store, entries: Sequence[AuditEntry]) -> None:
        assert isinstance(store, MemoryStore)
        store._rewrite_audit_log(entries)
