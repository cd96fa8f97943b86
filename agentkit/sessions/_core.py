"""The pure logic of session stores: row encoding, repair, trimming, journal, fencing plan.

Nothing here does I/O. Backends store opaque text produced here and hand it back; what a
row means, which formats can be read, and what a stored history must look like is decided
once, in this module.

Stored data are JSON text only (``json.dumps``/``json.loads``): loading a row can never
construct an object, whatever the database holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import field
from typing import Any

from agentkit._history import INTERRUPTED, repair_history, trim_turns
from agentkit._record import record
from agentkit._text import lone_surrogate
from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.sessions._errors import SessionFormatError

__all__ = [
    "DISCARDED",
    "INTERRUPTED",
    "KEEP",
    "ROW_FORMAT",
    "JournalState",
    "WriteOp",
    "check_session_id",
    "decode_journal",
    "decode_pause",
    "decode_row",
    "discarded_turn",
    "encode_journal",
    "encode_message",
    "encode_pause",
    "ends_open",
    "lock_key",
    "repair",
    "trim_turns",
    "validate_batch",
    "wait_delays",
]

ROW_FORMAT = 1
"""The format number written with every stored message row (1: a wire-format message dict)."""

_JOURNAL_FORMAT = 1
_PAUSE_FORMAT = 1
_MAX_ID_LENGTH = 512

# Shared with the run (agentkit._history): one rule for what a valid history is.


class _Keep:
    """Marker: leave this column as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


@record(slots=True)
class WriteOp:
    """One fenced transaction a backend must apply atomically.

    Attributes:
        rows: ``(format, json_text)`` message rows to append after the stored ones.
        journal: New journal text, ``None`` to clear it, or ``KEEP``.
        pause: New pause text, ``None`` to clear it, or ``KEEP``.
        clear: Delete every stored message first.
    """

    rows: list[tuple[int, str]] = field(default_factory=list)
    journal: str | _Keep | None = KEEP
    pause: str | _Keep | None = KEEP
    clear: bool = False


def check_session_id(session_id: object) -> str:
    """Return ``session_id`` if it is a usable id, else raise ``UserError`` saying why."""
    if not isinstance(session_id, str) or not session_id:
        raise UserError(f"A session id must be a non-empty string, got {session_id!r}")
    if len(session_id) > _MAX_ID_LENGTH:
        raise UserError(
            f"A session id must be at most {_MAX_ID_LENGTH} characters, "
            f"got one of {len(session_id)} characters"
        )
    if "\x00" in session_id:  # no database key holds it
        raise UserError(
            f"A session id must not hold NUL, got one with NUL at index {session_id.index(chr(0))}"
        )
    # A lone surrogate is a Python str but no database key: refused here, every store
    # (the in-memory one too) says so alike instead of failing when the id is encoded.
    at = lone_surrogate(session_id)
    if at is not None:
        raise UserError(
            f"A session id must be valid Unicode, got one holding {session_id[at]!r} "
            f"(a lone surrogate) at index {at}"
        )
    return session_id


# One encoder for every row: ``json.dumps`` with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _dumps(value: object) -> str:
    text = _ENCODER.encode(value)
    # json writes a lone surrogate, but no database (or request body) takes it: caught
    # here, a stored message could never be sent or read back whole.
    at = lone_surrogate(text)
    if at is not None:
        raise ValueError(f"it holds {text[at]!r}, a lone surrogate, which is not valid Unicode")
    return text


def encode_message(message: object, where: str) -> tuple[int, str]:
    """Encode one message as a stored row; ``UserError`` naming ``where`` if it cannot be."""
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise UserError(
            f"{where}: a message must be a dict with a string 'role', got {message!r}"[:300]
        )
    try:
        return ROW_FORMAT, _dumps(message)
    except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise UserError(f"{where}: the message is not plain JSON data ({exc})") from None


def decode_row(fmt: int, body: str, *, session_id: str, position: int) -> Message:
    """Decode a stored row of any format this agentkit knows into a wire-format message."""
    if fmt != ROW_FORMAT:
        raise SessionFormatError(
            f"Session {session_id!r}, message {position}: row format {fmt} is unknown to this "
            f"agentkit (it reads format {ROW_FORMAT}); it was written by a newer agentkit",
            session_id=session_id,
        )
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise SessionFormatError(
            f"Session {session_id!r}, message {position}: stored row is not JSON ({exc})",
            session_id=session_id,
        ) from None
    if not isinstance(value, dict) or not isinstance(value.get("role"), str):
        raise SessionFormatError(
            f"Session {session_id!r}, message {position}: stored row is not a message",
            session_id=session_id,
        )
    return value


def _call_ids(message: Message) -> list[str]:
    if message.get("role") != "assistant":
        return []
    calls = message.get("tool_calls") or ()
    return [c["id"] for c in calls if isinstance(c, dict) and isinstance(c.get("id"), str)]


def validate_batch(messages: list[Message], where: str) -> None:
    """Refuse a batch that would store a tool call without its result, or a stray result.

    A stored history is complete at every commit, so every batch must be complete on its
    own: each assistant tool call is answered by a tool message in the same batch, before the
    next non-tool message.
    """
    open_ids: dict[str, int] = {}
    for i, m in enumerate(messages):
        if m.get("role") == "tool":
            tid = m.get("tool_call_id")
            if not isinstance(tid, str) or tid not in open_ids:
                raise UserError(f"{where}: message {i} answers no open tool call ({tid!r})")
            del open_ids[tid]
            continue
        if open_ids:
            break
        open_ids = {tid: i for tid in _call_ids(m)}
    if open_ids:
        tid, i = next(iter(open_ids.items()))
        raise UserError(
            f"{where}: tool call {tid!r} of message {i} has no result in the same batch; "
            "a tool turn is stored whole (assistant message and all its results) or not at all"
        )


repair = repair_history
"""Make a stored history valid for the server (see ``agentkit._history``)."""


def ends_open(messages: list[Message]) -> bool:
    """Whether ``messages`` end in a tool call that no later tool message answers (the
    calls ``repair`` would answer as interrupted at the very end)."""
    answered: set[object] = set()
    for m in reversed(messages):
        if m.get("role") == "tool":
            answered.add(m.get("tool_call_id"))
            continue
        return any(tid not in answered for tid in _call_ids(m))
    return False


def encode_journal(assistant: Message, results: list[Message]) -> str:
    """The stored text of a turn in progress."""
    return _dumps({"format": _JOURNAL_FORMAT, "assistant": assistant, "results": results})


def decode_journal(text: str | None, session_id: str) -> tuple[Message, list[Message]] | None:
    """Read a stored journal back; ``SessionFormatError`` if it is not one this agentkit knows."""
    if text is None:
        return None
    data = _load_versioned(text, _JOURNAL_FORMAT, "journal", session_id)
    assistant, results = data.get("assistant"), data.get("results")
    if not isinstance(assistant, dict) or not isinstance(results, list):
        raise SessionFormatError(
            f"Session {session_id!r}: stored journal is malformed", session_id=session_id
        )
    return assistant, list(results)


DISCARDED = (
    "Not run: this call waited for a person's approval and the paused run was discarded "
    "before anyone decided."
)
"""The result a paused call gets when its pause is discarded (it never started)."""


def discarded_turn(
    journal: tuple[Message, list[Message]] | None, pause: dict[str, Any] | None
) -> list[Message] | None:
    """The paused turn of a discarded pause, closed (``None``: no paused turn in progress).

    A call of the turn without a result waited for approval and never started, so it is
    answered "not run", not "interrupted" (which tells the model it may have run); only a
    request flagged ``interrupted`` (it started before a crash) keeps that answer.
    """
    if journal is None or pause is None:  # no pause: a dead run's turn, for crash recovery
        return None
    assistant, results = journal
    requests = pause.get("requests") if isinstance(pause, dict) else None
    maybe_ran = {
        r.get("tool_call_id")
        for r in (requests if isinstance(requests, list) else ())
        if isinstance(r, dict) and r.get("interrupted") is True
    }
    done = {r.get("tool_call_id") for r in results}
    closing = [
        {
            "role": "tool",
            "tool_call_id": tid,
            "content": INTERRUPTED if tid in maybe_ran else DISCARDED,
        }
        for tid in _call_ids(assistant)
        if tid not in done
    ]
    return [assistant, *results, *closing]


def encode_pause(state: dict[str, Any]) -> str:
    """The stored text of a paused run's state; ``UserError`` if it is not plain JSON."""
    if not isinstance(state, dict):
        raise UserError(f"A pause state must be a JSON object (dict), got {type(state).__name__}")
    try:
        return _dumps({"format": _PAUSE_FORMAT, "state": state})
    except (TypeError, ValueError, RecursionError) as exc:
        raise UserError(f"The pause state is not plain JSON data ({exc})") from None


def decode_pause(text: str | None, session_id: str) -> dict[str, Any] | None:
    """Read a stored pause state back."""
    if text is None:
        return None
    state = _load_versioned(text, _PAUSE_FORMAT, "pause state", session_id).get("state")
    if not isinstance(state, dict):
        raise SessionFormatError(
            f"Session {session_id!r}: stored pause state is malformed", session_id=session_id
        )
    return state


def _load_versioned(text: str, known: int, what: str, session_id: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SessionFormatError(
            f"Session {session_id!r}: stored {what} is not a JSON object", session_id=session_id
        )
    if data.get("format") != known:
        raise SessionFormatError(
            f"Session {session_id!r}: stored {what} has format {data.get('format')!r}, "
            f"this agentkit reads format {known}",
            session_id=session_id,
        )
    return data


class JournalState:
    """The journal of one lease: the assistant message of a turn in progress and the
    results finished so far. Pure; checks that calls are recorded in a sensible order."""

    def __init__(self, current: tuple[Message, list[Message]] | None) -> None:
        self.current = current

    def begin(self, assistant: Message) -> str:
        """Start a turn; returns the journal text to store."""
        ids = _call_ids(assistant) if isinstance(assistant, dict) else []
        if not ids:
            raise UserError("begin_turn() needs the assistant message that has the tool_calls")
        encode_message(assistant, "begin_turn()")
        self.current = (assistant, [])
        return encode_journal(assistant, [])

    def record(self, result: Message, where: str = "record_result()") -> str:
        """Add one finished tool result; returns the journal text to store."""
        if self.current is None:
            raise UserError(f"{where} needs a turn started with begin_turn()")
        assistant, results = self.current
        if not isinstance(result, dict) or result.get("role") != "tool":
            raise UserError(f"{where} takes tool messages (dicts), got {result!r}"[:300])
        tid = result.get("tool_call_id")
        done = {r.get("tool_call_id") for r in results}
        if tid not in _call_ids(assistant) or tid in done:
            raise UserError(
                f"{where}: {tid!r} is not an unanswered tool call of the turn in progress"
            )
        encode_message(result, where)
        self.current = (assistant, [*results, result])
        return encode_journal(*self.current)


def lock_key(session_id: str) -> int:
    """A stable signed 64-bit key for a session (advisory locks, lock-file offsets).

    Two ids sharing a key only make each other look busy; the fencing token keeps the data
    right either way.
    """
    digest = hashlib.blake2b(session_id.encode("utf-8"), digest_size=8, person=b"agentkit").digest()
    return int.from_bytes(digest, "big", signed=True)


def wait_delays(first: float = 0.002, most: float = 0.05) -> Iterator[float]:
    """Poll intervals while waiting for a busy session: short at first, then capped."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)
