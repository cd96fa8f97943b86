"""Leases: one run at a time per session, every write fenced by the lease's token.

``Lease`` (sync) and ``AsyncLease`` are thin shells around ``_Plan``, which turns each call
into a ``WriteOp`` and keeps the journal of the turn in progress. The async shell shields
every write from cancellation: a cancelled task waits for its write to finish (or fail)
before the cancellation goes on, so a lease is never released under a write in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from types import TracebackType
from typing import Any, Literal, TypeVar

from agentkit._checks import check_seconds
from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.sessions import _core
from agentkit.sessions._backend import AsyncBackend, Held, Mark, Stored, SyncBackend
from agentkit.sessions._cache import Cached, HistoryCache, mark
from agentkit.sessions._core import KEEP, JournalState, WriteOp
from agentkit.sessions._errors import SessionBusyError

__all__ = ["AsyncLease", "Lease", "OnBusy", "aacquire", "acquire"]

OnBusy = Literal["raise", "wait"]
T = TypeVar("T")


def _check_wait(on_busy: object, timeout: object) -> float | None:
    if on_busy not in ("raise", "wait"):
        raise UserError(f"on_busy must be 'raise' or 'wait', got {on_busy!r}")
    seconds = check_seconds("timeout", timeout, zero=True, none=True)
    return None if seconds is None else time.monotonic() + seconds


def _busy(session_id: str, waited: bool) -> SessionBusyError:
    how = "the wait timed out" if waited else "use on_busy='wait' to wait for it"
    return SessionBusyError(
        f"Session {session_id!r} is in use by another run ({how})", session_id=session_id
    )


def _next_sleep(delay: float, deadline: float | None, session_id: str) -> float:
    if deadline is None:
        return delay
    left = deadline - time.monotonic()
    if left <= 0:
        raise _busy(session_id, waited=True)
    return min(delay, left)


def acquire(
    backend: SyncBackend,
    session_id: str,
    on_busy: OnBusy,
    timeout: float | None,
    since: Mark | None = None,
    read: bool = False,
) -> Held:
    """Take the session's lease, raising ``SessionBusyError`` or polling until ``timeout``
    (``read``: the backend may read the session from ``since`` in the same go)."""
    deadline = _check_wait(on_busy, timeout)
    for delay in _core.wait_delays():
        held = backend.try_acquire(session_id, since, read)
        if held is not None:
            return held
        if on_busy == "raise":
            raise _busy(session_id, waited=False)
        time.sleep(_next_sleep(delay, deadline, session_id))
    raise AssertionError("unreachable")  # pragma: no cover


async def _complete(fut: asyncio.Future[T]) -> tuple[T, bool]:
    # Run `fut` to its end even if this task is cancelled meanwhile; report whether it was.
    cancelled = False
    while True:
        try:
            return await asyncio.shield(fut), cancelled
        except asyncio.CancelledError:
            if fut.done():
                raise
            cancelled = True


async def shielded(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even under cancellation, then let the cancellation go on."""
    result, cancelled = await _complete(asyncio.ensure_future(work))
    if cancelled:
        raise asyncio.CancelledError
    return result


async def aacquire(
    backend: AsyncBackend,
    session_id: str,
    on_busy: OnBusy,
    timeout: float | None,
    since: Mark | None = None,
    read: bool = False,
) -> Held:
    """The async ``acquire``: a lock taken while the task was being cancelled is released."""
    deadline = _check_wait(on_busy, timeout)
    for delay in _core.wait_delays():
        attempt = backend.try_acquire(session_id, since, read)
        held, cancelled = await _complete(asyncio.ensure_future(attempt))
        if cancelled:
            if held is not None:
                await shielded(backend.release(held))
            raise asyncio.CancelledError
        if held is not None:
            return held
        if on_busy == "raise":
            raise _busy(session_id, waited=False)
        await asyncio.sleep(_next_sleep(delay, deadline, session_id))
    raise AssertionError("unreachable")  # pragma: no cover


class _Plan:
    """What each lease call writes (pure): batches are checked, the journal is tracked."""

    def __init__(self, held: Held, cache: HistoryCache | None, cached: Cached | None) -> None:
        self.held = held
        # Without the store's cache (a lease made by hand), nothing is kept between loads.
        self.cache = cache if cache is not None else HistoryCache(max_messages=0)
        # The session as read when the lease was taken, from `cached`: the first load's.
        self.prefetched = None if held.stored is None else (cached, held.stored)
        self.journal: JournalState | None = None  # unknown until loaded or begun
        self.paused: dict[str, Any] | None = None  # the stored pause state, once loaded
        self.released = False

    def check(self) -> Held:
        if self.released:
            raise UserError(f"The lease on session {self.held.session_id!r} was already released")
        return self.held

    def writing(self) -> Held:
        self.prefetched = None  # this write makes it stale
        return self.check()

    def take_prefetched(self) -> tuple[Cached | None, Stored] | None:
        prefetched, self.prefetched = self.prefetched, None
        return prefetched

    def loaded(self, cached: Cached | None, stored: Stored, checked: bool) -> list[Message]:
        sid = self.held.session_id
        self.journal = JournalState(_core.decode_journal(stored.journal, sid))
        self.paused = _core.decode_pause(stored.pause, sid)
        return self.cache.history(sid, cached, stored, shared=True, checked=checked)

    def append(self, messages: list[Message], where: str) -> WriteOp:
        if not isinstance(messages, list):
            raise UserError(f"{where} takes a list of messages, got {type(messages).__name__}")
        rows = [_core.encode_message(m, f"{where}, message {i}") for i, m in enumerate(messages)]
        _core.validate_batch(messages, where)
        return WriteOp(rows=rows)

    def commit(self, messages: list[Message], pause: Any) -> WriteOp:
        op = self.append(messages, "commit_turn()")
        op.journal = None
        op.pause = self.pause_text(pause)
        return op

    def begin(self, assistant: Message, results: list[Message], pause: Any) -> WriteOp:
        state = JournalState(None)
        text = state.begin(assistant)
        for result in results:
            text = state.record(result, "begin_turn(results=...)")
        self.journal = state  # only once every result was accepted: a refused call changes nothing
        return WriteOp(journal=text, pause=self.pause_text(pause))

    def record(self, result: Message) -> WriteOp:
        assert self.journal is not None
        return WriteOp(journal=self.journal.record(result))

    @staticmethod
    def pause_text(pause: Any) -> str | Any | None:
        if pause is KEEP or pause is None:
            return pause
        return _core.encode_pause(pause)


class Lease:
    """The right to run on one session until released (a context manager).

    Attributes:
        session_id: The session leased.
        token: The fencing token of this lease (grows with every lease of the store).
    """

    def __init__(
        self,
        backend: SyncBackend,
        held: Held,
        cache: HistoryCache | None = None,
        cached: Cached | None = None,
    ) -> None:
        self._backend = backend
        self._plan = _Plan(held, cache, cached)
        self.session_id = held.session_id
        self.token = held.token

    def __repr__(self) -> str:
        return f"Lease(session_id={self.session_id!r}, token={self.token})"

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def release(self) -> None:
        """Give the session back (idempotent); later writes through this lease are refused."""
        if not self._plan.released:
            self._plan.released = True
            self._backend.release(self._plan.held)

    def _write(self, op: WriteOp) -> None:
        self._backend.write(self._plan.writing(), op)

    def load(self) -> list[Message]:
        """The stored history, repaired so that no tool call lacks its result.

        The message dicts may be the ones an earlier load of this store handed out (as a
        ``history=`` list is shared between runs); each load checks that they still equal
        what is stored, and hands out fresh ones if they were changed."""
        return self._load(checked=False)

    def _load(self, checked: bool) -> list[Message]:
        # checked: for a run, which takes the history at once (see HistoryCache.history).
        held, prefetched = self._plan.check(), self._plan.take_prefetched()
        if prefetched is not None:
            return self._plan.loaded(*prefetched, checked)
        cached = self._plan.cache.get(self.session_id)
        stored = self._backend.read(self.session_id, held, mark(cached))
        return self._plan.loaded(cached, stored, checked)

    def append(self, messages: list[Message]) -> None:
        """Append complete messages in one fenced transaction (``SessionLostError`` if lost)."""
        self._write(self._plan.append(messages, "append()"))

    def begin_turn(
        self,
        assistant_msg: Message,
        *,
        results: list[Message] | None = None,
        pause: dict[str, Any] | Any | None = KEEP,
    ) -> None:
        """Journal the model's tool-call answer of the turn now in progress, with the
        ``results`` it has already (a resumed turn's), and set or clear the pause state
        when ``pause`` is given, all in one transaction."""
        self._write(self._plan.begin(assistant_msg, list(results or ()), pause))

    def record_result(self, tool_msg: Message) -> None:
        """Journal one finished tool result of the turn in progress."""
        if self._plan.journal is None:
            self.load()
        self._write(self._plan.record(tool_msg))

    def journal(self) -> tuple[Message, list[Message]] | None:
        """The turn in progress: (assistant message, results so far), or ``None``."""
        if self._plan.journal is None:
            self.load()
        assert self._plan.journal is not None
        return self._plan.journal.current

    def commit_turn(
        self, messages: list[Message], *, pause: dict[str, Any] | Any | None = KEEP
    ) -> None:
        """Append a whole turn and clear the journal (and set or clear the pause state when
        ``pause`` is given), all in one transaction."""
        self._write(self._plan.commit(messages, pause))
        self._plan.journal = JournalState(None)

    def pause(self) -> dict[str, Any] | None:
        """The paused-run state stored when ``load()`` ran (``None``: not paused)."""
        return self._plan.paused

    def set_pause(self, state: dict[str, Any] | None) -> None:
        """Store (or with ``None`` clear) the paused-run JSON state."""
        self._write(WriteOp(pause=self._plan.pause_text(state)))

    def _delete(self) -> None:
        self._backend.delete(self._plan.writing())


class AsyncLease:
    """The async ``Lease``: the same methods as coroutines, writes shielded from cancellation.

    Attributes:
        session_id: The session leased.
        token: The fencing token of this lease.
    """

    def __init__(
        self,
        backend: AsyncBackend,
        held: Held,
        cache: HistoryCache | None = None,
        cached: Cached | None = None,
    ) -> None:
        self._backend = backend
        self._plan = _Plan(held, cache, cached)
        self.session_id = held.session_id
        self.token = held.token

    def __repr__(self) -> str:
        return f"AsyncLease(session_id={self.session_id!r}, token={self.token})"

    async def __aenter__(self) -> AsyncLease:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.release()

    async def release(self) -> None:
        """Give the session back (idempotent), even from a task being cancelled."""
        if not self._plan.released:
            self._plan.released = True
            await shielded(self._backend.release(self._plan.held))

    async def _write(self, op: WriteOp) -> None:
        await shielded(self._backend.write(self._plan.writing(), op))

    async def load(self) -> list[Message]:
        """The stored history, repaired so that no tool call lacks its result (see
        ``Lease.load`` on the message dicts)."""
        return await self._load(checked=False)

    async def _load(self, checked: bool) -> list[Message]:
        held, prefetched = self._plan.check(), self._plan.take_prefetched()
        if prefetched is not None:
            return self._plan.loaded(*prefetched, checked)
        cached = self._plan.cache.get(self.session_id)
        stored = await self._backend.read(self.session_id, held, mark(cached))
        return self._plan.loaded(cached, stored, checked)

    async def append(self, messages: list[Message]) -> None:
        """Append complete messages in one fenced transaction (``SessionLostError`` if lost)."""
        await self._write(self._plan.append(messages, "append()"))

    async def begin_turn(
        self, assistant_msg: Message, *, results: list[Message] | None = None, pause: Any = KEEP
    ) -> None:
        """``Lease.begin_turn``: journal the turn in progress (with the ``results`` it has,
        and the pause set or cleared when ``pause`` is given) in one transaction."""
        await self._write(self._plan.begin(assistant_msg, list(results or ()), pause))

    async def record_result(self, tool_msg: Message) -> None:
        """Journal one finished tool result of the turn in progress."""
        if self._plan.journal is None:
            await self.load()
        await self._write(self._plan.record(tool_msg))

    async def journal(self) -> tuple[Message, list[Message]] | None:
        """The turn in progress: (assistant message, results so far), or ``None``."""
        if self._plan.journal is None:
            await self.load()
        assert self._plan.journal is not None
        return self._plan.journal.current

    async def commit_turn(
        self, messages: list[Message], *, pause: dict[str, Any] | Any | None = KEEP
    ) -> None:
        """Append a whole turn and clear the journal (and the pause state when given),
        all in one transaction."""
        await self._write(self._plan.commit(messages, pause))
        self._plan.journal = JournalState(None)

    def pause(self) -> dict[str, Any] | None:
        """The paused-run state stored when ``load()`` ran (``None``: not paused)."""
        return self._plan.paused

    async def set_pause(self, state: dict[str, Any] | None) -> None:
        """Store (or with ``None`` clear) the paused-run JSON state."""
        await self._write(WriteOp(pause=self._plan.pause_text(state)))

    async def _delete(self) -> None:
        await shielded(self._backend.delete(self._plan.writing()))
