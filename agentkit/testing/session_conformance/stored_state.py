"""Session store conformance, what a store keeps besides messages and gives back: the
journal, the pause state, trimming, repair of stored histories, row formats."""

from __future__ import annotations

import pytest

from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.sessions import (
    SessionBusyError,
    SessionFormatError,
    SessionStore,
)
from agentkit.sessions._core import INTERRUPTED, WriteOp, encode_message
from agentkit.testing.session_conformance.support import (
    StoreFactory,
    _has_no_orphan,
    _tool_turn,
    _user,
)

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


def test_trimming_keeps_the_instructions_a_history_starts_with(store: SessionStore) -> None:
    """A system message a stored history starts with survives any ``last_turns``."""
    s = store.session("s")
    system = {"role": "system", "content": "Speak French."}
    with s.lease() as lease:
        lease.append([system])
        for i in range(3):
            lease.append([_user(f"q{i}"), {"role": "assistant", "content": f"a{i}"}])
    full = s.messages()
    assert s.messages(last_turns=1) == [system, *full[5:]]
    assert s.messages(last_turns=0) == [system]
    assert s.messages(last_turns=3) == full


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
        lease._write(WriteOp(rows=raw))
        loaded = lease.load()
    assert loaded == [
        _user("hi"),
        assistant,
        {"role": "tool", "tool_call_id": "c1", "content": INTERRUPTED},
        _user("again"),
    ]
    assert s.messages() == loaded


EVERY_FIELD: list[Message] = [
    {"role": "system", "content": "s"},
    {"role": "developer", "content": "d"},
    {"role": "user", "name": "alice", "content": [
        {"type": "text", "text": "看\u2028\r\n\t🙂 \\ \" '"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    ]},
    {"role": "assistant", "content": None, "refusal": None, "name": "bot", "audio": {"id": "a1"},
     "tool_calls": [{"id": "c1", "type": "function",
                     "function": {"name": "f", "arguments": '{"a": [1, 2.5, null, true]}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "r"}]},
    {"role": "assistant", "content": "", "refusal": "no",
     "extra": {"big": 2**70, "tiny": 1e-300, "max": 1.7976931348623157e308, "e": [], "o": {}}},
]  # fmt: skip


async def test_every_message_field_round_trips(
    session_store_factory: StoreFactory, store: SessionStore
) -> None:
    """Every field of every message comes back equal, through the sync and async API and
    through another store on the same database."""
    s = store.session("s")
    with s.lease() as lease:
        lease.append(EVERY_FIELD[:2])
    async with s.alease() as alease:
        await alease.append(EVERY_FIELD[2:])
        assert await alease.load() == EVERY_FIELD
    assert s.messages() == EVERY_FIELD and await s.amessages() == EVERY_FIELD
    other = session_store_factory.open()
    try:
        assert other.session("s").messages() == EVERY_FIELD
    finally:
        other.close()


def test_stored_rows_are_json_and_formats_are_checked(store: SessionStore) -> None:
    """Rows are plain JSON text with a format number; old rows load, unknown ones fail clearly."""
    s = store.session("s")
    with s.lease() as lease:
        lease.append([_user("现在")])
        stored = lease._backend.read("s", lease._plan.held, None)
        assert stored.rows == [(1, '{"role":"user","content":"现在"}')]
        # A row as the first agentkit with sessions wrote it: format 1, other key order.
        lease._write(WriteOp(rows=[(1, '{"content": "old", "role": "user"}')]))
    assert s.messages()[-1] == _user("old")
    with s.lease() as lease:
        lease._write(WriteOp(rows=[(99, "{}")]))
    with pytest.raises(SessionFormatError, match="row format 99"):
        s.messages()
