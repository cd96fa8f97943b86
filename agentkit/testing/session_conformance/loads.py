"""Session store conformance, loads: a store keeps decoded histories between loads, and
each load still returns exactly what is stored, whatever another store on the same
database did meanwhile (appended, cleared, deleted and started again) and whatever a
caller did to the messages an earlier load handed out."""

from __future__ import annotations

import time

from agentkit._history import INTERRUPTED
from agentkit.messages import Message
from agentkit.sessions import SessionStore
from agentkit.sessions._cache import HistoryCache
from agentkit.sessions._core import WriteOp, encode_message
from agentkit.testing.session_conformance.support import StoreFactory, _tool_turn, _user


def _load(store: SessionStore, session_id: str = "s") -> list[Message]:
    with store.session(session_id).lease() as lease:
        return lease.load()


def _append(store: SessionStore, *messages: Message, session_id: str = "s") -> None:
    with store.session(session_id).lease() as lease:
        lease.append(list(messages))


def test_loads_follow_what_another_store_writes(
    session_store_factory: StoreFactory, store: SessionStore
) -> None:
    """Appends, a clear, a delete and a new start by another store all show in the next
    load and read of this one, never a stale or mixed history."""
    other = session_store_factory.open()
    try:
        _append(store, _user("a"), *_tool_turn("c1"))
        assert _load(store) == [_user("a"), *_tool_turn("c1")]
        _append(other, _user("b"))
        assert _load(store) == [_user("a"), *_tool_turn("c1"), _user("b")]
        # Cleared and refilled with as many rows: only a new epoch can tell them apart.
        other.session("s").clear()
        _append(other, _user("x"), *_tool_turn("c9"), _user("y"))
        assert _load(store) == [_user("x"), *_tool_turn("c9"), _user("y")]
        other.delete("s")
        assert store.session("s").messages() == []
        _append(other, _user("x2"), *_tool_turn("c8"), _user("y2"))
        assert _load(store) == [_user("x2"), *_tool_turn("c8"), _user("y2")]
        assert store.session("s").messages(last_turns=1) == [_user("y2")]
        _append(store, _user("z"))
        assert other.session("s").messages() == [
            _user("x2"), *_tool_turn("c8"), _user("y2"), _user("z")
        ]  # fmt: skip
    finally:
        other.close()


def test_a_load_sees_what_its_own_lease_wrote(store: SessionStore) -> None:
    """A lease reads the session as it takes it; a load after the lease's own writes (or a
    second load) still returns what is stored now."""
    _append(store, _user("a"))
    with store.session("s").lease() as lease:
        lease.append([_user("b")])
        assert lease.load() == [_user("a"), _user("b")]
        lease.commit_turn(_tool_turn("c1"))
        assert lease.load() == [_user("a"), _user("b"), *_tool_turn("c1")]
    with store.session("s").lease() as lease:
        assert lease.load() == lease.load() == [_user("a"), _user("b"), *_tool_turn("c1")]


def test_a_changed_message_does_not_change_the_next_load(store: SessionStore) -> None:
    """A caller changing the messages a load or a read gave it (nested ones too) does not
    change what the next load returns: that is always what is stored."""
    _append(store, _user("a"), *_tool_turn("c1", "晴"))
    first = _load(store)
    first[1]["tool_calls"][0]["function"]["name"] = "changed"
    first[0]["content"] = "changed"
    first.append(_user("not stored"))
    assert _load(store) == [_user("a"), *_tool_turn("c1", "晴")]
    read = store.session("s").messages()
    read[2]["content"] = "changed"
    assert _load(store) == [_user("a"), *_tool_turn("c1", "晴")]
    _append(store, _user("b"))
    again = _load(store)
    assert again == [_user("a"), *_tool_turn("c1", "晴"), _user("b")]
    again[3]["content"] = "changed"
    assert store.session("s").messages() == [_user("a"), *_tool_turn("c1", "晴"), _user("b")]


def test_loads_repair_what_follows_an_open_call(store: SessionStore) -> None:
    """A load after new rows repairs the whole history as a fresh read would, also when the
    rows loaded before ended in a tool call an older writer stored without its result."""
    assistant, result = _tool_turn("c1")

    def write_raw(*messages: Message) -> list[Message]:
        with store.session("s").lease() as lease:
            rows = [encode_message(m, "test") for m in messages]
            lease._write(WriteOp(rows=rows))
            return lease.load()

    interrupted = {"role": "tool", "tool_call_id": "c1", "content": INTERRUPTED}
    assert write_raw(_user("a"), assistant) == [_user("a"), assistant, interrupted]
    assert write_raw(result, _user("b")) == [_user("a"), assistant, result, _user("b")]
    assert write_raw(_tool_turn("c2")[0]) == [
        _user("a"), assistant, result, _user("b"), _tool_turn("c2")[0],
        {"role": "tool", "tool_call_id": "c2", "content": INTERRUPTED},
    ]  # fmt: skip
    assert store.session("s").messages() == _load(store)


def test_the_histories_a_store_keeps_are_bounded(store: SessionStore) -> None:
    """Sessions a store loaded while empty (every conversation's first run) count against
    its cache's bound too, so a service running many conversations keeps a bounded number."""
    store.__dict__["_history_cache"] = HistoryCache(max_messages=40)  # the bound, made small
    for i in range(120):
        with store.session(f"conv-{i}").lease() as lease:
            assert lease.load() == []
            lease.append([_user(f"q{i}")])
    kept = store._histories._entries
    assert 0 < len(kept) <= 40
    assert "conv-119" in kept and "conv-0" not in kept  # the least recently loaded went
    assert _load(store, "conv-0") == [_user("q0")]
    assert _load(store, "conv-119") == [_user("q119")]


def test_a_deleted_session_is_not_kept_in_memory(store: SessionStore) -> None:
    """``delete`` drops what the store keeps of a session (its cached history) too."""
    for i in range(50):
        _append(store, _user(f"q{i}"), session_id=f"conv-{i}")
        assert _load(store, f"conv-{i}") == [_user(f"q{i}")]
        store.delete(f"conv-{i}")
    assert not any(k.startswith("conv-") for k in store._histories._entries)
    assert store.list_sessions() == []
    assert _load(store, "conv-3") == []


def _fastest(call: object, times: int = 5) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def test_the_last_turns_of_a_long_history_cost_only_what_they_hold(store: SessionStore) -> None:
    """``messages(last_turns=N)`` copies the N turns it returns, not the whole history."""
    s = store.session("long")
    with s.lease() as lease:
        turn = [_user("q"), *_tool_turn("c"), {"role": "assistant", "content": "a" * 100}]
        lease.append([m for i in range(2500) for m in _renamed(turn, i)])
    assert len(s.messages()) == 10_000  # cached now: the reads below decode nothing
    whole = _fastest(s.messages)
    last = _fastest(lambda: s.messages(last_turns=2))
    assert s.messages(last_turns=2) == [*_renamed(turn, 2498), *_renamed(turn, 2499)]
    assert last * 5 < whole, (last, whole)


def _renamed(turn: list[Message], i: int) -> list[Message]:
    user, call, result, answer = turn
    tc = {**call["tool_calls"][0], "id": f"c{i}"}
    return [user, {**call, "tool_calls": [tc]}, {**result, "tool_call_id": f"c{i}"}, answer]
