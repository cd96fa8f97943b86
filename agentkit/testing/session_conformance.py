"""A conformance suite for session stores: the same tests for every backend.

Use it from a test module of your own: import the tests and provide a
``session_store_factory`` fixture returning a :class:`StoreFactory` for a *fresh* database::

    from agentkit.testing.session_conformance import *  # noqa: F403
    from agentkit.testing.session_conformance import StoreFactory

    @pytest.fixture
    def session_store_factory(tmp_path):
        path = tmp_path / "s.db"
        return StoreFactory(
            name="sqlite",
            open=lambda: SQLiteStore(path),
            child_open=f"SQLiteStore({str(path)!r})",
            lose_lease=bump_token,
        )

The tests cover atomic turns, fencing, busy and wait, hundreds of concurrent sessions,
several processes on one database, a lease holder killed with SIGKILL, the journal and the
pause state, trimming, repair of stored histories, and old and unknown row formats.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.sessions import (
    AsyncLease,
    Lease,
    SessionBusyError,
    SessionFormatError,
    SessionLostError,
    SessionStore,
)
from agentkit.sessions._core import INTERRUPTED, WriteOp, encode_message

__all__ = [
    "StoreFactory",
    "store",
    "test_append_and_read_back",
    "test_async_api",
    "test_cancelled_write_still_lands_whole",
    "test_commit_turn_folds_journal_and_pause_atomically",
    "test_hundreds_of_concurrent_sessions",
    "test_incomplete_batch_is_refused",
    "test_journal_survives_the_lease",
    "test_killed_holder_frees_session_at_once",
    "test_lost_lease_cannot_write",
    "test_many_leases_on_one_session_never_interleave",
    "test_pause_state_and_discard",
    "test_processes_share_one_database",
    "test_second_lease_is_busy_at_once",
    "test_stored_orphans_are_repaired_on_load",
    "test_stored_rows_are_json_and_formats_are_checked",
    "test_trimming_cuts_at_turn_boundaries",
    "test_wait_for_a_busy_session",
]


@dataclass
class StoreFactory:
    """How the suite reaches one fresh database of a backend.

    Attributes:
        name: The backend's name (for messages).
        open: Opens a new store on the database (each call a new store, same data).
        child_open: A Python expression opening the same database in another process
            (``from agentkit.sessions import *`` is in scope), or ``None`` when the store
            cannot be shared between processes (the memory store).
        lose_lease: Makes another run take the session of a held lease over, as if the
            lease had been lost (for the database stores: as a real server would).
    """

    name: str
    open: Callable[[], SessionStore]
    child_open: str | None
    lose_lease: Callable[[SessionStore, Lease | AsyncLease], None]


@pytest.fixture
def store(session_store_factory: StoreFactory) -> Iterator[SessionStore]:
    """A store on a fresh database, closed after the test."""
    s = session_store_factory.open()
    yield s
    s.close()


def _user(text: str) -> Message:
    return {"role": "user", "content": text}


def _tool_turn(call_id: str, result: str = "ok") -> list[Message]:
    call = {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}
    return [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": result},
    ]


def _has_no_orphan(history: list[Message]) -> bool:
    open_ids: set[str] = set()
    for m in history:
        if m["role"] == "tool":
            if m["tool_call_id"] not in open_ids:
                return False
            open_ids.discard(m["tool_call_id"])
        else:
            if open_ids:
                return False
            open_ids = {c["id"] for c in m.get("tool_calls") or ()}
    return not open_ids


def _child(factory: StoreFactory, body: str, worker: str = "") -> subprocess.Popen[str]:
    if factory.child_open is None:
        pytest.skip(f"the {factory.name} store lives in one process")
    code = "import sys, time\nfrom agentkit.sessions import *\n"
    code += f"store = {factory.child_open}\n" + textwrap.dedent(body)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "WORKER": worker}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


# ----------------------------------------------------------------------------- basics


def test_append_and_read_back(store: SessionStore) -> None:
    """What a lease appends is what a reader gets, byte for byte; delete and clear work."""
    s = store.session("user-42")
    assert s.messages() == [] and store.list_sessions() == []
    with s.lease() as lease:
        assert lease.load() == []
        lease.append([_user("查询北京天气")])
        lease.append([*_tool_turn("c1", "晴 25°C"), {"role": "assistant", "content": "晴"}])
    assert s.messages() == [
        _user("查询北京天气"),
        *_tool_turn("c1", "晴 25°C"),
        {"role": "assistant", "content": "晴"},
    ]
    with store.session("empty").lease():
        pass  # a session that was only leased holds nothing and is not listed
    assert store.list_sessions() == ["user-42"]
    s.clear()
    assert s.messages() == []
    store.delete("user-42")
    assert "user-42" not in store.list_sessions()


def test_incomplete_batch_is_refused(store: SessionStore) -> None:
    """A batch holding a tool call without its result is refused whole; nothing is stored."""
    s = store.session("s")
    with s.lease() as lease:
        lease.append([_user("hi")])
        with pytest.raises(UserError, match="has no result"):
            lease.append([_tool_turn("c1")[0]])
        with pytest.raises(UserError, match="answers no open tool call"):
            lease.append([_tool_turn("c2")[1]])
        with pytest.raises(UserError, match="plain JSON"):
            lease.append([{"role": "user", "content": object()}])
    assert s.messages() == [_user("hi")]


def test_second_lease_is_busy_at_once(store: SessionStore) -> None:
    """A second run on a held session raises SessionBusyError immediately."""
    s = store.session("s")
    with s.lease():
        start = time.monotonic()
        with pytest.raises(SessionBusyError, match="'s' is in use"), store.session("s").lease():
            pass
        assert time.monotonic() - start < 0.5
        with pytest.raises(SessionBusyError):
            s.clear()
        with store.session("another").lease():  # other sessions are unaffected
            pass
    with s.lease():
        pass


def test_wait_for_a_busy_session(store: SessionStore) -> None:
    """on_busy='wait' waits for the holder, and gives up with SessionBusyError at timeout."""
    s = store.session("s")
    released = threading.Event()

    def hold() -> None:
        with s.lease():
            time.sleep(0.3)
            released.set()

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.05)
    start = time.monotonic()
    with pytest.raises(SessionBusyError, match="timed out"), s.lease(on_busy="wait", timeout=0.05):
        pass
    assert time.monotonic() - start < 0.25
    with s.lease(on_busy="wait", timeout=10) as lease:
        assert released.is_set()
        lease.append([_user("after")])
    t.join()
    with pytest.raises(UserError), s.lease(on_busy="later"):  # type: ignore[arg-type]
        pass


def test_lost_lease_cannot_write(session_store_factory: StoreFactory, store: SessionStore) -> None:
    """A holder whose lease was taken over fails to write and the history does not fork."""
    s = store.session("s")
    with s.lease() as lease:
        lease.append([_user("one")])
        session_store_factory.lose_lease(store, lease)
        with pytest.raises(SessionLostError, match="lost"):
            lease.append([_user("two")])
        with pytest.raises(SessionLostError):
            lease.commit_turn(_tool_turn("c1"))
    assert store.session("s").messages() == [_user("one")]


# ----------------------------------------------------------------------------- journal


def test_journal_survives_the_lease(store: SessionStore) -> None:
    """A turn in progress is journaled beside the history, not in it, until committed."""
    s = store.session("s")
    assistant, result = _tool_turn("c1")
    two = {
        **assistant,
        "tool_calls": [*assistant["tool_calls"], {**assistant["tool_calls"][0], "id": "c2"}],
    }
    with s.lease() as lease:
        lease.append([_user("go")])
        lease.begin_turn(two)
        lease.record_result(result)
        with pytest.raises(UserError):
            lease.record_result(result)  # the same call twice
    assert s.messages() == [_user("go")]  # never a tool call without its result
    with s.lease() as lease:
        assert lease.journal() == (two, [result])
        lease.record_result({"role": "tool", "tool_call_id": "c2", "content": "ok2"})
        a, results = lease.journal() or ({}, [])
        lease.commit_turn([a, *results])
        assert lease.journal() is None
    with s.lease() as lease:
        assert lease.journal() is None
        history = lease.load()
    assert len(history) == 4 and _has_no_orphan(history)


def test_commit_turn_folds_journal_and_pause_atomically(store: SessionStore) -> None:
    """commit_turn(..., pause=state) appends, clears the journal and sets the pause at once."""
    s = store.session("s")
    with s.lease() as lease:
        lease.begin_turn(_tool_turn("c1")[0])
        lease.commit_turn(_tool_turn("c1"), pause={"pending": ["c9"], "v": 1})
    assert s.pause() == {"pending": ["c9"], "v": 1}
    assert s.messages() == _tool_turn("c1")
    with s.lease() as lease:
        assert lease.journal() is None
        lease.commit_turn([], pause=None)
    assert s.pause() is None


def test_pause_state_and_discard(store: SessionStore) -> None:
    """The paused-run state is stored as JSON, read without a lease, and discarded on demand."""
    s = store.session("s")
    assert s.pause() is None
    with s.lease() as lease:
        lease.set_pause({"messages": [_user("退款")], "requests": [{"id": "c1"}]})
        with pytest.raises(UserError, match="JSON"):
            lease.set_pause({"bad": {1, 2}})
    assert s.pause() == {"messages": [_user("退款")], "requests": [{"id": "c1"}]}
    with s.lease(), pytest.raises(SessionBusyError):
        s.discard_pause()
    s.discard_pause()
    assert s.pause() is None


# ----------------------------------------------------------------------------- load


def test_trimming_cuts_at_turn_boundaries(store: SessionStore) -> None:
    """messages(last_turns=N) keeps the last N turns; a turn starts at a user message."""
    s = store.session("s")
    with s.lease() as lease:
        for i in range(3):
            lease.append(
                [_user(f"q{i}"), *_tool_turn(f"c{i}"), {"role": "assistant", "content": f"a{i}"}]
            )
    full = s.messages()
    assert s.messages(last_turns=1) == full[8:]
    assert s.messages(last_turns=2) == full[4:]
    assert s.messages(last_turns=5) == full
    assert s.messages(last_turns=0) == []
    with pytest.raises(UserError):
        s.messages(last_turns=-1)


def test_stored_orphans_are_repaired_on_load(store: SessionStore) -> None:
    """Rows written without atomic turns (an older writer) load with no orphaned tool call."""
    s = store.session("s")
    assistant, _ = _tool_turn("c1")
    with s.lease() as lease:
        raw = [
            encode_message(m, "test")
            for m in [
                _user("hi"),
                assistant,
                {"role": "tool", "tool_call_id": "zz", "content": "?"},
                _user("again"),
            ]
        ]
        lease._backend.write(lease._plan.held, WriteOp(rows=raw))
        loaded = lease.load()
    assert loaded == [
        _user("hi"),
        assistant,
        {"role": "tool", "tool_call_id": "c1", "content": INTERRUPTED},
        _user("again"),
    ]
    assert s.messages() == loaded


def test_stored_rows_are_json_and_formats_are_checked(store: SessionStore) -> None:
    """Rows are plain JSON text with a format number; old rows load, unknown ones fail clearly."""
    s = store.session("s")
    with s.lease() as lease:
        lease.append([_user("现在")])
        stored = lease._backend.read("s", lease._plan.held)
        assert stored.rows == [(1, '{"role":"user","content":"现在"}')]
        # A row as the first agentkit with sessions wrote it: format 1, other key order.
        lease._backend.write(
            lease._plan.held, WriteOp(rows=[(1, '{"content": "old", "role": "user"}')])
        )
    assert s.messages()[-1] == _user("old")
    with s.lease() as lease:
        lease._backend.write(lease._plan.held, WriteOp(rows=[(99, "{}")]))
    with pytest.raises(SessionFormatError, match="row format 99"):
        s.messages()


# ----------------------------------------------------------------------------- async


async def test_async_api(store: SessionStore) -> None:
    """The async API does what the sync one does."""
    s = store.session("s")
    async with s.alease() as lease:
        assert await lease.load() == []
        await lease.append([_user("hi")])
        await lease.begin_turn(_tool_turn("c1")[0])
        await lease.record_result(_tool_turn("c1")[1])
        assert await lease.journal() == (_tool_turn("c1")[0], [_tool_turn("c1")[1]])
        with pytest.raises(SessionBusyError):
            async with s.alease():
                pass
        await lease.commit_turn(_tool_turn("c1"), pause={"x": 1})
    assert await s.amessages() == [_user("hi"), *_tool_turn("c1")]
    assert await s.apause() == {"x": 1}
    await s.adiscard_pause()
    assert await s.apause() is None
    assert await store.alist_sessions() == ["s"]
    await s.aclear()
    assert await s.amessages(last_turns=1) == []
    await store.adelete("s")


async def test_cancelled_write_still_lands_whole(store: SessionStore) -> None:
    """Cancelling a task in the middle of a commit lets the commit finish whole first."""
    s = store.session("s")
    reached = asyncio.Event()

    async def run() -> None:
        async with s.alease() as lease:
            await lease.append([_user("hi")])
            reached.set()
            await lease.commit_turn(_tool_turn("c1"))
            await asyncio.sleep(10)

    task = asyncio.ensure_future(run())
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    history = await s.amessages()
    assert history in ([_user("hi")], [_user("hi"), *_tool_turn("c1")])
    async with s.alease():  # and the lease was released
        pass


async def test_hundreds_of_concurrent_sessions(store: SessionStore) -> None:
    """200 runs at once on distinct sessions: none busy, none locked, nothing lost."""

    async def one(i: int) -> None:
        async with store.session(f"u{i}").alease() as lease:
            history = await lease.load()
            await lease.append([_user(f"q{i}")])
            await lease.begin_turn(_tool_turn(f"c{i}")[0])
            await lease.commit_turn(_tool_turn(f"c{i}", str(i)))
            await lease.append([{"role": "assistant", "content": f"a{i}"}])
            assert history == []

    await asyncio.gather(*(one(i) for i in range(200)))
    for i in range(0, 200, 17):
        assert await store.session(f"u{i}").amessages() == [
            _user(f"q{i}"),
            *_tool_turn(f"c{i}", str(i)),
            {"role": "assistant", "content": f"a{i}"},
        ]
    assert len(await store.alist_sessions()) == 200


def _check_contiguous(history: list[Message], expected_runs: int) -> None:
    # Each run wrote its user message and its tool turn in two transactions under one
    # lease: another run's messages must never come between them.
    assert len(history) == 3 * expected_runs
    for k in range(0, len(history), 3):
        tag = history[k]["content"]
        assert history[k + 1]["tool_calls"][0]["id"] == f"c-{tag}"
    assert _has_no_orphan(history)


def test_many_leases_on_one_session_never_interleave(store: SessionStore) -> None:
    """Threads queueing on one session with on_busy='wait' run one at a time."""

    def worker(w: int) -> None:
        for j in range(8):
            with store.session("shared").lease(on_busy="wait", timeout=60) as lease:
                lease.load()
                lease.append([_user(f"{w}.{j}")])
                lease.commit_turn(_tool_turn(f"c-{w}.{j}"))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _check_contiguous(store.session("shared").messages(), 48)


# ----------------------------------------------------------------------------- processes


def test_processes_share_one_database(
    session_store_factory: StoreFactory, store: SessionStore
) -> None:
    """Several processes on one database: no 'database is locked', no lost message."""
    body = """
    import os
    w = os.environ["WORKER"]
    for j in range(15):
        with store.session("shared").lease(on_busy="wait", timeout=60) as lease:
            lease.load()
            lease.append([{"role": "user", "content": f"{w}.{j}"}])
            call = {"id": f"c-{w}.{j}", "type": "function",
                    "function": {"name": "f", "arguments": "{}"}}
            lease.commit_turn([{"role": "assistant", "content": None, "tool_calls": [call]},
                               {"role": "tool", "tool_call_id": f"c-{w}.{j}", "content": "ok"}])
        with store.session(f"own-{w}-{j}").lease() as lease:
            lease.append([{"role": "user", "content": "mine"}])
    store.close()
    print("done")
    """
    procs = [_child(session_store_factory, body, str(w)) for w in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip() == "done", err
    _check_contiguous(store.session("shared").messages(), 60)
    assert len(store.list_sessions()) == 61


def test_killed_holder_frees_session_at_once(
    session_store_factory: StoreFactory, store: SessionStore
) -> None:
    """A lease holder killed with SIGKILL mid-turn frees the session for the next run at
    once; its journaled turn is there, and the history has no orphaned tool call."""
    body = """
    with store.session("s").lease() as lease:
        lease.append([{"role": "user", "content": "go"}])
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        lease.begin_turn({"role": "assistant", "content": None, "tool_calls": [call]})
        print("ready", flush=True)
        time.sleep(60)
    """
    proc = _child(session_store_factory, body)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    with pytest.raises(SessionBusyError), store.session("s").lease():
        pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    start = time.monotonic()
    with store.session("s").lease(on_busy="wait", timeout=5) as lease:
        waited = time.monotonic() - start
        assert lease.load() == [_user("go")]
        journal = lease.journal()
        assert journal is not None and journal[0]["tool_calls"][0]["id"] == "c1"
    assert waited < 1.0, f"the session stayed busy {waited:.2f}s after its holder died"
