"""Per-session locks that die with the process: byte-range locks on one lock file.

Each session owns one byte of a sparse lock file beside the database (at an offset derived
from its id). The kernel drops a process's locks the moment it exits, however it exits, so
a killed run frees its session at once.

POSIX record locks belong to a *process*, not a file descriptor: two threads of one process
would both "get" the same lock, and closing any descriptor of the file would drop all of
them. So each process opens every lock file once (shared by all stores on it) and keeps an
in-process table of the offsets it holds; the table arbitrates inside the process, the
kernel lock between processes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time

__all__ = ["LockFile", "open_lock_file"]

_GUARD = threading.Lock()
_FILES: dict[tuple[int, int], LockFile] = {}
_OFFSETS = (1 << 62) - 1  # offset 0 is the store-wide lock (schema migrations)


class LockFile:
    """One lock file, opened once per process and shared by every store that uses it."""

    def __init__(self, fd: int, key: tuple[int, int]) -> None:
        self._fd = fd
        self._key = key
        self._held: set[int] = set()
        self._mutex = threading.Lock()
        self.refs = 0

    @staticmethod
    def offset(lock_key: int) -> int:
        """The byte a session key locks (never 0)."""
        return (lock_key & _OFFSETS) + 1

    def try_lock(self, offset: int) -> bool:
        """Take the lock at ``offset`` if neither this process nor another holds it."""
        with self._mutex:
            if offset in self._held:
                return False
            try:
                fcntl.lockf(self._open_fd(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EAGAIN):
                    return False  # another process holds it
                raise
            self._held.add(offset)
            return True

    def lock(self, offset: int, timeout: float) -> bool:
        """Take the lock at ``offset``, polling for at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        delay = 0.001
        while not self.try_lock(offset):
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True

    def unlock(self, offset: int) -> None:
        """Drop the lock at ``offset`` (no-op if not held)."""
        with self._mutex:
            if offset in self._held:
                fcntl.lockf(self._open_fd(), fcntl.LOCK_UN, 1, offset)
                self._held.discard(offset)

    def _open_fd(self) -> int:
        # Once closed, the descriptor's number may belong to another file (a new store's
        # lock file): locking through it would take or drop that file's locks.
        if self._fd < 0:
            raise ValueError("This lock file is closed")
        return self._fd

    def release_ref(self) -> None:
        """One store stopped using the file; the last one closes it."""
        with _GUARD:
            self.refs -= 1
            if self.refs == 0:
                _FILES.pop(self._key, None)
                fd, self._fd = self._fd, -1
                os.close(fd)


def open_lock_file(path: str) -> LockFile:
    """The process's ``LockFile`` for ``path``, created if missing (one descriptor per file)."""
    with _GUARD:
        try:
            st = os.stat(path)
            existing = _FILES.get((st.st_dev, st.st_ino))
        except FileNotFoundError:
            existing = None
        if existing is None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            st = os.fstat(fd)
            existing = LockFile(fd, (st.st_dev, st.st_ino))
            _FILES[(st.st_dev, st.st_ino)] = existing
        existing.refs += 1
        return existing
