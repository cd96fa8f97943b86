"""Scale-out: three worker processes on one PostgreSQL database consume a DBOS queue of
agent runs; every run finishes once, all three do work, and a worker killed midway
(SIGKILL, then restarted under its executor id) loses no run. The full 200-run version,
with throughput for 1 and 3 workers, is tools/scale_durable.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import dbos  # noqa: F401  (the dev extra installs it; missing must fail, not skip)
import pytest
from _durable_scale import scale_out
from _pg import Cluster, find_bindir


@pytest.fixture(scope="module")
def db() -> Iterator[str]:
    given = os.environ.get("AGENTKIT_TEST_POSTGRES_URL")
    if given:
        yield f"{given.rsplit('/', 1)[0]}/scale_test"
        return
    bindir = find_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed (apt-get install postgresql-15)")
    cluster = Cluster(bindir).start()
    yield cluster.url("scale_test")
    cluster.stop()


def test_three_workers_share_a_queue_and_a_killed_one_loses_no_run(db: str) -> None:
    report = scale_out(db, runs=30, workers=3, kill_one=True, timeout=120)
    assert report.killed == "w2"
    assert report.statuses == {"SUCCESS": 30}, report
    assert report.wrong_outputs == []
    # Every worker did some of the work.
    assert set(report.split) == {"w1", "w2", "w3"}, report.split
    assert sum(report.split.values()) == 30
    # Only model calls in flight on the killed worker (at most its 2 runs, 2 calls each) may repeat.
    assert report.repeated_requests <= 4, report
