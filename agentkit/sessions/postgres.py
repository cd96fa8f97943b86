"""``PostgresStore``: sessions in a PostgreSQL database (psycopg 3, sync and async).

Install with ``pip install 'agentkit-lean[postgres]'``. psycopg is imported by this module only.
Connections come from small pools the store owns (one per event loop for the async API);
a lease holds no connection: see ``_pgsql`` for how leases, liveness and fencing work.
No password appears in a repr or an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import psycopg
from psycopg import conninfo

from agentkit._checks import check_count
from agentkit.errors import UserError
from agentkit.sessions import _migrations, _pgsql
from agentkit.sessions._backend import Held, Mark, Stored
from agentkit.sessions._core import WriteOp
from agentkit.sessions._errors import SessionError, SessionLostError
from agentkit.sessions._store import SessionStore

__all__ = ["PostgresStore"]


def _safe(dsn: str) -> tuple[str, str]:
    """A printable description of ``dsn`` and its password (to scrub from messages)."""
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise UserError("PostgresStore: the connection string cannot be parsed") from None
    password = str(parts.pop("password", "") or "")
    shown = " ".join(
        f"{k}={v}" for k, v in sorted(parts.items()) if k in ("host", "port", "dbname", "user")
    )
    return shown, password


class _Target:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.shown, self._password = _safe(dsn)

    def error(self, what: str, exc: BaseException, session_id: str | None = None) -> SessionError:
        text = str(exc)
        if self._password:
            text = text.replace(self._password, "***")
        cls = SessionLostError if session_id is not None else SessionError
        return cls(
            f"{what} ({self.shown}): {type(exc).__name__}: {text}".strip(), session_id=session_id
        )


def _lost(session_id: str) -> SessionLostError:
    return SessionLostError(
        f"The lease on session {session_id!r} was lost (another run took over, or this "
        "store's connection holding its lease lock was lost); nothing was written",
        session_id=session_id,
    )


def _ended(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection looks ended by the server, without a round trip.

    An idle connection gets nothing unasked but the server's goodbye (a restart,
    ``pg_terminate_backend``) or, rarely, a notice: anything waiting on its socket says it
    is probably gone. A connection cut without a word (a lost network) still looks fine.
    """
    if conn.closed:
        return True
    try:
        # poll, not a selector: one system call per check, no epoll object made and closed.
        waiting = select.poll()
        waiting.register(conn.pgconn.socket, select.POLLIN)
        return bool(waiting.poll(0))
    except (psycopg.OperationalError, OSError, ValueError):
        return True  # closed meanwhile (by another thread)


class _HolderLock:
    """The connection whose session-level advisory lock on a random key makes this store's
    leases exclusive (see ``_pgsql``).

    When that connection dies (a server restart) its lock is gone for good, and with it
    every lease taken under its key: their writes are refused (``SessionLostError``). The
    next lease reconnects under a fresh key, never the old one, so those leases stay lost
    while new ones are exclusive again.
    """

    def __init__(self, target: _Target, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self._t = target
        self._connect = connect
        self._mutex = threading.Lock()
        # (connection, key) in one attribute: a lock-free reader never sees them mixed.
        self._held: tuple[psycopg.Connection[Any], int] | None = None
        self._closed = False

    def current(self) -> int | None:
        """The key if its connection looks alive (no I/O, no waiting), else ``None``."""
        held = self._held
        return None if held is None or _ended(held[0]) else held[1]

    def key(self) -> int:
        """The key of a lock held now, reconnecting under a fresh key if it was lost."""
        key = self.current()
        if key is not None:
            return key
        with self._mutex:
            if self._closed:
                raise SessionError(f"The PostgresStore ({self._t.shown}) is closed")
            if self._held is not None and self._alive(self._held[0]):
                return self._held[1]
            self._drop()
            conn, key = self._connect(), _pgsql.holder_key()
            try:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            except psycopg.Error as exc:
                conn.close()
                raise self._t.error("Could not take the lease lock", exc) from None
            self._held = (conn, key)
            return key

    @staticmethod
    def _alive(conn: psycopg.Connection[Any]) -> bool:
        # Something arrived on the socket: only a round trip tells a notice from a goodbye,
        # and dropping a live lock would lose every lease of this store.
        try:
            conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def _drop(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held[0].close()

    def pid(self) -> int:
        """The server pid of the connection holding the lock."""
        self.key()
        assert self._held is not None
        return int(self._held[0].info.backend_pid)

    def close(self) -> None:
        """Drop the lock (this store's leases are free now); no key is taken after."""
        with self._mutex:
            self._closed = True
            self._drop()


class _SyncPostgres:
    def __init__(self, target: _Target, size: int) -> None:
        self._t = target
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False
        self.holder = _HolderLock(target, self._connect)
        try:
            self.holder.key()
            self._migrate()
        except BaseException:
            self.close()
            raise

    def _migrate(self) -> None:
        with self._conn() as c, c.transaction():
            c.execute("SELECT pg_advisory_xact_lock(%s)", (_pgsql.MIGRATION_LOCK,))
            c.execute(_migrations.SCHEMA_TABLE["postgres"])
            cur = c.execute("SELECT COALESCE(MAX(version), 0) FROM agentkit_schema").fetchone()
            for version, statements in _migrations.pending("postgres", cur[0] if cur else 0):
                for sql in statements:
                    c.execute(sql)
                c.execute("INSERT INTO agentkit_schema (version) VALUES (%s)", (version,))

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.Connection.connect(self._t.dsn, autocommit=True)
        except psycopg.Error as exc:
            raise self._t.error("Could not connect to PostgreSQL", exc) from None

    @contextlib.contextmanager
    def _conn(self, session_id: str | None = None) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise SessionError(f"The PostgresStore ({self._t.shown}) is closed")
        with self._slots:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is not None and _ended(conn):
                conn.close()  # ended while idle (a server restart): a new one, not a failure
                conn = None
            conn = conn or self._connect()
            try:
                yield conn
            except psycopg.Error as exc:
                conn.close()
                raise self._t.error("PostgreSQL failed", exc, session_id) from None
            except BaseException:
                conn.close()
                raise
            if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)

    def try_acquire(self, session_id: str, since: Mark | None, read: bool) -> Held | None:
        holder = self.holder.key()
        acquire = {"id": session_id, "holder": holder}
        with self._conn() as c:
            if not read:
                row = c.execute(_pgsql.ACQUIRE, acquire).fetchone()
                return None if row is None else Held(session_id, int(row[0]))
            with c.pipeline():  # one round trip: the read runs after the token is taken
                taken = c.execute(_pgsql.ACQUIRE, acquire)
                got = c.execute(_pgsql.READ_TAKEN, _pgsql.read_args(session_id, since, holder))
            row, rows = taken.fetchone(), got.fetchall()
        if row is None:
            return None
        return Held(session_id, int(row[0]), stored=_pgsql.stored(rows, since))

    def release(self, held: Held) -> None:
        with contextlib.suppress(SessionError), self._conn() as c:
            c.execute(_pgsql.RELEASE, (held.session_id, held.token))

    def read(self, session_id: str, held: Held | None, since: Mark | None) -> Stored:
        with self._conn() as c:
            rows = c.execute(_pgsql.READ, _pgsql.read_args(session_id, since)).fetchall()
        return _pgsql.stored(rows, since)

    def write(self, held: Held, op: WriteOp) -> None:
        (fence, args), rest = _pgsql.write_statements(held.session_id, held.token, op)
        with self._conn(held.session_id) as c, c.transaction():
            if c.execute(fence, args).rowcount != 1:
                raise _lost(held.session_id)
            for sql, a in rest:
                c.execute(sql, a)

    def delete(self, held: Held) -> None:
        with self._conn(held.session_id) as c, c.transaction():
            if c.execute(_pgsql.DELETE[0], (held.session_id, held.token)).rowcount != 1:
                raise _lost(held.session_id)
            c.execute(_pgsql.DELETE[1], (held.session_id,))

    def list_ids(self) -> list[str]:
        with self._conn() as c:
            return [r[0] for r in c.execute(_pgsql.LIST).fetchall()]

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed

    def close(self) -> None:
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        self.holder.close()


class _AsyncPool:
    def __init__(self, target: _Target, size: int) -> None:
        self._t = target
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots = asyncio.BoundedSemaphore(size)

    @contextlib.asynccontextmanager
    async def conn(self, session_id: str | None) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            if conn is not None and _ended(conn):
                await conn.close()  # ended while idle (a server restart): take a new one
                conn = None
            if conn is None:
                try:
                    conn = await psycopg.AsyncConnection.connect(self._t.dsn, autocommit=True)
                except psycopg.Error as exc:
                    raise self._t.error("Could not connect to PostgreSQL", exc) from None
            try:
                yield conn
            except psycopg.Error as exc:
                await conn.close()
                raise self._t.error("PostgreSQL failed", exc, session_id) from None
            except BaseException:
                await conn.close()
                raise
            if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                await conn.close()
            else:
                self._idle.append(conn)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()

    def drop(self) -> None:
        # Called without the pool's loop (store.close()): end the connections at the
        # libpq level, which needs no event loop.
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.pgconn.finish()


class _AsyncPostgres:
    """The async backend: the same SQL on ``AsyncConnection``s, one pool per event loop."""

    def __init__(self, sync: _SyncPostgres, target: _Target, size: int) -> None:
        self._sync = sync
        self._t = target
        self._size = size
        self._pools: dict[asyncio.AbstractEventLoop, _AsyncPool] = {}

    def _conn(self, session_id: str | None = None) -> contextlib.AbstractAsyncContextManager[Any]:
        if self._sync.closed:  # else a new pool: connections that nothing would close
            raise SessionError(f"The PostgresStore ({self._t.shown}) is closed")
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            for old in [lp for lp in self._pools if lp.is_closed()]:
                self._pools.pop(old).drop()  # connections of a loop that has ended
            pool = self._pools[loop] = _AsyncPool(self._t, self._size)
        return pool.conn(session_id)

    async def try_acquire(self, session_id: str, since: Mark | None, read: bool) -> Held | None:
        # Retaking a lost lock connects and blocks: in a thread, not on the loop.
        holder = self._sync.holder.current() or await asyncio.to_thread(self._sync.holder.key)
        acquire = {"id": session_id, "holder": holder}
        async with self._conn() as c:
            if not read:
                row = await (await c.execute(_pgsql.ACQUIRE, acquire)).fetchone()
                return None if row is None else Held(session_id, int(row[0]))
            async with c.pipeline():  # one round trip: the read runs after the token is taken
                taken = await c.execute(_pgsql.ACQUIRE, acquire)
                args = _pgsql.read_args(session_id, since, holder)
                got = await c.execute(_pgsql.READ_TAKEN, args)
            row, rows = await taken.fetchone(), await got.fetchall()
        if row is None:
            return None
        return Held(session_id, int(row[0]), stored=_pgsql.stored(rows, since))

    async def release(self, held: Held) -> None:
        with contextlib.suppress(SessionError):
            async with self._conn() as c:
                await c.execute(_pgsql.RELEASE, (held.session_id, held.token))

    async def read(self, session_id: str, held: Held | None, since: Mark | None) -> Stored:
        async with self._conn() as c:
            cur = await c.execute(_pgsql.READ, _pgsql.read_args(session_id, since))
            rows = await cur.fetchall()
        return _pgsql.stored(rows, since)

    async def write(self, held: Held, op: WriteOp) -> None:
        (fence, args), rest = _pgsql.write_statements(held.session_id, held.token, op)
        async with self._conn(held.session_id) as c, c.transaction():
            if (await c.execute(fence, args)).rowcount != 1:
                raise _lost(held.session_id)
            for sql, a in rest:
                await c.execute(sql, a)

    async def delete(self, held: Held) -> None:
        async with self._conn(held.session_id) as c, c.transaction():
            cur = await c.execute(_pgsql.DELETE[0], (held.session_id, held.token))
            if cur.rowcount != 1:
                raise _lost(held.session_id)
            await c.execute(_pgsql.DELETE[1], (held.session_id,))

    async def list_ids(self) -> list[str]:
        async with self._conn() as c:
            cur = await c.execute(_pgsql.LIST)
            return [r[0] for r in await cur.fetchall()]

    async def close(self) -> None:
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()
        self.drop()

    def drop(self) -> None:
        """Close the idle connections of every loop's pool, from any thread."""
        for pool in list(self._pools.values()):
            pool.drop()
        self._pools.clear()


class PostgresStore(SessionStore):
    """Sessions in PostgreSQL, shared by every process and machine that opens the database.

    Args:
        dsn: A libpq connection string or URI (``"postgresql://user:pw@host/db"``).
        pool_size: Connections per pool (the sync API has one, each event loop one); a
            lease does not hold a connection, so hundreds of leases share them.
    """

    def __init__(self, dsn: str, *, pool_size: int = 10) -> None:
        if not isinstance(dsn, str) or not dsn:
            raise UserError("PostgresStore needs a connection string (DSN)")
        pool_size = check_count("PostgresStore pool_size", pool_size)  # 0: every call waits
        target = _Target(dsn)
        self._shown = target.shown
        self._sync = self._backend = _SyncPostgres(target, pool_size)
        self._async = self._abackend = _AsyncPostgres(self._backend, target, pool_size)

    def __repr__(self) -> str:
        return f"PostgresStore({self._shown!r})"

    def close(self) -> None:
        """Close every connection (the async pools' too) and free this store's leases."""
        self._abackend.drop()
        self._backend.close()

    async def aclose(self) -> None:
        """Close this loop's async connections and then the store."""
        await self._abackend.close()
        self._backend.close()

    def _holder_pid(self) -> int:
        """Test hook: the server pid of the connection holding this store's leases."""
        return self._backend.holder.pid()
