"""The Chat Completions wire format: messages sent as plain dicts, responses parsed tolerantly.

Conversation messages themselves stay plain wire-format dicts (``Message``): that is what
users store, send back as ``history`` and serialize, and it costs nothing to convert.
What the *server* sends is parsed into dataclasses (``completion``, ``chunk``), which:

- accept what the provider's own examples omit (``id``, ``object``, ``created``, ``model``,
  ``index``, ``usage``, ``content`` on a tool-call message);
- keep every field they do not know in ``extra`` instead of dropping it;
- raise ``APIResponseError`` only when the shape is unusable (``choices`` not a list...).

Parsing is hand-written rather than done with pydantic models: this runs on every response
and every streamed chunk, and the data are small and regular.

Modules: ``wire`` (the message and tool-definition TypedDicts and their constructors),
``completion`` (a whole response), ``chunk`` (a streamed chunk), ``_parse`` (shared field
readers). Import the names from ``agentkit.messages``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit._lazy import exports
from agentkit.messages.completion import (
    AssistantMessage,
    ChatCompletion,
    Choice,
    CompletionUsage,
    ModelInfo,
    ToolCall,
)
from agentkit.messages.wire import (
    AssistantMessageParam,
    FinishReason,
    FunctionDefinition,
    Message,
    MessageParam,
    SystemMessageParam,
    ToolCallParam,
    ToolDefinition,
    ToolMessageParam,
    UserMessageParam,
    assistant_message,
    system_message,
    tool_definition,
    tool_message,
    user_message,
)
from agentkit.messages.wire import (
    FunctionCallParam as FunctionCallParam,
)

if TYPE_CHECKING:
    from agentkit.messages.chunk import ChatCompletionChunk, ChunkChoice, Delta, ToolCallDelta

__all__ = [
    "AssistantMessage",
    "AssistantMessageParam",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "CompletionUsage",
    "Delta",
    "FinishReason",
    "FunctionDefinition",
    "Message",
    "MessageParam",
    "ModelInfo",
    "SystemMessageParam",
    "ToolCall",
    "ToolCallDelta",
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

# The chunk types load with the first stream: a program that never streams never pays.
__getattr__ = exports(
    __name__,
    dict.fromkeys(
        ("ChatCompletionChunk", "ChunkChoice", "Delta", "ToolCallDelta"), f"{__name__}.chunk"
    ),
)
