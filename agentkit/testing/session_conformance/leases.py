"""Session store conformance, leases: append and read back, whole batches only, busy
and wait, fencing."""

from __future__ import annotations

import threading
import time

import pytest

from agentkit.errors import UserError
from agentkit.sessions import (
    SessionBusyError,
    SessionLostError,
    SessionStore,
)
from agentkit.testing.session_conformance.support import (
    StoreFactory,
    _tool_turn,
    _user,
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


def test_bad_session_ids_are_refused_alike(store: SessionStore) -> None:
    """Every store refuses an id it could not key a row by with one ``UserError``."""
    for bad in ("", "x" * 513, "a\x00b", "user-\ud800", "\udce9"):
        with pytest.raises(UserError, match="session id"):
            store.session(bad)
    assert store.list_sessions() == []


ODD_IDS = [" ", "\t", "a/b", "..", "../../etc/passwd", "x" * 512, "é" * 512, "日本語🙂", "a\nb",
           "%", "_", "a'b", 'a"b', "\\", "B", "a", "a-b", "ab", "A"]  # fmt: skip


def test_odd_session_ids_are_kept_apart_and_listed_sorted(store: SessionStore) -> None:
    """Any non-empty id up to 512 characters is its own session, whatever it holds
    (whitespace, slashes, quotes, non-ASCII); ``list_sessions`` sorts as Python does."""
    for i, sid in enumerate(ODD_IDS):
        with store.session(sid).lease() as lease:
            lease.append([_user(str(i))])
    for i, sid in enumerate(ODD_IDS):
        assert store.session(sid).messages() == [_user(str(i))], sid
    assert store.list_sessions() == sorted(ODD_IDS)
    store.delete("..")
    store.session("a/b").clear()
    assert store.list_sessions() == sorted(set(ODD_IDS) - {"..", "a/b"})


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


def test_bad_writes_are_user_errors_and_change_nothing(store: SessionStore) -> None:
    """Whatever a lease's writes are given, a refusal is a ``UserError`` saying what is
    wrong, and nothing is stored."""
    s = store.session("s")
    assistant, _ = _tool_turn("c1")
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with s.lease() as lease:
        lease.append([_user("hi")])
        for results in ([None], "ab", [{"role": "user", "content": "x"}]):
            with pytest.raises(UserError, match=r"begin_turn\(results=...\) takes tool messages"):
                lease.begin_turn(assistant, results=results)  # type: ignore[arg-type]
        assert lease.journal() is None
        lease.begin_turn(assistant)
        for bad in (None, "x", 5):
            with pytest.raises(UserError, match=r"record_result\(\) takes tool messages"):
                lease.record_result(bad)  # type: ignore[arg-type]
        with pytest.raises(UserError, match="not plain JSON"):
            lease.append([{"role": "user", "content": deep}])
        with pytest.raises(UserError, match="not plain JSON"):
            lease.set_pause({"deep": deep})
        assert lease.journal() == (assistant, [])
    assert s.messages() == [_user("hi")] and s.pause() is None


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
