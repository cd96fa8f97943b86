"""The Vercel AI SDK's UI message stream protocol (what ``useChat`` reads).

One run is one assistant message: ``start``, then per model turn a ``start-step`` ...
``finish-step`` holding text blocks (``text-start`` / ``text-delta`` / ``text-end``) and
tool calls (``tool-input-start`` / ``tool-input-delta`` / ``tool-input-available``, then
``tool-output-available`` or ``tool-output-error``), a ``tool-approval-request`` per call
waiting for a person, ``finish``, and the ``data: [DONE]`` marker. A failed run sends an
``error`` part instead of ``finish``. The response carries the header
``x-vercel-ai-ui-message-stream: v1``.
"""

from __future__ import annotations

import uuid
from typing import Any

from agentkit.web._common import jsonable, parse_json_text
from agentkit.web.encoder import StreamEncoder

__all__ = ["VERCEL_HEADER", "VercelEncoder"]

VERCEL_HEADER = "x-vercel-ai-ui-message-stream"
"""The request and response header that marks the UI message stream protocol (value ``v1``)."""


class VercelEncoder(StreamEncoder):
    """agentkit events as UI message stream parts.

    Args:
        message_id: The assistant message's id (default: a random one).
    """

    format = "vercel"
    headers = {VERCEL_HEADER: "v1"}  # noqa: RUF012 - a constant of the protocol

    def __init__(self, message_id: str | None = None) -> None:
        self.message_id = message_id or f"msg-{uuid.uuid4().hex}"
        self._text_id: str | None = None
        self._texts = 0
        self._step_open = False
        self._turn_done = False
        self._started: set[str] = set()  # calls whose tool-input-start was sent
        self._available: set[str] = set()  # calls whose tool-input-available was sent
        self._by_index: dict[int, str] = {}

    def start(self) -> list[dict[str, Any]]:
        """The ``start`` part naming the assistant message."""
        return [{"type": "start", "messageId": self.message_id}]

    def event(self, event: Any) -> list[dict[str, Any]]:
        """The parts for one agentkit event."""
        kind = getattr(event, "type", None)
        if kind == "text_delta":
            return self._text(event.text)
        if kind == "tool_call_args_delta":
            return self._args_delta(event)
        if kind == "turn_finished":
            self._turn_done = True
            return self._close_text()
        if kind == "tool_call_started":
            return self._input_available(event.tool_call_id, event.name, event.arguments)
        if kind == "tool_call_result":
            return self._output(event)
        if kind == "approval_requested":
            parts = self._input_available(event.tool_call_id, event.tool_name, event.arguments)
            approval = {"type": "tool-approval-request", "approvalId": event.tool_call_id}
            return [*parts, {**approval, "toolCallId": event.tool_call_id}]
        if kind == "run_finished":
            return [*self._close_text(), *self._close_step(), {"type": "finish"}]
        return []

    def error(self, message: str, code: str | None = None) -> list[dict[str, Any]]:
        """An ``error`` part (the protocol has no code field; ``code`` is not sent)."""
        return [*self._close_text(), {"type": "error", "errorText": message}]

    def done(self) -> str:
        """The protocol's end marker."""
        return "data: [DONE]\n\n"

    # -- state machine ---------------------------------------------------------------

    def _step(self, model_output: bool = True) -> list[dict[str, Any]]:
        """Make sure a step is open; new model output after a finished turn starts a new one
        (a step is one model response plus the tool calls it asked for)."""
        parts: list[dict[str, Any]] = []
        if model_output and self._step_open and self._turn_done:
            parts += self._close_step()
        if not self._step_open:
            self._step_open = True
            self._turn_done = False
            parts.append({"type": "start-step"})
        return parts

    def _close_step(self) -> list[dict[str, Any]]:
        if not self._step_open:
            return []
        self._step_open = False
        return [{"type": "finish-step"}]

    def _text(self, text: str) -> list[dict[str, Any]]:
        if not text:
            return []
        parts = self._step()
        if self._text_id is None:
            self._texts += 1
            self._text_id = f"{self.message_id}-text-{self._texts}"
            parts.append({"type": "text-start", "id": self._text_id})
        parts.append({"type": "text-delta", "id": self._text_id, "delta": text})
        return parts

    def _close_text(self) -> list[dict[str, Any]]:
        if self._text_id is None:
            return []
        part = {"type": "text-end", "id": self._text_id}
        self._text_id = None
        return [part]

    def _args_delta(self, event: Any) -> list[dict[str, Any]]:
        call_id = event.tool_call_id
        if call_id is None and event.index is not None:
            call_id = self._by_index.get(event.index)
        if call_id is None:
            return []  # a fragment that names no call cannot be attributed
        if event.index is not None:
            self._by_index[event.index] = call_id
        parts = [*self._step(), *self._close_text()]
        if call_id not in self._started and event.name:
            self._started.add(call_id)
            parts.append(
                {"type": "tool-input-start", "toolCallId": call_id, "toolName": event.name}
            )
        if call_id in self._started and event.delta:
            parts.append(
                {"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": event.delta}
            )
        return parts

    def _input_available(self, call_id: str, name: str, arguments: Any) -> list[dict[str, Any]]:
        if call_id in self._available:
            return []
        parts = [*self._step(model_output=False), *self._close_text()]
        if call_id not in self._started:
            self._started.add(call_id)
            parts.append({"type": "tool-input-start", "toolCallId": call_id, "toolName": name})
        self._available.add(call_id)
        value = parse_json_text(arguments) if isinstance(arguments, str) else jsonable(arguments)
        parts.append(
            {
                "type": "tool-input-available",
                "toolCallId": call_id,
                "toolName": name,
                "input": value,
            }
        )
        return parts

    def _output(self, event: Any) -> list[dict[str, Any]]:
        call_id = event.tool_call_id
        parts = (
            self._input_available(call_id, event.name, "{}")
            if (call_id not in self._available)
            else []
        )
        if event.is_error:
            return [
                *parts,
                {"type": "tool-output-error", "toolCallId": call_id, "errorText": event.content},
            ]
        output = parse_json_text(event.content)
        return [*parts, {"type": "tool-output-available", "toolCallId": call_id, "output": output}]
