"""AG-UI events (the protocol behind CopilotKit and other agent front-ends).

A run is ``RUN_STARTED`` (``threadId`` is the session id), text as ``TEXT_MESSAGE_START`` /
``TEXT_MESSAGE_CONTENT`` / ``TEXT_MESSAGE_END``, each tool call as ``TOOL_CALL_START`` /
``TOOL_CALL_ARGS`` / ``TOOL_CALL_END`` and ``TOOL_CALL_RESULT``, then ``RUN_FINISHED``
(``result`` is the output; a run paused for approval finishes with an ``interrupt``
outcome listing the calls waiting) or ``RUN_ERROR``. Field names are camelCase as on the
wire; every payload validates against the ``ag-ui-protocol`` package's models.
"""

from __future__ import annotations

import uuid
from typing import Any

from agentkit.web._common import dumps, jsonable
from agentkit.web.encoder import StreamEncoder

__all__ = ["AGUIEncoder"]


class AGUIEncoder(StreamEncoder):
    """agentkit events as AG-UI events.

    Args:
        thread_id: The conversation's id (the session id).
        run_id: This run's id (default: a random one).
        message_prefix: Prefix of the generated message ids (default: from ``run_id``).
    """

    format = "ag-ui"

    def __init__(self, thread_id: str, run_id: str | None = None) -> None:
        self.thread_id = thread_id
        self.run_id = run_id or f"run-{uuid.uuid4().hex}"
        self._message_id: str | None = None
        self._messages = 0
        self._open_calls: dict[str, str] = {}  # started, not ended: call id -> tool name
        self._ended: set[str] = set()
        self._by_index: dict[int, str] = {}
        self._interrupts: list[dict[str, Any]] = []

    def _base(self) -> dict[str, Any]:
        return {"threadId": self.thread_id, "runId": self.run_id}

    def start(self) -> list[dict[str, Any]]:
        """``RUN_STARTED``."""
        return [{"type": "RUN_STARTED", **self._base()}]

    def event(self, event: Any) -> list[dict[str, Any]]:
        """The AG-UI events for one agentkit event."""
        kind = getattr(event, "type", None)
        if kind == "text_delta":
            return self._text(event.text)
        if kind == "tool_call_args_delta":
            return self._args_delta(event)
        if kind == "turn_finished":
            return self._close_text()
        if kind == "tool_call_started":
            return self._call_complete(event.tool_call_id, event.name, event.arguments)
        if kind == "tool_call_result":
            return [
                *self._call_complete(event.tool_call_id, event.name, None),
                {
                    "type": "TOOL_CALL_RESULT",
                    "messageId": f"{event.tool_call_id}-result",
                    "toolCallId": event.tool_call_id,
                    "content": event.content,
                    "role": "tool",
                },
            ]
        if kind == "approval_requested":
            return self._approval(event)
        if kind == "run_finished":
            return [*self._close_text(), self._finished(event.result)]
        return []

    def error(self, message: str, code: str | None = None) -> list[dict[str, Any]]:
        """``RUN_ERROR`` (after closing an open text message)."""
        payload: dict[str, Any] = {"type": "RUN_ERROR", "message": message}
        if code:
            payload["code"] = code
        return [*self._close_text(), payload]

    def frame(self, payload: dict[str, Any]) -> str:
        """``data: <json>`` as AG-UI's SSE transport sends it."""
        return f"data: {dumps(payload)}\n\n"

    # -- state machine ---------------------------------------------------------------

    def _text(self, text: str) -> list[dict[str, Any]]:
        if not text:
            return []  # TEXT_MESSAGE_CONTENT must carry text
        parts: list[dict[str, Any]] = []
        if self._message_id is None:
            self._messages += 1
            self._message_id = f"{self.run_id}-m{self._messages}"
            parts.append(
                {"type": "TEXT_MESSAGE_START", "messageId": self._message_id, "role": "assistant"}
            )
        parts.append({"type": "TEXT_MESSAGE_CONTENT", "messageId": self._message_id, "delta": text})
        return parts

    def _close_text(self) -> list[dict[str, Any]]:
        if self._message_id is None:
            return []
        part = {"type": "TEXT_MESSAGE_END", "messageId": self._message_id}
        self._message_id = None
        return [part]

    def _start_call(self, call_id: str, name: str) -> list[dict[str, Any]]:
        if call_id in self._open_calls or call_id in self._ended:
            return []
        self._open_calls[call_id] = name
        return [{"type": "TOOL_CALL_START", "toolCallId": call_id, "toolCallName": name}]

    def _args_delta(self, event: Any) -> list[dict[str, Any]]:
        call_id = event.tool_call_id
        if call_id is None and event.index is not None:
            call_id = self._by_index.get(event.index)
        if call_id is None:
            return []
        if event.index is not None:
            self._by_index[event.index] = call_id
        parts = self._close_text()
        if event.name:
            parts += self._start_call(call_id, event.name)
        if call_id in self._open_calls and event.delta:
            parts.append({"type": "TOOL_CALL_ARGS", "toolCallId": call_id, "delta": event.delta})
        return parts

    def _call_complete(self, call_id: str, name: str, arguments: Any) -> list[dict[str, Any]]:
        """Make sure the call was announced, carried its arguments, and is ended."""
        if call_id in self._ended:
            return []
        parts = [*self._close_text()]
        if call_id not in self._open_calls:
            parts += self._start_call(call_id, name)
            text = arguments if isinstance(arguments, str) else dumps(jsonable(arguments or {}))
            if text:
                parts.append({"type": "TOOL_CALL_ARGS", "toolCallId": call_id, "delta": text})
        del self._open_calls[call_id]
        self._ended.add(call_id)
        parts.append({"type": "TOOL_CALL_END", "toolCallId": call_id})
        return parts

    def _approval(self, event: Any) -> list[dict[str, Any]]:
        self._interrupts.append(
            {
                "id": event.tool_call_id,
                "reason": "tool_approval",
                "toolCallId": event.tool_call_id,
                "message": (
                    f"{event.tool_name} was approved and interrupted: it may have run; "
                    "it needs approval again"
                    if event.interrupted
                    else f"{event.tool_name} needs approval before it runs"
                ),
            }
        )
        return self._call_complete(event.tool_call_id, event.tool_name, event.arguments)

    def _finished(self, result: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {"type": "RUN_FINISHED", **self._base()}
        if result.paused and self._interrupts:
            payload["outcome"] = {"type": "interrupt", "interrupts": self._interrupts}
        else:
            payload["result"] = jsonable(result.output)
        return payload
