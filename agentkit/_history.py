"""Pure history rules shared by runs and session stores: repair, turn trimming, and the
mark of a history already checked."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from agentkit.errors import UserError
from agentkit.messages import Message

__all__ = ["INTERRUPTED", "CheckedHistory", "repair_history", "trim_turns", "unique_call_ids"]

logger = logging.getLogger("agentkit")

INTERRUPTED = "Tool call was interrupted before it returned a result."
"""The content of the result a repaired tool call gets when it had none."""


class CheckedHistory(list[Message]):
    """A history known to need no change from the checks a run makes of ``history=``:
    every message a dict with a string role, every tool call's id a unique non-empty
    string, every call answered. Session stores hand these out (they check each stored row
    once); a run takes one as it is."""

    __slots__ = ()


def unique_call_ids(messages: list[Message], seen: frozenset[str]) -> frozenset[str] | None:
    """``seen`` with the tool-call ids of ``messages``, or ``None`` if one of them is not a
    non-empty string or is used twice (a run would rename it)."""
    new: set[str] = set()
    for m in messages:
        if m.get("role") != "assistant":
            continue
        for tc in m.get("tool_calls") or ():
            if not isinstance(tc, dict):
                continue
            tid = tc.get("id")
            if not isinstance(tid, str) or not tid or tid in seen or tid in new:
                return None
            new.add(tid)
    return seen | new if new else seen


def repair_history(messages: list[Message]) -> list[Message]:
    """Make a history acceptable to the server: every tool call gets exactly one result.

    An assistant tool call with no tool message (a conversation saved mid-run, a crash)
    gets one saying the call was interrupted, placed right after the call's other results;
    a tool message answering no open call is dropped. Returns ``messages`` itself when it
    is already valid.
    """
    out: list[Message] | None = None
    open_ids: dict[str, None] = {}
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role == "tool":
            tid = m.get("tool_call_id")
            if tid in open_ids:
                del open_ids[tid]
                if out is not None:
                    out.append(m)
            else:
                logger.debug("dropping a tool result with no open tool call: %r", tid)
                if out is None:
                    out = list(messages[:i])
            continue
        if open_ids:
            if out is None:
                out = list(messages[:i])
            out.extend(_interrupted(open_ids))
            open_ids = {}
        if out is not None:
            out.append(m)
        if role == "assistant":
            for tc in m.get("tool_calls") or ():
                if isinstance(tc, dict) and isinstance(tc.get("id"), str):
                    open_ids[tc["id"]] = None
    if open_ids:
        if out is None:
            out = list(messages)
        out.extend(_interrupted(open_ids))
    return messages if out is None else out


def _interrupted(ids: Mapping[str, None]) -> list[Message]:
    return [{"role": "tool", "tool_call_id": tid, "content": INTERRUPTED} for tid in ids]


_INSTRUCTIONS = ("system", "developer")


def trim_turns(
    messages: list[Message], last_turns: int | None, *, current: int | None = None
) -> list[Message]:
    """The last ``last_turns`` turns of a repaired history (a turn starts at a user message).

    Cuts fall only before a user message, so a tool call is never separated from its
    results. The system and developer messages a history starts with (its instructions)
    are kept whatever is cut. ``None`` keeps everything; fewer turns than asked keeps
    everything. ``current``: the index where a run's own turn starts; it is kept whole as
    one of the turns, however many user messages the run added to it (a request to fix an
    answer is no new turn).
    """
    if last_turns is None:
        return messages
    if isinstance(last_turns, bool) or not isinstance(last_turns, int) or last_turns < 0:
        raise UserError(f"last_turns must be a non-negative int or None, got {last_turns!r}")
    lead = 0
    while lead < len(messages) and messages[lead].get("role") in _INSTRUCTIONS:
        lead += 1
    end, turns = (len(messages), last_turns) if current is None else (current, last_turns - 1)
    cut = end if turns <= 0 else _turns_start(messages, lead, end, turns)
    if cut <= lead:
        return messages
    return [*messages[:lead], *messages[cut:]]


def _turns_start(messages: list[Message], lead: int, end: int, turns: int) -> int:
    # The index of the user message starting the last `turns` turns before `end`, or
    # `lead` when there are fewer.
    seen = 0
    for i in range(end - 1, lead - 1, -1):
        if messages[i].get("role") == "user":
            seen += 1
            if seen == turns:
                return i
    return lead
