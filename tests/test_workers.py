"""The daemon threads that run sync tool calls: reused when idle, never shared while busy."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from agentkit import _workers


def _run(name: str = "agentkit-tool-t") -> tuple[int, str]:
    go, done = threading.Event(), threading.Event()
    seen: list[tuple[int, str]] = []

    def job() -> None:
        seen.append((threading.get_ident(), threading.current_thread().name))
        go.wait(5)
        done.set()

    _workers.submit(job, name)
    idle = len(_workers._idle)  # the job's worker is busy, so not in the list
    go.set()
    assert done.wait(5)
    deadline = time.monotonic() + 5
    while len(_workers._idle) <= idle:  # the worker goes back to the idle list after its job
        assert time.monotonic() < deadline, "the worker did not go back to the idle list"
        time.sleep(0.001)
    return seen[0]


def test_a_finished_calls_thread_runs_the_next_call_under_the_new_name() -> None:
    first, _ = _run("agentkit-tool-a")
    second, name = _run("agentkit-tool-b")
    assert second == first
    assert name == "agentkit-tool-b"


def test_a_busy_thread_is_never_handed_another_call() -> None:
    release = threading.Event()
    busy: list[int] = []
    _workers.submit(lambda: (busy.append(threading.get_ident()), release.wait(5)), "hung")
    try:
        while not busy:
            time.sleep(0.001)
        other, _ = _run()
        assert other != busy[0]  # the hung call's thread was not waited for
    finally:
        release.set()


def test_workers_are_daemon_threads() -> None:
    flags: list[bool] = []
    done = threading.Event()
    _workers.submit(lambda: (flags.append(threading.current_thread().daemon), done.set()), "d")
    assert done.wait(5)
    assert flags == [True]


def test_an_idle_thread_ends_after_the_idle_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_workers, "IDLE_SECONDS", 0.05)
    _workers._idle.clear()  # idle workers of earlier tests wait with the old timeout
    ident, _ = _run("agentkit-tool-idle")
    deadline = time.monotonic() + 5
    while any(t.ident == ident for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the idle worker did not end"
        time.sleep(0.01)
    assert _workers._idle == []


_FORK_CHILD = """
import os, threading, sys
from agentkit import _workers
done = threading.Event()
_workers.submit(done.set, "parent")
assert done.wait(5)
pid = os.fork()
if pid == 0:
    child = threading.Event()
    _workers.submit(child.set, "child")
    os._exit(0 if child.wait(5) else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_runs_calls_on_threads_of_its_own() -> None:
    # In a process of its own: forking pytest's multi-threaded process is unsafe.
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", _FORK_CHILD],
        timeout=30,
    )
    assert done.returncode == 0  # 3: the child's call never ran (a parent's worker got it)
