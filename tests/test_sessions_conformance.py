"""The session conformance suite run against all three stores (PostgreSQL: a real server)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from agentkit.sessions import (
    AsyncLease,
    Lease,
    MemoryStore,
    PostgresStore,
    SessionStore,
    SQLiteStore,
)
from agentkit.testing.session_conformance import *  # noqa: F403
from agentkit.testing.session_conformance import StoreFactory


def _memory() -> StoreFactory:
    shared = MemoryStore()

    class _Shared(MemoryStore):
        def __init__(self) -> None:  # every open() sees the same memory
            self._sync = self._backend = shared._backend
            self._async = shared._async

    def lose(store: SessionStore, lease: Lease | AsyncLease) -> None:
        shared._backend.lose_lease(lease.session_id)

    return StoreFactory("memory", _Shared, None, lose)


def _sqlite(path: Path) -> StoreFactory:
    def lose(store: SessionStore, lease: Lease | AsyncLease) -> None:
        # Another run's lease: a newer token in the session row (the lock stays held, as
        # it would by a process that took over after this one's lock was broken).
        assert isinstance(store, SQLiteStore)
        store._backend.execute(
            "UPDATE agentkit_sessions SET token = token + 1000000 WHERE id = ?",
            (lease.session_id,),
        )

    return StoreFactory("sqlite", lambda: SQLiteStore(path), f"SQLiteStore({str(path)!r})", lose)


def _postgres(dsn: str) -> StoreFactory:
    def lose(store: SessionStore, lease: Lease | AsyncLease) -> None:
        # The connection that keeps this store's leases alive dies (as on a network
        # failure); another store then takes the session over at once.
        assert isinstance(store, PostgresStore)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (store._holder_pid(),))
        other = PostgresStore(dsn)
        try:
            with other.session(lease.session_id).lease(on_busy="wait", timeout=5):
                pass
        finally:
            other.close()

    return StoreFactory("postgres", lambda: PostgresStore(dsn), f"PostgresStore({dsn!r})", lose)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def session_store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A fresh database of each backend."""
    if request.param == "memory":
        return _memory()
    if request.param == "sqlite":
        return _sqlite(tmp_path / "sessions.db")
    return _postgres(request.getfixturevalue("postgres_dsn"))
