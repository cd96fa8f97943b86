"""agentkit's own stream events as JSON server-sent events.

Each event is ``event: <type>`` plus ``data:`` holding a JSON object whose ``type`` is the
same string: ``text_delta`` ``{text}``, ``tool_call_args_delta`` ``{index, tool_call_id,
name, delta}``, ``turn_finished`` ``{finish_reason, usage}``, ``tool_call_started``
``{tool_call_id, name, arguments}``, ``tool_call_result`` ``{tool_call_id, name, content,
is_error}``, ``approval_requested`` ``{tool_call_id, tool_name, arguments}``,
``run_finished`` ``{result}`` (see :func:`agentkit.web.result_json`), and ``error``
``{message, code}`` when the run fails.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from agentkit.web._common import approval_json, dumps, jsonable, result_json, sse
from agentkit.web.encoder import StreamEncoder

__all__ = ["AgentkitEncoder", "event_json"]


def event_json(event: Any) -> dict[str, Any] | None:
    """One agentkit stream event as a JSON object, or ``None`` for an unknown event type."""
    kind = getattr(event, "type", None)
    if kind == "text_delta":
        return {"type": kind, "text": event.text}
    if kind == "tool_call_args_delta":
        return {
            "type": kind,
            "index": event.index,
            "tool_call_id": event.tool_call_id,
            "name": event.name,
            "delta": event.delta,
        }
    if kind == "turn_finished":
        return {"type": kind, "finish_reason": event.finish_reason, "usage": asdict(event.usage)}
    if kind == "tool_call_started":
        return {
            "type": kind,
            "tool_call_id": event.tool_call_id,
            "name": event.name,
            "arguments": event.arguments,
        }
    if kind == "tool_call_result":
        return {
            "type": kind,
            "tool_call_id": event.tool_call_id,
            "name": event.name,
            "content": event.content,
            "is_error": event.is_error,
        }
    if kind == "approval_requested":
        return {"type": kind, **approval_json(event)}
    if kind == "run_finished":
        return {"type": kind, "result": result_json(event.result)}
    return None


class AgentkitEncoder(StreamEncoder):
    """agentkit's events, one SSE event each, named by their ``type``."""

    format = "agentkit"

    def event(self, event: Any) -> list[dict[str, Any]]:
        """The event's JSON object (unknown event types are left out)."""
        payload = event_json(event)
        return [] if payload is None else [payload]

    def error(self, message: str, code: str | None = None) -> list[dict[str, Any]]:
        """An ``error`` event with a plain message and a machine-readable code."""
        return [{"type": "error", "message": message, "code": code or "run_failed"}]

    def frame(self, payload: dict[str, Any]) -> str:
        """The payload with an ``event:`` line naming its type."""
        return sse(dumps(jsonable(payload)), event=str(payload["type"]))
