"""Crash recovery of durable runs: a worker process killed with ``os._exit(1)`` (after the
first model call, inside a tool, between two turns), relaunched, finishes its run.

Real processes, a real database (SQLite, and a PostgreSQL server started by the test), and
the emulator on loopback, which records every request: a model call that finished before
the crash is never requested again, the interrupted tool runs again, and the final
history is valid.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import dbos  # noqa: F401  (the dev extra installs it; missing must fail, not skip)
import pytest
from _durable_support import history_problem, run_worker, serve, tool_runs, worker_cmd
from _pg import Cluster, find_bindir

from agentkit.testing import EmulatorServer


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[object, EmulatorServer]]:
    emu, server = serve()
    yield emu, server
    server.stop()


@pytest.fixture(scope="module")
def postgres() -> Iterator[Cluster | str]:
    given = os.environ.get("AGENTKIT_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = find_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed (apt-get install postgresql-15)")
    cluster = Cluster(bindir).start()
    yield cluster
    cluster.stop()


CASES = [
    ("sqlite", "after_model", "async"),
    ("sqlite", "in_tool", "async"),
    ("sqlite", "between_turns", "async"),
    ("sqlite", "in_tool", "sync"),
    ("postgres", "after_model", "async"),
    ("postgres", "in_tool", "sync"),
    ("postgres", "between_turns", "async"),
]


@pytest.mark.parametrize(("backend", "kill", "mode"), CASES)
def test_killed_worker_recovers_its_run(
    backend: str,
    kill: str,
    mode: str,
    tmp_path: Path,
    emulator: tuple[object, EmulatorServer],
    request: pytest.FixtureRequest,
) -> None:
    emu, server = emulator
    sku = f"SKU{abs(hash((backend, kill, mode))) % 10**8}"
    if backend == "sqlite":
        db = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    else:
        pg = request.getfixturevalue("postgres")
        name = f"crash_{kill}_{mode}"
        db = pg.url(name) if isinstance(pg, Cluster) else f"{pg.rsplit('/', 1)[0]}/{name}"
    base = worker_cmd(db, server.base_url, tmp_path, *(["--sync"] if mode == "sync" else []))
    workflow_id = f"order-{sku}"
    question = f"Please order {sku} for me"

    crashed = run_worker([*base, "--kill", kill, "run", workflow_id, question])
    assert crashed.returncode == 1, crashed.stderr[-2000:]
    assert (tmp_path / f"killed-{kill}").exists()
    before = tool_runs(tmp_path)

    recovered = run_worker([*base, "run", workflow_id, question])
    assert recovered.returncode == 0, recovered.stderr[-2000:]
    result = json.loads(recovered.stdout.strip().splitlines()[-1])
    assert result["output"] == f"Reserved {sku}."
    assert history_problem(result["messages"]) is None, result["messages"]

    # No finished model call was requested twice: three distinct requests in all.
    requests = emu.requests_for(sku)  # type: ignore[attr-defined]
    assert len(requests) == 3 and len(set(requests)) == 3, requests

    runs = tool_runs(tmp_path)
    if kill == "in_tool":
        assert before[("check_stock", sku)] == 1
        assert runs[("check_stock", sku)] >= 2  # the interrupted call ran again
    else:
        assert runs[("check_stock", sku)] == 1  # its result was checkpointed
    # A finished call is replayed from its checkpoint (check_price may have been in
    # flight beside the killed check_stock, hence <= 2 there).
    assert runs[("check_price", sku)] == 1 or kill == "in_tool"
    assert runs[("reserve", sku)] == 1


def test_the_example_worker_runs_queued_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    from _durable_support import ROOT, env

    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "durable_worker.py"),
            "--db",
            f"sqlite:///{tmp_path / 'w.sqlite'}",
            "--demo",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [line for line in done.stdout.splitlines() if " -> " in line]
    assert len(answers) == 2 and all("sunny" in a for a in answers), done.stdout
