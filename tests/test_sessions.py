"""The pure logic of session stores, and what is specific to the SQLite and PostgreSQL ones."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from agentkit._history import unique_call_ids
from agentkit.errors import UserError
from agentkit.sessions import (
    PostgresStore,
    SessionBusyError,
    SessionError,
    SessionFormatError,
    SessionLostError,
    SQLiteStore,
    _core,
    _migrations,
)

if TYPE_CHECKING:
    from _postgres import Cluster


def _call(cid: str) -> dict[str, object]:
    return {"id": cid, "type": "function", "function": {"name": "f", "arguments": "{}"}}


ASSISTANT = {"role": "assistant", "content": None, "tool_calls": [_call("a"), _call("b")]}


# ----------------------------------------------------------------------------- core


def test_repair_answers_orphans_in_place_and_drops_strays() -> None:
    history = [
        {"role": "user", "content": "q"},
        ASSISTANT,
        {"role": "tool", "tool_call_id": "b", "content": "B"},
        {"role": "tool", "tool_call_id": "zz", "content": "stray"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": None, "tool_calls": [_call("c")]},
    ]
    repaired = _core.repair(history)
    assert [m.get("tool_call_id") for m in repaired] == [None, None, "b", "a", None, None, "c"]
    assert repaired[3]["content"] == _core.INTERRUPTED
    valid = [{"role": "user", "content": "q"}]
    assert _core.repair(valid) is valid


def test_open_ends_and_call_ids_are_judged_as_a_run_would() -> None:
    """What the session cache needs to know of its rows: whether they end in an open call
    (the next rows may answer it), and whether a run would rename a tool-call id."""
    answered = [ASSISTANT, {"role": "tool", "tool_call_id": "a", "content": ""}]
    assert _core.ends_open(answered)  # "b" has no result yet
    assert not _core.ends_open([*answered, {"role": "tool", "tool_call_id": "b", "content": ""}])
    assert not _core.ends_open([*answered, {"role": "user", "content": "q"}])
    assert not _core.ends_open([])
    seen = unique_call_ids([ASSISTANT], frozenset())
    assert seen == {"a", "b"}
    assert unique_call_ids([{"role": "assistant", "tool_calls": [_call("c")]}], seen) == {
        "a", "b", "c"
    }  # fmt: skip
    assert unique_call_ids([ASSISTANT], seen) is None  # used twice
    assert unique_call_ids([{"role": "assistant", "tool_calls": [{"id": ""}]}], seen) is None
    assert unique_call_ids([{"role": "assistant", "tool_calls": ["x"]}], seen) == seen


def test_trim_never_cuts_inside_a_tool_turn() -> None:
    turn = [
        {"role": "user", "content": "q"},
        ASSISTANT,
        {"role": "tool", "tool_call_id": "a", "content": ""},
        {"role": "tool", "tool_call_id": "b", "content": ""},
    ]
    history = turn * 3
    for n in range(1, 4):
        kept = _core.trim_turns(history, n)
        assert kept[0]["role"] == "user" and len(kept) == 4 * n
    with pytest.raises(UserError, match="last_turns"):
        _core.trim_turns(history, True)  # type: ignore[arg-type]


def test_trim_keeps_the_instructions_a_history_starts_with() -> None:
    system = {"role": "system", "content": "Speak French."}
    developer = {"role": "developer", "content": "Be brief."}
    turn = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    history = [system, developer, *turn * 3]
    assert _core.trim_turns(history, 1) == [system, developer, *turn]
    assert _core.trim_turns(history, 0) == [system, developer]
    assert _core.trim_turns(history, 3) == history
    assert _core.trim_turns(history, 4) == history
    # A run's own turn (from `current`) counts as one, whatever user messages it holds.
    fix = {"role": "user", "content": "Reply again with only the corrected JSON object."}
    run = [*history, turn[0], turn[1], fix]
    assert _core.trim_turns(run, 1, current=8) == [system, developer, turn[0], turn[1], fix]
    assert _core.trim_turns(run, 2, current=8) == [system, developer, *turn, turn[0], turn[1], fix]


def test_batches_and_journal_refuse_misuse_clearly() -> None:
    with pytest.raises(UserError, match="'b' of message 0 has no result"):
        _core.validate_batch(
            [ASSISTANT, {"role": "tool", "tool_call_id": "a", "content": ""}], "append()"
        )
    journal = _core.JournalState(None)
    with pytest.raises(UserError, match="begin_turn"):
        journal.record({"role": "tool", "tool_call_id": "a", "content": ""})
    with pytest.raises(UserError, match="tool_calls"):
        journal.begin({"role": "assistant", "content": "no calls"})
    journal.begin(ASSISTANT)
    with pytest.raises(UserError, match="'x' is not an unanswered"):
        journal.record({"role": "tool", "tool_call_id": "x", "content": ""})
    with pytest.raises(UserError, match=r"NaN|JSON"):
        _core.encode_message({"role": "user", "content": float("nan")}, "append()")


def test_unknown_formats_are_clear_errors() -> None:
    with pytest.raises(SessionFormatError, match="row format 2 is unknown"):
        _core.decode_row(2, "{}", session_id="s", position=3)
    with pytest.raises(SessionFormatError, match="not JSON"):
        _core.decode_row(1, "\x80\x04pickle", session_id="s", position=0)
    with pytest.raises(SessionFormatError, match="journal has format 7"):
        _core.decode_journal('{"format": 7}', "s")
    with pytest.raises(SessionFormatError, match="newer than this agentkit"):
        _migrations.pending("sqlite", 99)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_lone_surrogate_is_refused_before_it_is_stored(backend: str, tmp_path: Path) -> None:
    # json.dumps writes one, but neither a database nor a later request could take it.
    from agentkit.sessions import MemoryStore

    store = MemoryStore() if backend == "memory" else SQLiteStore(tmp_path / "s.db")
    session = store.session("s")
    with session.lease() as lease:
        lease.append([{"role": "user", "content": "ok"}])
        with pytest.raises(UserError, match=r"message 0: .*lone surrogate"):
            lease.append([{"role": "user", "content": "caf\udce9"}])
    assert session.messages() == [{"role": "user", "content": "ok"}]
    with pytest.raises(UserError, match="lone surrogate"), session.lease() as lease:
        lease.set_pause({"note": "\ud800"})
    assert session.pause() is None


def test_session_ids_are_checked() -> None:
    from agentkit.sessions import MemoryStore

    for bad in ("", 5, "x" * 513, "a\x00b"):
        with pytest.raises(UserError, match="session id"):
            MemoryStore().session(bad)  # type: ignore[arg-type]
    # Each says what is wrong with the id at hand (a 3-character id is not too long).
    with pytest.raises(UserError, match=r"must not hold NUL, got one with NUL at index 1$"):
        MemoryStore().session("a\x00b")
    with pytest.raises(UserError, match="at most 512 characters, got one of 513"):
        MemoryStore().session("x" * 513)


def test_the_memory_store_keeps_nothing_of_a_deleted_or_empty_session() -> None:
    from agentkit.sessions import MemoryStore

    store = MemoryStore()
    for i in range(100):
        with store.session(f"req-{i}").lease() as lease:
            lease.append([{"role": "user", "content": "hi"}])
        store.delete(f"req-{i}")
        with store.session(f"look-{i}").lease() as lease:  # leased, nothing written
            assert lease.load() == []
    kept = store.session("kept")
    with kept.lease() as lease:
        lease.append([{"role": "user", "content": "hi"}])
    kept.clear()  # cleared, not deleted: still nothing to keep
    assert store._backend._data == {}
    with kept.lease() as lease:
        lease.set_pause({"a": 1})
    assert list(store._backend._data) == ["kept"] and kept.pause() == {"a": 1}


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"threads": 0}, "threads must be an int >= 1"),
        ({"threads": "4"}, "threads must be an int >= 1"),
        ({"busy_timeout": -1}, "busy_timeout must be a finite number of seconds >= 0"),
        ({"busy_timeout": "5"}, "busy_timeout must be a finite number of seconds >= 0"),
        ({"busy_timeout": float("nan")}, "busy_timeout must be a finite number"),
        ({"busy_timeout": None}, "busy_timeout must be a finite number"),
    ],
)
def test_sqlite_store_options_are_checked(tmp_path: Path, options: dict, says: str) -> None:
    with pytest.raises(UserError, match=says):
        SQLiteStore(tmp_path / "s.db", **options)


def test_postgres_store_options_are_checked() -> None:
    # pool_size=0 made every call wait for a connection slot for good.
    for bad in (0, -1, "3", 1.5):
        with pytest.raises(UserError, match="pool_size must be an int >= 1"):
            PostgresStore("host=/nonexistent dbname=x", pool_size=bad)  # type: ignore[arg-type]


def test_importing_sessions_does_not_import_psycopg() -> None:
    code = "import sys, agentkit.sessions; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- SQLite


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT MAX(version) FROM agentkit_schema").fetchone()[0])


def test_sqlite_migrates_a_version_1_database_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(_migrations.SCHEMA_TABLE["sqlite"])
    for sql in _migrations.MIGRATIONS["sqlite"][0]:
        conn.execute(sql)
    conn.execute("INSERT INTO agentkit_schema VALUES (1, 0)")
    conn.execute("INSERT INTO agentkit_sessions VALUES ('s', 1, 0)")
    conn.execute(
        'INSERT INTO agentkit_messages VALUES (\'s\', 1, 1, \'{"role":"user","content":"old"}\')'
    )
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    assert store.session("s").messages() == [{"role": "user", "content": "old"}]
    with store.session("s").lease() as lease:
        lease.set_pause({"x": 1})
    store.close()
    assert _version(path) == len(_migrations.MIGRATIONS["sqlite"])
    with sqlite3.connect(path) as conn:  # version 3: the old row got an epoch of its own
        assert conn.execute("SELECT epoch FROM agentkit_sessions").fetchall() == [(1,)]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO agentkit_schema VALUES (99, 0)")
    with pytest.raises(SessionFormatError, match="version 99"):
        SQLiteStore(path)


def test_sqlite_processes_opening_a_new_database_at_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    start = time.time() + 1.0
    code = (
        "import time, sys; from agentkit.sessions import SQLiteStore\n"
        f"time.sleep(max(0, {start} - time.time()))\n"
        f"s = SQLiteStore({str(path)!r})\n"
        "with s.session(sys.argv[1]).lease() as lease:\n"
        "    lease.append([{'role': 'user', 'content': sys.argv[1]}])\n"
        "print('ok')"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, f"p{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(5)
    ]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert out.strip() == "ok", err
    store = SQLiteStore(path)
    assert store.list_sessions() == [f"p{i}" for i in range(5)]
    store.close()
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM agentkit_schema")]
    assert versions == list(range(1, len(_migrations.MIGRATIONS["sqlite"]) + 1))


_BODY = '{"role":"user","content":"%s"}'


def _loaded(store: SQLiteStore | PostgresStore) -> list[str]:
    with store.session("s").lease() as lease:
        return [m["content"] for m in lease.load()]


def test_sqlite_loads_see_rows_changed_by_hand(tmp_path: Path) -> None:
    """Whoever rewrites or removes stored rows (by hand, another program), the session gets
    a new epoch, so a store that keeps the decoded history reads it again."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    try:
        with store.session("s").lease() as lease:
            lease.append([{"role": "user", "content": c} for c in "abc"])
        assert _loaded(store) == ["a", "b", "c"]
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE agentkit_messages SET body = ? WHERE seq = 2", (_BODY % "B",))
        assert _loaded(store) == ["a", "B", "c"]
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM agentkit_messages WHERE seq = 3")
            conn.execute("INSERT INTO agentkit_messages VALUES ('s', 3, 1, ?)", (_BODY % "C",))
        assert _loaded(store) == ["a", "B", "C"]
    finally:
        store.close()


def test_sqlite_session_rows_an_older_agentkit_made_are_read_whole(tmp_path: Path) -> None:
    """A session row made by an agentkit without epochs (epoch 0) is never cached: the same
    number of different rows after each new start still loads right."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    try:
        with store.session("s").lease() as lease:
            lease.append([{"role": "user", "content": "new"}])
        assert _loaded(store) == ["new"]
        for text in ("old1", "old2"):
            with sqlite3.connect(path) as conn:  # delete and start again as version 2 did
                conn.execute("DELETE FROM agentkit_sessions WHERE id = 's'")
                conn.execute("DELETE FROM agentkit_messages WHERE session_id = 's'")
                conn.execute("INSERT INTO agentkit_sessions (id, token, updated_at) "
                             "VALUES ('s', 99, 0)")  # fmt: skip
                conn.execute("INSERT INTO agentkit_messages VALUES ('s', 1, 1, ?)", (_BODY % text,))
            assert _loaded(store) == [text]
            assert store.session("s").messages() == [{"role": "user", "content": text}]
    finally:
        store.close()


def test_sqlite_defaults_to_wal_with_synchronous_normal(tmp_path: Path) -> None:
    """WAL with synchronous=NORMAL, as SQLite recommends: atomic commits that survive a
    killed process (the crash tests), synced at checkpoints."""
    store = SQLiteStore(tmp_path / "s.db")
    try:
        store.session("s").messages()
        conn = store._backend._conn()
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)
    finally:
        store.close()


def test_sqlite_full_syncs_every_write_but_the_lease_token(tmp_path: Path) -> None:
    """With synchronous=FULL every commit of a session's data is synced; only the lease's
    fencing token, which no one needs after a power failure, is not. The session is read
    in the transaction that takes the token: the load reads nothing more."""
    store = SQLiteStore(tmp_path / "s.db", synchronous="FULL")
    try:
        conn = store._backend._conn()
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        with store.session("s").lease() as lease:
            lease.load()
            lease.append([{"role": "user", "content": "hi"}])
        conn.set_trace_callback(None)
        syncs = [s.split("= ")[1] for s in statements if s.startswith("PRAGMA synchronous")]
        assert syncs == ["NORMAL", "FULL"]
        token = statements[statements.index("PRAGMA synchronous = NORMAL") + 2]
        assert token.startswith("UPDATE agentkit_lease_counter")
        append = len(statements) - 1 - statements[::-1].index("BEGIN IMMEDIATE")
        assert statements.index("PRAGMA synchronous = FULL") < append  # the append is synced
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)
        assert "BEGIN" not in statements and statements.count("BEGIN IMMEDIATE") == 2
    finally:
        store.close()


def test_sqlite_store_refuses_memory_paths_and_closed_use(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="MemoryStore"):
        SQLiteStore(":memory:")
    store = SQLiteStore(tmp_path / "c.db")
    store.close()
    with pytest.raises(SessionError, match="closed"):
        store.session("s").messages()


def test_a_closed_sqlite_store_says_closed_to_every_run(tmp_path: Path) -> None:
    # Not "busy": with on_busy="wait" that sent a run into waiting for good.
    store = SQLiteStore(tmp_path / "c.db")
    session = store.session("s")
    store.close()
    with pytest.raises(SessionError, match="is closed") as caught, session.lease():
        pass
    assert type(caught.value) is SessionError
    with pytest.raises(SessionError, match="is closed"), session.lease("wait", timeout=30):
        pass

    async def leased() -> None:
        async with session.alease(on_busy="wait", timeout=30):
            pass

    started = time.monotonic()
    with pytest.raises(SessionError, match="is closed"):
        asyncio.run(leased())
    assert time.monotonic() - started < 5


def test_sqlite_failures_are_session_errors_naming_the_database(tmp_path: Path) -> None:
    for path, says in (
        (tmp_path / "no-such-folder" / "s.db", "Could not open the session database"),
        (tmp_path, "unable to open database file"),  # a directory
        (tmp_path / "not-a.db", "file is not a database"),
    ):
        if path.name == "not-a.db":
            path.write_text("not a database " * 100)
        with pytest.raises(SessionError, match=says) as caught:
            SQLiteStore(path)
        assert str(path) in str(caught.value)
    store = SQLiteStore(tmp_path / "s.db", busy_timeout=0.1)
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program writes, longer than busy_timeout
    session = store.session("s")
    with pytest.raises(SessionError, match="database is locked"), session.lease():
        pass
    other.execute("ROLLBACK")
    with session.lease() as lease:  # taken before the other writer begins again
        lease.append([{"role": "user", "content": "hi"}])
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(SessionError, match=r"session 's'.*database is locked"):
            lease.append([{"role": "user", "content": "again"}])
    other.execute("ROLLBACK")
    assert session.messages() == [{"role": "user", "content": "hi"}]
    other.close()
    store.close()


_HOLDS = """
import sys
from agentkit.sessions import SessionBusyError, SQLiteStore
try:
    with SQLiteStore(sys.argv[1]).session("user-42").lease():
        print("got the lease")
except SessionBusyError:
    print("busy")
"""


def test_a_closed_stores_handles_never_touch_another_stores_locks(tmp_path: Path) -> None:
    # The closed store's lock-file descriptor number is free for the next file opened: a
    # stale handle locking and unlocking through it would drop the live store's lock.
    old = SQLiteStore(tmp_path / "old.db")
    stale = old.session("user-42")
    old.close()
    live = SQLiteStore(tmp_path / "live.db")
    path = str(tmp_path / "live.db")
    with live.session("user-42").lease() as lease:
        with pytest.raises(SessionError, match="is closed"), stale.lease():
            pass
        with pytest.raises(SessionError, match="is closed"):
            stale.messages()
        other = subprocess.run(
            [sys.executable, "-c", _HOLDS, path], capture_output=True, text=True, check=True
        )
        assert other.stdout.strip() == "busy"
        lease.append([{"role": "user", "content": "hi"}])
    live.close()
    assert SQLiteStore(path).session("user-42").messages() == [{"role": "user", "content": "hi"}]


# ----------------------------------------------------------------------------- PostgreSQL


def test_postgres_processes_opening_a_new_schema_at_once(postgres_dsn: str) -> None:
    start = time.time() + 1.5
    code = (
        "import time, sys; from agentkit.sessions import PostgresStore\n"
        f"time.sleep(max(0, {start} - time.time()))\n"
        f"s = PostgresStore({postgres_dsn!r}); print('ok'); s.close()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert out.strip() == "ok", err
    with psycopg.connect(postgres_dsn) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM agentkit_schema ORDER BY 1")]
    assert versions == list(range(1, len(_migrations.MIGRATIONS["postgres"]) + 1))


def test_postgres_loads_see_rows_changed_by_hand(postgres_dsn: str) -> None:
    """As on SQLite: rewriting or removing stored rows gives the session a new epoch."""
    store = PostgresStore(postgres_dsn)
    try:
        with store.session("s").lease() as lease:
            lease.append([{"role": "user", "content": c} for c in "abc"])
        assert _loaded(store) == ["a", "b", "c"]
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute("UPDATE agentkit_messages SET body = %s WHERE seq = 2", (_BODY % "B",))
        assert _loaded(store) == ["a", "B", "c"]
        with psycopg.connect(postgres_dsn) as conn:
            conn.execute("DELETE FROM agentkit_messages WHERE seq = 3")
            conn.execute("INSERT INTO agentkit_messages VALUES ('s', 3, 1, %s)", (_BODY % "C",))
        assert _loaded(store) == ["a", "B", "C"]
    finally:
        store.close()


def test_postgres_lists_sessions_in_python_s_order_whatever_the_collation(
    postgres_dsn: str,
) -> None:
    store = PostgresStore(postgres_dsn)
    try:
        # The id column as a database created with a locale's collation has it.
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(
                'ALTER TABLE agentkit_sessions ALTER COLUMN id TYPE text COLLATE "en-US-x-icu"'
            )
        ids = ["b", "B", "a-b", "ab", "_x", "é", "f"]
        for sid in ids:
            with store.session(sid).lease() as lease:
                lease.append([{"role": "user", "content": sid}])
        assert store.list_sessions() == sorted(ids)
    finally:
        store.close()


def _rows_scanned(plan: dict[str, object], table: str) -> int:
    """The rows of ``table`` an EXPLAIN ANALYZE plan read (returned or filtered out)."""
    own = 0
    if plan.get("Relation Name") == table:
        own = sum(int(plan.get(k, 0)) for k in ("Actual Rows", "Rows Removed by Filter"))  # type: ignore[call-overload]
    return own + sum(_rows_scanned(p, table) for p in plan.get("Plans", ()))  # type: ignore[attr-defined]


def test_postgres_loads_read_only_the_new_rows_on_the_server(postgres_dsn: str) -> None:
    from agentkit.sessions import _pgsql

    store = PostgresStore(postgres_dsn)
    try:
        session = store.session("long")
        with session.lease() as lease:
            lease.append([{"role": "user", "content": f"q{i}"} for i in range(3000)])
        with store.session("other").lease() as lease:
            lease.append([{"role": "user", "content": "x"}])
        assert len(session.messages()) == 3000  # cached now: the next read goes on from it
        with session.lease() as lease:
            lease.append([{"role": "user", "content": f"new{i}"} for i in range(5)])
        cached = store._histories.get("long")
        assert cached is not None
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute("ANALYZE agentkit_messages")
            args = _pgsql.read_args("long", cached.mark)
            ((plan,),) = conn.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + _pgsql.READ, args
            ).fetchone()
        assert _rows_scanned(plan["Plan"], "agentkit_messages") == 5
        assert session.messages()[-1] == {"role": "user", "content": "new4"}
    finally:
        store.close()


def _other_connections(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_closed_postgres_store_says_closed_to_sync_and_async_calls(postgres_dsn: str) -> None:
    store = PostgresStore(postgres_dsn)
    session = store.session("s")
    with session.lease() as lease:
        lease.append([{"role": "user", "content": "hi"}])

    async def use() -> None:
        for call in (session.amessages, session.apause, store.alist_sessions, session.aclear):
            with pytest.raises(SessionError, match="is closed"):
                await call()
        with pytest.raises(SessionError, match="is closed"):
            async with session.alease(on_busy="wait", timeout=30):
                pass

    asyncio.run(store.aclose())
    before = _other_connections(postgres_dsn)
    with pytest.raises(SessionError, match="is closed"):
        session.messages()
    asyncio.run(use())
    assert _other_connections(postgres_dsn) == before  # none opened (and left) after the close


def test_postgres_never_shows_the_password() -> None:
    secret = "hunter2-very-secret"
    with pytest.raises(SessionError) as info:
        PostgresStore(f"postgresql://bob:{secret}@127.0.0.1:1/db?connect_timeout=2")
    assert secret not in str(info.value) and "bob" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_postgres_repr_has_no_password(postgres_server: str) -> None:
    store = PostgresStore(f"{postgres_server} password=not-shown-anywhere")
    try:
        assert "not-shown-anywhere" not in repr(store)
        assert "not-shown-anywhere" not in repr(store.session("s"))
    finally:
        store.close()


def test_postgres_refuses_a_newer_schema(postgres_dsn: str) -> None:
    PostgresStore(postgres_dsn).close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO agentkit_schema (version) VALUES (99)")
    with pytest.raises(SessionFormatError, match="version 99"):
        PostgresStore(postgres_dsn)


def test_postgres_pooled_connections_survive_a_server_restart(
    postgres_cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    """Idle pooled connections the restart ended are replaced, not handed out to fail."""

    async def main(store: PostgresStore) -> None:
        await store.session("s").amessages()  # leaves an idle connection in the loop's pool
        postgres_cluster.restart()
        assert [m["content"] for m in await store.session("s").amessages()] == ["one", "two"]
        await store.aclose()

    store = PostgresStore(postgres_cluster.dsn)
    try:
        with store.session("s").lease() as lease:
            lease.append([{"role": "user", "content": "one"}])
        postgres_cluster.restart()
        assert store.session("s").messages() == [{"role": "user", "content": "one"}]
        with store.session("s").lease() as lease:  # reads as it takes the lease: a pipeline
            lease.append([{"role": "user", "content": "two"}])
        asyncio.run(main(store))
    finally:
        store.close()
    assert not [r for r in caplog.records if r.name.startswith("psycopg")]


def test_postgres_leases_stay_exclusive_over_a_server_restart(postgres_cluster: Cluster) -> None:
    """A lease held when the server restarts is lost; leases taken after are exclusive
    again, whichever store takes them (each retakes its lease lock)."""
    a, b = PostgresStore(postgres_cluster.dsn), PostgresStore(postgres_cluster.dsn)
    try:
        with a.session("s").lease() as old:
            old.append([{"role": "user", "content": "one"}])
            postgres_cluster.restart()
            with pytest.raises(SessionLostError, match="lost"):
                old.append([{"role": "user", "content": "two"}])
            for first, second in ((a, b), (b, a)):
                with first.session("s").lease() as new:
                    for store in (a, b):
                        with pytest.raises(SessionBusyError), store.session("s").lease():
                            pass
                    new.append([{"role": "user", "content": "after"}])
                with second.session("s").lease():
                    pass  # released: free again
        assert [m["content"] for m in b.session("s").messages()] == ["one", "after", "after"]
    finally:
        a.close()
        b.close()


def test_postgres_async_leases_stay_exclusive_over_a_server_restart(
    postgres_cluster: Cluster,
) -> None:
    """The async API: the same, the lease lock retaken off the event loop."""

    async def main(store: PostgresStore, other: PostgresStore) -> None:
        async with store.session("s").alease() as old:
            await old.append([{"role": "user", "content": "one"}])
            postgres_cluster.restart()
            with pytest.raises(SessionLostError):
                await old.append([{"role": "user", "content": "two"}])
            async with store.session("s").alease() as new:
                for s in (store, other):
                    with pytest.raises(SessionBusyError):
                        async with s.session("s").alease():
                            pass
                await new.append([{"role": "user", "content": "after"}])
        await store.aclose()

    a, b = PostgresStore(postgres_cluster.dsn), PostgresStore(postgres_cluster.dsn)
    try:
        asyncio.run(main(a, b))
        assert [m["content"] for m in b.session("s").messages()] == ["one", "after"]
    finally:
        a.close()
        b.close()
