"""Pieces every stream encoder shares: SSE framing and JSON views of agentkit's objects.

Pure functions only (no I/O, no Starlette), so the encoders stay usable anywhere.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_jsonable_python

__all__ = ["approval_json", "jsonable", "parse_json_text", "result_json", "sse"]


def sse(data: str, event: str | None = None) -> str:
    """One server-sent event: an optional ``event:`` line, the ``data:`` line(s), a blank line.

    Multi-line data is split on CR, LF and CRLF only (never on U+2028, which JSON may carry
    unescaped), each line its own ``data:`` field as the SSE format requires.
    """
    lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    head = f"event: {event}\n" if event else ""
    return head + "".join(f"data: {line}\n" for line in lines) + "\n"


def dumps(value: Any) -> str:
    """Compact JSON that keeps non-ASCII text readable (Chinese stays Chinese)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def jsonable(value: Any) -> Any:
    """A JSON-ready view of ``value`` (dataclasses, pydantic models, dicts, lists...)."""
    return to_jsonable_python(value, fallback=repr)


def parse_json_text(text: str) -> Any:
    """``text`` parsed as JSON when it is JSON, else the text itself.

    Tool arguments and results travel as JSON text; UI protocols want the values.
    """
    try:
        return json.loads(text)
    except ValueError:
        return text


def approval_json(request: Any) -> dict[str, Any]:
    """An ``ApprovalRequest`` or an ``ApprovalRequested`` event as JSON (the call's id, tool
    and arguments: what a person decides on; ``"interrupted": true`` when the call was
    approved before and may have run)."""
    out = {
        "tool_call_id": request.tool_call_id,
        "tool_name": request.tool_name,
        "arguments": jsonable(request.arguments),
    }
    if request.interrupted:
        out["interrupted"] = True
    return out


def result_json(result: Any) -> dict[str, Any]:
    """What a client needs of a ``RunResult``: the output, this run's messages, usage, and
    the calls waiting for a decision when the run paused."""
    return {
        "output": jsonable(result.output),
        "messages": jsonable(result.new_messages()),
        "usage": jsonable(result.usage),
        "notes": list(result.notes),
        "tool_failures": [jsonable(f) for f in result.tool_failures],
        "paused": result.paused,
        "approvals": [approval_json(a) for a in result.approvals],
    }
