"""What travels to the server as plain JSON dicts: messages, tool calls, tool definitions.

The TypedDicts give the shapes a type; at run time they are ordinary dicts. The small
constructors build them without typos in the keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict

__all__ = [
    "AssistantMessageParam",
    "FinishReason",
    "FunctionCallParam",
    "FunctionDefinition",
    "Message",
    "MessageParam",
    "SystemMessageParam",
    "ToolCallParam",
    "ToolDefinition",
    "ToolMessageParam",
    "UserMessageParam",
    "assistant_message",
    "system_message",
    "tool_definition",
    "tool_message",
    "user_message",
]

Message = dict[str, Any]
"""A conversation message in the wire format, e.g. ``{"role": "user", "content": "hi"}``.

Any of the ``*MessageParam`` shapes below; at run time always a plain JSON dict.
"""

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
"""Why the model stopped. A server's other strings are passed through unchanged."""


class FunctionCallParam(TypedDict):
    """The ``function`` of a tool call: its name and JSON-text arguments."""

    name: str
    arguments: str


class ToolCallParam(TypedDict):
    """One entry of an assistant message's ``tool_calls``."""

    id: str
    type: Literal["function"]
    function: FunctionCallParam


class SystemMessageParam(TypedDict):
    """``{"role": "system", "content": ...}``."""

    role: Literal["system"]
    content: str


class UserMessageParam(TypedDict):
    """``{"role": "user", "content": ...}``: text, or a list of text and image parts."""

    role: Literal["user"]
    content: str | list[dict[str, Any]]


class AssistantMessageParam(TypedDict):
    """An assistant message; ``content`` may be absent when it carries ``tool_calls``."""

    role: Literal["assistant"]
    content: NotRequired[str | None]
    tool_calls: NotRequired[list[ToolCallParam]]


class ToolMessageParam(TypedDict):
    """A tool's result, answering the call with id ``tool_call_id``."""

    role: Literal["tool"]
    tool_call_id: str
    content: str


MessageParam = SystemMessageParam | UserMessageParam | AssistantMessageParam | ToolMessageParam
"""Any wire message, as typed dicts."""


class FunctionDefinition(TypedDict):
    """The ``function`` of a tool definition: what the model sees of a tool."""

    name: str
    description: str
    parameters: dict[str, Any]
    strict: NotRequired[bool]


class ToolDefinition(TypedDict):
    """A tool as the request's ``tools`` list carries it: pure data, no callable."""

    type: Literal["function"]
    function: FunctionDefinition


def system_message(content: str) -> SystemMessageParam:
    """``{"role": "system", "content": content}``."""
    return {"role": "system", "content": content}


def user_message(content: str | list[dict[str, Any]]) -> UserMessageParam:
    """``{"role": "user", "content": content}`` (for images see ``agentkit.images``)."""
    return {"role": "user", "content": content}


def assistant_message(
    content: str | None = None, tool_calls: Sequence[ToolCallParam] = ()
) -> AssistantMessageParam:
    """An assistant message; ``content`` is sent as ``""`` when there are no tool calls."""
    msg: AssistantMessageParam = {"role": "assistant"}
    if content is not None or not tool_calls:
        msg["content"] = content if content is not None else ""
    if tool_calls:
        msg["tool_calls"] = list(tool_calls)
    return msg


def tool_message(tool_call_id: str, content: str) -> ToolMessageParam:
    """The result of the tool call ``tool_call_id``."""
    return {"role": "tool", "tool_call_id": tool_call_id, "content": content}


def tool_definition(
    name: str, description: str, parameters: dict[str, Any], *, strict: bool | None = None
) -> ToolDefinition:
    """A ``ToolDefinition``; ``strict`` is sent only when given."""
    function: FunctionDefinition = {
        "name": name,
        "description": description,
        "parameters": parameters,
    }
    if strict is not None:
        function["strict"] = strict
    return {"type": "function", "function": function}
