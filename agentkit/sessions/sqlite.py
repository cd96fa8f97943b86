"""``SQLiteStore``: sessions in one SQLite file (stdlib ``sqlite3``, WAL, nothing to install).

Each thread gets its own connection. Every write is one ``BEGIN IMMEDIATE`` transaction
that first checks the lease's fencing token; waiting writers queue on SQLite's busy timeout
instead of failing with "database is locked". Leases are byte-range locks on a lock file
beside the database (``<db>-agentkit-locks``), which the kernel drops when a process dies.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from agentkit._checks import check_count, check_seconds
from agentkit.errors import UserError
from agentkit.sessions import _core, _migrations
from agentkit.sessions._backend import Held, Mark, Stored, ThreadedAsync
from agentkit.sessions._core import KEEP, WriteOp
from agentkit.sessions._errors import SessionError, SessionLostError
from agentkit.sessions._oslock import LockFile, open_lock_file
from agentkit.sessions._store import SessionStore

__all__ = ["SQLiteStore"]

_READ_SESSION = "SELECT journal, pause, epoch FROM agentkit_sessions WHERE id = ?"
_READ_ROWS = "SELECT seq, format, body FROM agentkit_messages WHERE session_id = ? ORDER BY seq"
_READ_AFTER = (
    "SELECT seq, format, body FROM agentkit_messages WHERE session_id = ? AND seq > ? ORDER BY seq"
)
# Each row takes the next seq of its session (the rows before it in the batch included).
_APPEND = (
    "INSERT INTO agentkit_messages (session_id, seq, format, body) "
    "SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3 FROM agentkit_messages WHERE session_id = ?1"
)
_LIST = (
    "SELECT id FROM agentkit_sessions s WHERE journal IS NOT NULL OR pause IS NOT NULL "
    "OR EXISTS (SELECT 1 FROM agentkit_messages m WHERE m.session_id = s.id) ORDER BY id"
)


def _closed_message(path: str) -> str:
    return f"The SQLiteStore of {path!r} is closed"


def _lost(session_id: str) -> SessionLostError:
    return SessionLostError(
        f"The lease on session {session_id!r} was lost (another run took over); "
        "nothing was written",
        session_id=session_id,
    )


def _select(c: sqlite3.Connection, session_id: str, since: Mark | None) -> Stored:
    """Read a session inside a transaction (see ``SyncBackend.read``)."""
    row = c.execute(_READ_SESSION, (session_id,)).fetchone()
    journal, pause, epoch = row if row is not None else (None, None, 0)
    if since is not None and epoch and since[0] == epoch:
        rows = c.execute(_READ_AFTER, (session_id, since[1])).fetchall()
    else:
        since = None
        rows = c.execute(_READ_ROWS, (session_id,)).fetchall()
    last = rows[-1][0] if rows else (0 if since is None else since[1])
    mark = (epoch, last) if epoch else None  # epoch 0: a row an older agentkit made
    return Stored([(f, b) for _, f, b in rows], journal, pause, mark, since)


class _Failing:
    """Turns a ``sqlite3`` error (a lock held past ``busy_timeout``, a full disk, a file
    that is no database) into a ``SessionError`` naming the database, as PostgreSQL's are."""

    __slots__ = ("_path", "_session_id")

    def __init__(self, path: str, session_id: str | None = None) -> None:
        self._path, self._session_id = path, session_id

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, _: object
    ) -> None:
        if exc is not None and isinstance(exc, sqlite3.Error):
            where = "" if self._session_id is None else f", session {self._session_id!r}"
            raise SessionError(
                f"SQLite failed ({self._path!r}{where}): {type(exc).__name__}: {exc}",
                session_id=self._session_id,
            ) from exc


class _Tx:
    """One transaction: begun at once, committed by a clean exit, else rolled back."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection, begin: str) -> None:
        conn.execute(begin)
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, et: type[BaseException] | None, *_: object) -> None:
        self.conn.execute("COMMIT" if et is None else "ROLLBACK")


class _SQLiteBackend:
    def __init__(self, path: str, busy_timeout: float, synchronous: str) -> None:
        self._path = path
        self._busy_ms = int(busy_timeout * 1000)
        self._synchronous = synchronous
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        try:
            self._locks: LockFile = open_lock_file(path + "-agentkit-locks")
        except OSError as exc:  # a missing folder, no permission
            raise SessionError(f"Could not open the session database {path!r}: {exc}") from None
        self._mine: set[int] = set()
        self._closed = False
        try:
            with _Failing(path):
                self._migrate(busy_timeout)
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- connections

    def _check_open(self) -> None:
        if self._closed:
            raise SessionError(_closed_message(self._path))

    def _conn(self) -> sqlite3.Connection:
        self._check_open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._busy_ms / 1000,
            )
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _tx(self, begin: str = "BEGIN IMMEDIATE") -> _Tx:
        return _Tx(self._conn(), begin)

    @contextmanager
    def _unsynced_tx(self) -> Iterator[sqlite3.Connection]:
        # A write whose loss on power failure harms nothing commits without an fsync, as
        # synchronous=NORMAL does (still atomic, and durable when the process dies). WAL
        # frames are synced in order, so the next synced commit makes it durable too.
        conn = self._conn()
        if self._synchronous == "NORMAL":
            with self._tx() as c:
                yield c
            return
        conn.execute("PRAGMA synchronous = NORMAL")
        try:
            with self._tx() as c:
                yield c
        finally:
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")

    def _migrate(self, timeout: float) -> None:
        # Store-wide lock first: switching to WAL and creating tables must not race with
        # another process doing the same on a new file.
        if not self._locks.lock(0, timeout):
            raise SessionError(f"Timed out opening the session database {self._path!r}")
        try:
            conn = self._conn()
            conn.execute("PRAGMA journal_mode = WAL")
            with self._tx() as c:
                c.execute(_migrations.SCHEMA_TABLE["sqlite"])
                (current,) = c.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM agentkit_schema"
                ).fetchone()
                for version, statements in _migrations.pending("sqlite", current):
                    for sql in statements:
                        c.execute(sql)
                    c.execute("INSERT INTO agentkit_schema VALUES (?, ?)", (version, time.time()))
        finally:
            self._locks.unlock(0)

    # ---------------------------------------------------------------- leases

    def try_acquire(self, session_id: str, since: Mark | None, read: bool) -> Held | None:
        # Checked first: a closed store's lock file may be closed too, and "busy" would
        # send an on_busy="wait" caller into waiting for good.
        self._check_open()
        offset = LockFile.offset(_core.lock_key(session_id))
        try:
            if not self._locks.try_lock(offset):
                return None
        except OSError as exc:
            raise SessionError(f"Could not lock session {session_id!r}: {exc}") from None
        try:
            # A lease's token need not survive a power failure: every holder dies with it.
            with _Failing(self._path, session_id), self._unsynced_tx() as c:
                (token,) = c.execute(
                    "UPDATE agentkit_lease_counter SET value = value + 1 WHERE id = 1 "
                    "RETURNING value"
                ).fetchone()
                # A new session row's epoch is its first token: a number never used before.
                c.execute(
                    "INSERT INTO agentkit_sessions (id, token, epoch, updated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET token = excluded.token",
                    (session_id, token, token, time.time()),
                )
                stored = _select(c, session_id, since) if read else None  # the first load's
        except BaseException:
            self._locks.unlock(offset)
            raise
        self._mine.add(offset)
        return Held(session_id, token, offset, stored)

    def release(self, held: Held) -> None:
        if self._closed:
            return  # close() dropped every lock this store held
        self._mine.discard(held.state)
        self._locks.unlock(held.state)

    # ---------------------------------------------------------------- data

    def read(self, session_id: str, held: Held | None, since: Mark | None) -> Stored:
        # One snapshot for the session row and its messages.
        with _Failing(self._path, session_id), self._tx("BEGIN") as c:
            return _select(c, session_id, since)

    def write(self, held: Held, op: WriteOp) -> None:
        sets, args = ["updated_at = ?"], [time.time()]
        if op.journal is not KEEP:
            sets.append("journal = ?")
            args.append(op.journal)  # type: ignore[arg-type]
        if op.pause is not KEEP:
            sets.append("pause = ?")
            args.append(op.pause)  # type: ignore[arg-type]
        sid = held.session_id
        with _Failing(self._path, sid), self._tx() as c:
            cur = c.execute(
                f"UPDATE agentkit_sessions SET {', '.join(sets)} WHERE id = ? AND token = ?",
                (*args, sid, held.token),
            )
            if cur.rowcount != 1:
                raise _lost(sid)
            if op.clear:
                c.execute("DELETE FROM agentkit_messages WHERE session_id = ?", (sid,))
            if op.rows:
                c.executemany(_APPEND, [(sid, fmt, body) for fmt, body in op.rows])

    def delete(self, held: Held) -> None:
        sid = held.session_id
        with _Failing(self._path, sid), self._tx() as c:
            cur = c.execute(
                "DELETE FROM agentkit_sessions WHERE id = ? AND token = ?", (sid, held.token)
            )
            if cur.rowcount != 1:
                raise _lost(sid)
            c.execute("DELETE FROM agentkit_messages WHERE session_id = ?", (sid,))

    def list_ids(self) -> list[str]:
        with _Failing(self._path):
            return [r[0] for r in self._conn().execute(_LIST).fetchall()]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for offset in list(self._mine):
            self._locks.unlock(offset)
        self._mine.clear()
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._locks.release_ref()

    def execute(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Test hook: run one statement in its own write transaction."""
        with self._tx() as c:
            return c.execute(sql, args).fetchall()


class SQLiteStore(SessionStore):
    """Sessions in one SQLite file: the embedded default (``SQLiteStore("chat.db")``).

    Args:
        path: The database file (created with its schema if missing).
        busy_timeout: Seconds a write waits for other writers before failing.
        synchronous: ``"NORMAL"`` (the default, as SQLite recommends for WAL): every
            commit is atomic and survives a crashed or killed process; a power failure
            may roll back the last commits, whole. ``"FULL"`` also syncs every commit of
            the session data to disk, so it survives power loss, for four fsyncs a run
            (see the README, "SQLite durability").
        threads: Threads that run the blocking work of the async API.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        synchronous: Literal["FULL", "NORMAL"] = "NORMAL",
        threads: int = 8,
    ) -> None:
        text = os.fspath(path)
        if not text or text == ":memory:" or text.startswith("file:"):
            raise UserError(
                f"SQLiteStore needs a file path, got {text!r}; "
                "use MemoryStore() for in-memory sessions"
            )
        if synchronous not in ("FULL", "NORMAL"):
            raise UserError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        busy_timeout = check_seconds("SQLiteStore busy_timeout", busy_timeout, zero=True)
        threads = check_count("SQLiteStore threads", threads)
        self.path = os.path.abspath(text)
        self._sync = self._backend = _SQLiteBackend(self.path, busy_timeout, synchronous)
        self._async = self._threads = ThreadedAsync(
            self._backend, threads, closed=_closed_message(self.path)
        )

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def close(self) -> None:
        """Stop the async threads and close every connection."""
        self._threads.shutdown()
        self._backend.close()

    async def aclose(self) -> None:
        """The async ``close``."""
        await self._threads.close()
        self._backend.close()
