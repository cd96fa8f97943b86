"""Decoded histories kept between loads, so a load reads and decodes only the new rows.

A backend stamps each read with a *mark*, ``(epoch, last_seq)``: the session's epoch is a
number that the database changes (to one never used before) whenever a stored message is
removed or rewritten, or the session is created anew; within one epoch rows are only
appended, with growing ``seq``. So a mark names one exact list of rows, and a read given
the mark of a cached history returns only the rows after it — or, when the epoch moved
(a clear, a delete, another process's rewrite), the whole history again.

A load hands out one set of message dicts per session, shared between loads (as a
``history=`` list is shared between the runs it is passed to). Each load first checks that
they still equal the decoded rows, which are never handed out, and hands out fresh copies
if a caller changed them: what a load returns is always what is stored. The checks a run
makes of a ``history=`` (valid messages, unique tool-call ids, no call unanswered) are made
once per row here; a history that passes them is handed out as a ``CheckedHistory``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from sys import intern
from typing import Any

from agentkit._history import CheckedHistory, unique_call_ids
from agentkit._record import record
from agentkit.messages import Message
from agentkit.sessions import _core
from agentkit.sessions._backend import Mark, Stored

__all__ = ["Cached", "HistoryCache", "decode_all", "mark"]

MAX_MESSAGES = 100_000
"""Message dicts a store keeps, over all sessions (least recently loaded go first); each
cached message counts twice (the decoded row and the copy handed out), and each session
once more (so that the sessions a store has seen empty are bounded too)."""


def _copy(value: Any) -> Any:
    if type(value) is dict:
        return {k: v if type(v) not in _NESTED else _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [v if type(v) not in _NESTED else _copy(v) for v in value]
    return value


def _interned(value: Any) -> Any:
    # json.loads makes a new string for every key; the run looks each message up by key
    # ("role", "content", ...) many times, which is fastest when the key is the interned one.
    if type(value) is dict:
        return {intern(k): v if type(v) not in _NESTED else _interned(v) for k, v in value.items()}
    if type(value) is list:
        return [v if type(v) not in _NESTED else _interned(v) for v in value]
    return value


_NESTED = (dict, list)


def decode_all(stored: Stored, session_id: str, start: int = 0) -> list[Message]:
    """The stored rows decoded (``start``: the position of the first row in the history)."""
    return [
        _interned(_core.decode_row(fmt, body, session_id=session_id, position=start + i))
        for i, (fmt, body) in enumerate(stored.rows)
    ]


@record(frozen=True, slots=True)
class Cached:
    """One session's decoded history as of ``mark`` (immutable: updates make a new one)."""

    mark: Mark
    raw: list[Message]  # the decoded rows; never handed out
    repaired: list[Message]  # repair(raw), sharing raw's dicts
    handed: list[Message]  # copies of `repaired`, which loads hand out
    open_end: bool  # raw ends in a tool call without its result (the next rows may answer it)
    ids: frozenset[str] | None  # the tool-call ids, or None: a run would rename one

    def size(self) -> int:
        # An empty history costs memory too: counted 0, every conversation a service ever
        # ran once (loaded empty, written after) would stay cached for good.
        return 1 + len(self.raw) + len(self.handed)


def _build(mark: Mark, raw: list[Message]) -> Cached:
    repaired = _core.repair(raw)
    ids = unique_call_ids(repaired, frozenset())
    return Cached(mark, raw, repaired, [_copy(m) for m in repaired], _core.ends_open(raw), ids)


def _extend(entry: Cached, mark: Mark, new: list[Message]) -> Cached:
    raw = entry.raw + new
    if entry.open_end:  # the new rows may close the open call: repair everything again
        return _build(mark, raw)
    # With no call open at the boundary, repairing the new rows alone is the same as
    # repairing the whole history (repair carries nothing else across messages).
    tail = _core.repair(new)
    handed = entry.handed + [_copy(m) for m in tail]
    ids = None if entry.ids is None else unique_call_ids(tail, entry.ids)
    return Cached(mark, raw, entry.repaired + tail, handed, _core.ends_open(new), ids)


def mark(entry: Cached | None) -> Mark | None:
    """The mark to read a session from, given what is cached of it (``None``: read it all)."""
    return None if entry is None else entry.mark


class HistoryCache:
    """The decoded histories of one store's recently loaded sessions (thread-safe)."""

    def __init__(self, max_messages: int = MAX_MESSAGES) -> None:
        self._max = max_messages
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Cached] = OrderedDict()
        self._size = 0

    def get(self, session_id: str) -> Cached | None:
        """What is cached of ``session_id``: read the session from ``mark(cached)`` and
        give both to ``history``."""
        with self._lock:
            return self._entries.get(session_id)

    def history(
        self,
        session_id: str,
        entry: Cached | None,
        stored: Stored,
        *,
        shared: bool,
        checked: bool = False,
        last_turns: int | None = None,
    ) -> list[Message]:
        """The repaired history of ``stored``, read from ``mark(entry)``.

        ``shared``: hand out the session's shared dicts (checked unchanged, see the module
        docstring) rather than copies of the caller's own. ``checked``: as a
        ``CheckedHistory`` when it passes a run's checks (for a run that takes it at once:
        a list a caller could change must not claim to be checked). ``last_turns``: only
        those (see ``trim_turns``; copies only, so only what is kept is copied).
        """
        if stored.mark is None:  # not cacheable (a session row an older agentkit made)
            self._put(session_id, None)
            return _core.trim_turns(_core.repair(decode_all(stored, session_id)), last_turns)
        if stored.since is not None:
            assert entry is not None and entry.mark == stored.since
            # A caller changed what it was handed (only a shared load hands it out again).
            if shared and entry.handed != entry.repaired:
                handed = [_copy(m) for m in entry.repaired]
                entry = dataclasses.replace(entry, handed=handed)
            if stored.rows:
                new = decode_all(stored, session_id, len(entry.raw))
                entry = _extend(entry, stored.mark, new)
        else:
            entry = _build(stored.mark, decode_all(stored, session_id))
        self._put(session_id, entry)
        if not shared:
            return [_copy(m) for m in _core.trim_turns(entry.repaired, last_turns)]
        if checked and entry.ids is not None:  # the dicts equal the rows checked
            return CheckedHistory(entry.handed)
        return list(entry.handed)

    def drop(self, session_id: str) -> None:
        """Forget ``session_id`` (it was deleted: nothing of it is worth keeping)."""
        self._put(session_id, None)

    def _put(self, session_id: str, entry: Cached | None) -> None:
        with self._lock:
            old = self._entries.pop(session_id, None)
            if old is not None:
                self._size -= old.size()
            if entry is None or entry.size() > self._max:
                return
            self._entries[session_id] = entry
            self._size += entry.size()
            while self._size > self._max:
                _, dropped = self._entries.popitem(last=False)
                self._size -= dropped.size()
