"""Daemon worker threads for sync tool calls, kept for reuse between calls.

Why not ``concurrent.futures.ThreadPoolExecutor``: its workers are joined when the
interpreter exits (and ``asyncio.run`` waits for the default executor), so one call that
was abandoned at its timeout, or whose run was cancelled, would hold up the process's exit
and a worker slot. Here every job owns its thread while it runs; a thread that finishes
its job waits a while for the next one instead of exiting, which spares the ~100 µs a new
thread costs per tool call. A thread busy with an abandoned call is simply never reused
until it returns; idle threads end after ``IDLE_SECONDS``.
"""

from __future__ import annotations

# _queue: the C queue behind ``queue.SimpleQueue``, without loading the ``queue`` module.
import os
import threading
from _queue import Empty, SimpleQueue
from collections.abc import Callable

__all__ = ["submit"]

IDLE_SECONDS = 30.0
MAX_IDLE = 64

_Job = Callable[[], None]

_lock = threading.Lock()
_idle: list[_Worker] = []  # LIFO: the most recently used thread is the warmest


class _Worker:
    __slots__ = ("_jobs",)

    def __init__(self) -> None:
        self._jobs: SimpleQueue[tuple[_Job, str]] = SimpleQueue()

    def give(self, job: _Job, name: str) -> None:
        self._jobs.put((job, name))

    def loop(self) -> None:
        me = threading.current_thread()
        while True:
            try:
                job, name = self._jobs.get(timeout=IDLE_SECONDS)
            except Empty:
                with _lock:
                    if self in _idle:
                        _idle.remove(self)
                        return
                continue  # taken at the last moment: its job is on the way
            me.name = name
            job()
            with _lock:
                if len(_idle) >= MAX_IDLE:
                    return
                _idle.append(self)


def submit(job: _Job, name: str) -> None:
    """Run ``job`` on an idle daemon thread (or a new one), named ``name`` while it runs.

    ``job`` must not raise: it is the caller's business to capture its outcome.
    """
    with _lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _Worker()
        threading.Thread(target=worker.loop, name=name, daemon=True).start()
    worker.give(job, name)


def _forget_after_fork() -> None:
    # A forked child has only the forking thread; the parent's idle workers are not its own.
    global _lock
    _lock = threading.Lock()
    _idle.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
