"""What a durable step records, as JSON, and how the workflow reads it back (pure code).

A recovered workflow must take exactly the decisions the first execution took, so the
first execution reads every step's outcome through the same JSON form the replay reads:
a model answer becomes its wire dict and is parsed again, a tool outcome becomes the
content string or the error's type name and message.
"""

from __future__ import annotations

from typing import Any

from agentkit._execute import Outcome
from agentkit.errors import AgentkitError, ModelRetry
from agentkit.messages import AssistantMessage, ChatCompletion, ToolCall
from agentkit.tool import serialize_result

__all__ = [
    "RecordedError",
    "completion_from_wire",
    "completion_to_wire",
    "outcome_from_json",
    "outcome_to_json",
    "recorded_error",
]


def _call_to_wire(call: ToolCall) -> dict[str, Any]:
    return {**call.extra, **call.to_dict()}


def _message_to_wire(message: AssistantMessage) -> dict[str, Any]:
    out: dict[str, Any] = {**message.extra, "role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [_call_to_wire(c) for c in message.tool_calls]
    if message.refusal is not None:
        out["refusal"] = message.refusal
    return out


def completion_to_wire(completion: ChatCompletion) -> dict[str, Any]:
    """The response body ``completion`` was parsed from (extras kept)."""
    out: dict[str, Any] = {
        **completion.extra,
        "id": completion.id,
        "object": completion.object,
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                **c.extra,
                "index": c.index,
                "message": _message_to_wire(c.message),
                "finish_reason": c.finish_reason,
            }
            for c in completion.choices
        ],
    }
    if completion.usage is not None:
        out["usage"] = completion.usage.to_dict()
    return out


def completion_from_wire(data: dict[str, Any]) -> ChatCompletion:
    """Parse a recorded model answer."""
    return ChatCompletion.from_dict(data)


class RecordedError(Exception):
    """A tool's exception as a durable step recorded it: its type name and message.

    The class of each instance is named after the original exception's type (so that
    ``RunResult.tool_failures`` reads the same after a recovery as in the first run).
    """


_classes: dict[str, type[RecordedError]] = {}


def recorded_error(type_name: str, message: str) -> RecordedError:
    """A ``RecordedError`` whose class is named ``type_name``."""
    cls = _classes.get(type_name)
    if cls is None:
        cls = type(type_name, (RecordedError,), {"__module__": "agentkit.durable"})
        _classes[type_name] = cls
    return cls(message)


class RecordedAgentkitError(AgentkitError):
    """An agentkit error (e.g. a tool source that failed to list) as a step recorded it."""


def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    """A tool call's outcome as JSON; the value is already the tool message's content."""
    err = outcome.error
    if err is None:
        try:
            return {"content": serialize_result(outcome.value)}
        except AgentkitError as exc:
            err = exc
    if isinstance(err, ModelRetry):
        return {"retry": err.message}
    message = str(err) or type(err).__name__
    return {"error": type(err).__name__, "message": message, "timed_out": outcome.timed_out}


def outcome_from_json(data: dict[str, Any]) -> Outcome:
    """The ``Outcome`` the flow gets for a recorded tool call."""
    if "content" in data:
        return Outcome(str(data["content"]))
    if "retry" in data:
        return Outcome(error=ModelRetry(str(data["retry"])))
    error = recorded_error(str(data.get("error", "Exception")), str(data.get("message", "")))
    return Outcome(error=error, timed_out=bool(data.get("timed_out")))
