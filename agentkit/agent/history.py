"""Histories handed to a run: checked, and repaired so that the server accepts them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentkit._history import INTERRUPTED, CheckedHistory, repair_history
from agentkit.errors import UserError
from agentkit.messages import Message

__all__ = ["INTERRUPTED", "coerce_history", "repair_history"]


def coerce_history(history: Iterable[Message]) -> list[Message]:
    """Check a ``history=`` argument and return a list the server accepts.

    Any iterable of message dicts is taken (an iterator included). Tool-call ids that are
    missing, not strings or used twice are replaced by unique ones (and the tool results
    answering them follow, in order); then ``repair_history`` answers orphaned calls.

    Raises:
        UserError: ``history`` is not an iterable of dicts with a ``"role"``; the message
            says which item is wrong.
    """
    if type(history) is CheckedHistory:  # a session's stored history, checked as it loaded
        return list(history)
    if isinstance(history, (str, bytes, Mapping)):
        raise UserError("history must be a list of message dicts, not a single value")
    try:
        msgs = list(history)
    except TypeError:
        raise UserError(
            f"history must be a list of message dicts, got {type(history).__name__}"
        ) from None
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise UserError(f"history[{i}] is not a message dict with a 'role' string")
    return repair_history(unique_tool_call_ids(msgs))


def unique_tool_call_ids(messages: list[Message]) -> list[Message]:
    """``messages`` with every assistant tool call's id unique and a string.

    The model's ids are kept where they are unique; the tool result answering a renamed
    call is renamed with it (the n-th result for an id answers the n-th call with it).
    Messages are copied, never changed in place. Returns ``messages`` itself when no id
    needed a change.
    """
    seen: set[str] = set()
    renamed: dict[str, list[str]] = {}
    out: list[Message] | None = None
    for i, m in enumerate(messages):
        new = m
        if m.get("role") == "assistant" and m.get("tool_calls"):
            new = _renamed_calls(m, i, seen, renamed)
        elif m.get("role") == "tool":
            queue = renamed.get(m.get("tool_call_id"))  # type: ignore[arg-type]
            if queue:
                target = queue.pop(0)
                if target != m.get("tool_call_id"):
                    new = {**m, "tool_call_id": target}
        if new is not m and out is None:
            out = list(messages[:i])
        if out is not None:
            out.append(new)
    return messages if out is None else out


def _renamed_calls(
    m: Message, index: int, seen: set[str], renamed: dict[str, list[str]]
) -> Message:
    calls: list[Any] = []
    changed = False
    for n, tc in enumerate(m.get("tool_calls") or ()):
        if not isinstance(tc, dict):
            calls.append(tc)
            continue
        tid = tc.get("id")
        if isinstance(tid, str) and tid and tid not in seen:
            seen.add(tid)
            renamed.setdefault(tid, []).append(tid)
            calls.append(tc)
            continue
        fresh = f"call_{index}_{n}"
        while fresh in seen:
            fresh += "_"
        seen.add(fresh)
        if isinstance(tid, str) and tid:
            renamed.setdefault(tid, []).append(fresh)
        calls.append({**tc, "id": fresh})
        changed = True
    return {**m, "tool_calls": calls} if changed else m
