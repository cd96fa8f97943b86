"""Session store conformance, concurrency: the async API, cancelled writes, hundreds of
sessions, many leases on one session, several processes, a killed lease holder."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from agentkit.messages import Message
from agentkit.sessions import (
    SessionBusyError,
    SessionStore,
)
from agentkit.testing.session_conformance.support import (
    StoreFactory,
    _child,
    _has_no_orphan,
    _tool_turn,
    _user,
)

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
