"""``MemoryStore``: sessions in this process's memory (tests, notebooks, one-process bots)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import field

from agentkit._record import record
from agentkit.sessions._backend import Held, InlineAsync, Mark, Stored
from agentkit.sessions._core import KEEP, WriteOp
from agentkit.sessions._errors import SessionLostError
from agentkit.sessions._store import SessionStore

__all__ = ["MemoryStore"]


_epochs = itertools.count(1)


@record(slots=True)
class _Data:
    rows: list[tuple[int, str]] = field(default_factory=list)
    journal: str | None = None
    pause: str | None = None
    token: int = 0
    held: bool = False
    epoch: int = field(default_factory=lambda: next(_epochs))  # new whenever rows go


def _lost(session_id: str) -> SessionLostError:
    return SessionLostError(
        f"The lease on session {session_id!r} was lost (another run took over); "
        "nothing was written",
        session_id=session_id,
    )


class _MemoryBackend:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, _Data] = {}
        self._tokens = itertools.count(1)

    def try_acquire(self, session_id: str, since: Mark | None, read: bool) -> Held | None:
        with self._lock:
            data = self._data.setdefault(session_id, _Data())
            if data.held:
                return None
            data.held, data.token = True, next(self._tokens)
            return Held(session_id, data.token, stored=self._read(data, since) if read else None)

    def release(self, held: Held) -> None:
        with self._lock:
            data = self._data.get(held.session_id)
            if data is not None and data.token == held.token:
                data.held = False
                if not data.rows and data.journal is None and data.pause is None:
                    # Nothing to keep: a session only leased (or deleted) costs no memory.
                    del self._data[held.session_id]

    def read(self, session_id: str, held: Held | None, since: Mark | None) -> Stored:
        with self._lock:
            data = self._data.get(session_id)
            return Stored([], None, None) if data is None else self._read(data, since)

    @staticmethod
    def _read(data: _Data, since: Mark | None) -> Stored:
        mark = (data.epoch, len(data.rows))  # a row's seq is its position, from 1
        if since is not None and since[0] == data.epoch:
            return Stored(data.rows[since[1] :], data.journal, data.pause, mark, since)
        return Stored(list(data.rows), data.journal, data.pause, mark)

    def _owned(self, held: Held) -> _Data:
        data = self._data.get(held.session_id)
        if data is None or data.token != held.token or not data.held:
            raise _lost(held.session_id)
        return data

    def write(self, held: Held, op: WriteOp) -> None:
        with self._lock:
            data = self._owned(held)
            if op.clear:
                data.rows, data.epoch = [], next(_epochs)
            data.rows.extend(op.rows)
            if op.journal is not KEEP:
                data.journal = op.journal  # type: ignore[assignment]
            if op.pause is not KEEP:
                data.pause = op.pause  # type: ignore[assignment]

    def delete(self, held: Held) -> None:
        with self._lock:
            data = self._owned(held)
            data.rows, data.journal, data.pause = [], None, None
            data.epoch = next(_epochs)

    def list_ids(self) -> list[str]:
        with self._lock:
            return sorted(
                k
                for k, d in self._data.items()
                if d.rows or d.journal is not None or d.pause is not None
            )

    def close(self) -> None:
        pass

    def lose_lease(self, session_id: str) -> None:
        """Test hook: act as if another run took the session over."""
        with self._lock:
            self._data[session_id].token = next(self._tokens)


class MemoryStore(SessionStore):
    """Sessions kept in memory: same guarantees as the database stores within one process,
    gone when the process ends."""

    def __init__(self) -> None:
        self._sync = self._backend = _MemoryBackend()
        self._async = InlineAsync(self._backend)

    def __repr__(self) -> str:
        return "MemoryStore()"
