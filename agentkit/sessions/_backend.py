"""What a storage backend provides, and the adapters that give a blocking one an async face.

A backend does I/O only: it keeps rows, a journal and a pause column per session, takes
and drops per-session locks, and applies a ``WriteOp`` in one fenced transaction. Every
decision about what the data mean lives in ``_core``.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeAlias, TypeVar

from agentkit._record import record
from agentkit.sessions._core import WriteOp
from agentkit.sessions._errors import SessionError

__all__ = [
    "AsyncBackend",
    "Held",
    "InlineAsync",
    "Mark",
    "Stored",
    "SyncBackend",
    "ThreadedAsync",
]

T = TypeVar("T")

Mark: TypeAlias = tuple[int, int]
"""``(epoch, last_seq)``: one exact list of stored rows (see ``agentkit.sessions._cache``)."""


@record(slots=True)
class Stored:
    """What a session holds: ``(format, text)`` message rows, journal and pause texts.

    ``mark`` names the history these rows end (``None``: it cannot be cached). ``since``
    is the mark the read was asked to continue when the backend did so: ``rows`` are then
    only the rows after it; with ``since=None`` they are the whole history.
    """

    rows: list[tuple[int, str]]
    journal: str | None
    pause: str | None
    mark: Mark | None = None
    since: Mark | None = None


@record(slots=True)
class Held:
    """A lease a backend granted: the session, its fencing token and backend state.

    ``stored``: the session as read in the same transaction that took the token, when the
    backend does so (the lease's first load then reads nothing more).
    """

    session_id: str
    token: int
    state: Any = None
    stored: Stored | None = None


class SyncBackend(Protocol):
    """The blocking operations of a backend."""

    def try_acquire(self, session_id: str, since: Mark | None, read: bool) -> Held | None:
        """Take the session's lock and a new fencing token, or ``None`` if it is held;
        with ``read``, may also read the session from ``since`` (see ``Held.stored``)."""

    def release(self, held: Held) -> None:
        """Drop a lock taken by ``try_acquire`` (idempotent)."""

    def read(self, session_id: str, held: Held | None, since: Mark | None) -> Stored:
        """Read a session in one snapshot: only the rows after ``since`` when the session
        still continues that mark, else all of them (see ``Stored``)."""

    def write(self, held: Held, op: WriteOp) -> None:
        """Apply ``op`` in one transaction if ``held`` still owns the session, else raise
        ``SessionLostError`` having written nothing."""

    def delete(self, held: Held) -> None:
        """Remove everything stored for the session (fenced like ``write``)."""

    def list_ids(self) -> list[str]:
        """Ids of sessions holding messages, a journal or a pause state, sorted."""

    def close(self) -> None:
        """Release every connection."""


class AsyncBackend(Protocol):
    """The same operations as coroutines."""

    async def try_acquire(self, session_id: str, since: Mark | None, read: bool) -> Held | None:
        """See ``SyncBackend.try_acquire``."""

    async def release(self, held: Held) -> None:
        """See ``SyncBackend.release``."""

    async def read(self, session_id: str, held: Held | None, since: Mark | None) -> Stored:
        """See ``SyncBackend.read``."""

    async def write(self, held: Held, op: WriteOp) -> None:
        """See ``SyncBackend.write``."""

    async def delete(self, held: Held) -> None:
        """See ``SyncBackend.delete``."""

    async def list_ids(self) -> list[str]:
        """See ``SyncBackend.list_ids``."""

    async def close(self) -> None:
        """See ``SyncBackend.close``."""


class InlineAsync:
    """An async face for a backend that never blocks (the memory store)."""

    def __init__(self, sync: SyncBackend) -> None:
        self._sync = sync

    async def try_acquire(self, session_id: str, since: Mark | None, read: bool) -> Held | None:
        """See ``SyncBackend.try_acquire``."""
        return self._sync.try_acquire(session_id, since, read)

    async def release(self, held: Held) -> None:
        """See ``SyncBackend.release``."""
        self._sync.release(held)

    async def read(self, session_id: str, held: Held | None, since: Mark | None) -> Stored:
        """See ``SyncBackend.read``."""
        return self._sync.read(session_id, held, since)

    async def write(self, held: Held, op: WriteOp) -> None:
        """See ``SyncBackend.write``."""
        self._sync.write(held, op)

    async def delete(self, held: Held) -> None:
        """See ``SyncBackend.delete``."""
        self._sync.delete(held)

    async def list_ids(self) -> list[str]:
        """See ``SyncBackend.list_ids``."""
        return self._sync.list_ids()

    async def close(self) -> None:
        """Nothing to stop (the backend stays open; the store closes it)."""


class ThreadedAsync:
    """An async face for a blocking backend: each call runs on the store's own threads,
    so a busy database never stalls the event loop."""

    def __init__(self, sync: SyncBackend, threads: int, *, closed: str) -> None:
        self._sync = sync
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="agentkit-session")
        self._closed = closed  # the SessionError's message once the store is closed
        self._stopped = False

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._stopped:
            raise SessionError(self._closed)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except RuntimeError:  # "cannot schedule new futures after shutdown": closed meanwhile
            if self._stopped:
                raise SessionError(self._closed) from None
            raise

    async def try_acquire(self, session_id: str, since: Mark | None, read: bool) -> Held | None:
        """See ``SyncBackend.try_acquire``."""
        held: Held | None = await self._run(self._sync.try_acquire, session_id, since, read)
        return held

    async def release(self, held: Held) -> None:
        """See ``SyncBackend.release``."""
        await self._run(self._sync.release, held)

    async def read(self, session_id: str, held: Held | None, since: Mark | None) -> Stored:
        """See ``SyncBackend.read``."""
        stored: Stored = await self._run(self._sync.read, session_id, held, since)
        return stored

    async def write(self, held: Held, op: WriteOp) -> None:
        """See ``SyncBackend.write``."""
        await self._run(self._sync.write, held, op)

    async def delete(self, held: Held) -> None:
        """See ``SyncBackend.delete``."""
        await self._run(self._sync.delete, held)

    async def list_ids(self) -> list[str]:
        """See ``SyncBackend.list_ids``."""
        ids: list[str] = await self._run(self._sync.list_ids)
        return ids

    async def close(self) -> None:
        """Stop the threads once the calls in flight are done (the backend stays open)."""
        await asyncio.get_running_loop().run_in_executor(None, self.shutdown)

    def shutdown(self) -> None:
        """Stop the threads, waiting for calls in flight (the backend stays open)."""
        self._stopped = True
        self._pool.shutdown(wait=True)
