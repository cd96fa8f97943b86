"""Shared fixtures: no test may reach the network or pick up a developer's real key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from _postgres import Cluster

_STRIPPED = (
    "AGENTKIT_API_KEY",
    "AGENTKIT_BASE_URL",
    "AGENTKIT_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _offline_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _STRIPPED:
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- PostgreSQL
# A real server for the session-store tests: a throwaway cluster started once per test run
# (tests/_postgres.py), or the server AGENTKIT_TEST_POSTGRES_DSN names. Without PostgreSQL
# installed those tests are skipped, unless AGENTKIT_REQUIRE_POSTGRES=1 (set by .ci/run)
# makes that a failure.


def _postgres_bindir() -> Path:
    """Where PostgreSQL's programs are; the test is skipped (or fails, if required) if not."""
    import os

    from _postgres import find_bindir

    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("AGENTKIT_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (AGENTKIT_REQUIRE_POSTGRES=1) but not installed")
        pytest.skip(
            "PostgreSQL is not installed (apt-get install postgresql, or set "
            "AGENTKIT_TEST_POSTGRES_DSN)"
        )
    return bindir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A DSN of a PostgreSQL server the tests may create schemas on."""
    import os

    from _postgres import Cluster

    dsn = os.environ.get("AGENTKIT_TEST_POSTGRES_DSN")
    if dsn:
        yield dsn
        return
    cluster = Cluster(_postgres_bindir()).start()
    try:
        yield cluster.dsn
    finally:
        cluster.stop()


@pytest.fixture
def postgres_cluster() -> Iterator[Cluster]:
    """A throwaway cluster of the test's own, which it may stop and restart."""
    from _postgres import Cluster

    cluster = Cluster(_postgres_bindir()).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_dsn(postgres_server: str) -> Iterator[str]:
    """A DSN whose tables live in a fresh schema of their own (dropped afterwards)."""
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_server} options='-c search_path={schema}'"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
