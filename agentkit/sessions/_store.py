"""``SessionStore`` (what every store offers) and ``Session`` (a cheap handle on one id)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from agentkit.messages import Message
from agentkit.sessions import _core
from agentkit.sessions._backend import AsyncBackend, SyncBackend
from agentkit.sessions._cache import HistoryCache, mark
from agentkit.sessions._core import WriteOp
from agentkit.sessions._lease import AsyncLease, Lease, OnBusy, aacquire, acquire

__all__ = ["Session", "SessionStore"]


class SessionStore:
    """A place where sessions live; it owns its database connections.

    Subclasses (``MemoryStore``, ``SQLiteStore``, ``PostgresStore``) only provide the
    backends; every method below works the same on all of them.
    """

    _sync: SyncBackend
    _async: AsyncBackend

    @property
    def _histories(self) -> HistoryCache:
        # Made on first use, so that a subclass only has to provide its backends.
        cache: HistoryCache | None = self.__dict__.get("_history_cache")
        if cache is None:
            cache = self.__dict__.setdefault("_history_cache", HistoryCache())
        return cache

    def session(self, session_id: str) -> Session:
        """A handle on the session ``session_id`` (nothing is read or written yet)."""
        return Session(self, _core.check_session_id(session_id))

    def delete(self, session_id: str) -> None:
        """Remove a session entirely (``SessionBusyError`` if a run holds it)."""
        with self.session(session_id)._lease(read=False) as lease:
            lease._delete()
        self._histories.drop(session_id)

    async def adelete(self, session_id: str) -> None:
        """The async ``delete``."""
        async with self.session(session_id)._alease(read=False) as lease:
            await lease._delete()
        self._histories.drop(session_id)

    def list_sessions(self) -> list[str]:
        """The ids of the sessions that hold anything (messages, a journal, a pause), sorted."""
        return self._sync.list_ids()

    async def alist_sessions(self) -> list[str]:
        """The async ``list_sessions``."""
        return await self._async.list_ids()

    def close(self) -> None:
        """Close every connection of the store (leases still held are dropped)."""
        self._sync.close()

    async def aclose(self) -> None:
        """The async ``close``."""
        await self._async.close()
        self._sync.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> SessionStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class Session:
    """One conversation in a store, named by ``id``. Cheap: it holds no connection.

    Reading (``messages``, ``pause``) needs no lease and sees the last committed state.
    Changing it (``clear``, ``discard_pause``) takes the lease for a moment and raises
    ``SessionBusyError`` while a run holds it.
    """

    def __init__(self, store: SessionStore, session_id: str) -> None:
        self._store = store
        self.id = session_id

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, store={type(self._store).__name__})"

    def messages(self, last_turns: int | None = None) -> list[Message]:
        """The stored history as wire-format messages, repaired; with ``last_turns`` only
        the last N turns (cut before a user message, never inside a tool turn), after the
        system messages the history starts with, if any."""
        _core.trim_turns([], last_turns)
        cache = self._store._histories
        cached = cache.get(self.id)
        stored = self._store._sync.read(self.id, None, mark(cached))
        return cache.history(self.id, cached, stored, shared=False, last_turns=last_turns)

    async def amessages(self, last_turns: int | None = None) -> list[Message]:
        """The async ``messages``."""
        _core.trim_turns([], last_turns)
        cache = self._store._histories
        cached = cache.get(self.id)
        stored = await self._store._async.read(self.id, None, mark(cached))
        return cache.history(self.id, cached, stored, shared=False, last_turns=last_turns)

    def pause(self) -> dict[str, Any] | None:
        """The stored paused-run state (a JSON dict), or ``None``."""
        since = mark(self._store._histories.get(self.id))  # no need to read the rows again
        return _core.decode_pause(self._store._sync.read(self.id, None, since).pause, self.id)

    async def apause(self) -> dict[str, Any] | None:
        """The async ``pause``."""
        since = mark(self._store._histories.get(self.id))
        stored = await self._store._async.read(self.id, None, since)
        return _core.decode_pause(stored.pause, self.id)

    def clear(self) -> None:
        """Forget the history, the journal and any paused run of this session."""
        with self._lease(read=False) as lease:
            lease._write(WriteOp(clear=True, journal=None, pause=None))

    async def aclear(self) -> None:
        """The async ``clear``."""
        async with self._alease(read=False) as lease:
            await lease._write(WriteOp(clear=True, journal=None, pause=None))

    def discard_pause(self) -> None:
        """Drop the paused run kept in this session, so a new prompt is accepted.

        The paused turn is stored closed, in the same transaction: each call that waited
        for approval is answered "not run", so it can neither run later as a crashed
        run's call nor reach the model as one that may have run."""
        with self._lease() as lease:
            closed = _core.discarded_turn(lease.journal(), lease.pause())
            if closed is None:
                lease.set_pause(None)
            else:
                lease.commit_turn(closed, pause=None)

    async def adiscard_pause(self) -> None:
        """The async ``discard_pause``."""
        async with self._alease() as lease:
            closed = _core.discarded_turn(await lease.journal(), lease.pause())
            if closed is None:
                await lease.set_pause(None)
            else:
                await lease.commit_turn(closed, pause=None)

    def lease(
        self, on_busy: OnBusy = "raise", timeout: float | None = None
    ) -> contextlib.AbstractContextManager[Lease]:
        """Hold the session for one run (for integrations; ``Agent.run`` does this).

        ``on_busy="raise"`` raises ``SessionBusyError`` at once when another run holds it;
        ``"wait"`` waits for it, up to ``timeout`` seconds (``None``: no limit).
        """
        return self._lease(on_busy, timeout)

    def alease(
        self, on_busy: OnBusy = "raise", timeout: float | None = None
    ) -> contextlib.AbstractAsyncContextManager[AsyncLease]:
        """The async ``lease``; the lease is released even when the task is cancelled."""
        return self._alease(on_busy, timeout)

    @contextlib.contextmanager
    def _lease(
        self, on_busy: OnBusy = "raise", timeout: float | None = None, *, read: bool = True
    ) -> Iterator[Lease]:
        # read: the lease will load the session, which the backend may read as it takes it.
        cache = self._store._histories
        cached = cache.get(self.id) if read else None
        held = acquire(self._store._sync, self.id, on_busy, timeout, mark(cached), read)
        lease = Lease(self._store._sync, held, cache, cached)
        try:
            yield lease
        finally:
            lease.release()

    @contextlib.asynccontextmanager
    async def _alease(
        self, on_busy: OnBusy = "raise", timeout: float | None = None, *, read: bool = True
    ) -> AsyncIterator[AsyncLease]:
        cache = self._store._histories
        cached = cache.get(self.id) if read else None
        held = await aacquire(self._store._async, self.id, on_busy, timeout, mark(cached), read)
        lease = AsyncLease(self._store._async, held, cache, cached)
        try:
            yield lease
        finally:
            await lease.release()
