"""What an agent run returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agentkit.messages import Message
from agentkit.usage import Usage

__all__ = ["RunResult", "ToolFailure"]

OutputT = TypeVar("OutputT")


@dataclass(slots=True)
class ToolFailure:
    """A tool call that failed during a run (the model was told only that it failed).

    Attributes:
        tool_name: The tool that failed.
        tool_call_id: The model's id of the call.
        error_type: The exception's class name (``"TimeoutError"`` for a timeout).
        error: The exception's message (for you; the model never sees it).
    """

    tool_name: str
    tool_call_id: str
    error_type: str
    error: str


@dataclass(slots=True)
class RunResult(Generic[OutputT]):
    """The outcome of a finished agent run.

    Attributes:
        output: The model's final answer: a ``str``, or an instance of the agent's
            ``output_type``.
        messages: Every user, assistant and tool message of the conversation, history
            included, as JSON-serializable wire-format dicts; pass it back as ``history``
            to continue the chat. The instructions are not part of it.
        usage: Tokens summed over the run's requests, and the requests and tool calls made.
        tool_failures: Tool calls that raised or timed out (the model was told they failed).
        notes: Things the run did that you may want to know about, e.g. that it stopped a
            repeated tool call or truncated a large tool result.
        new_messages_start: Index in ``messages`` of this run's first message (the end of
            the history passed in, after any repair).
    """

    output: OutputT
    messages: list[Message]
    usage: Usage
    tool_failures: list[ToolFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    new_messages_start: int = 0

    @property
    def cost(self) -> float | None:
        """What the run cost, from the agent's ``prices`` (sub-agents included); ``None``
        without prices or when any response could not be priced."""
        return self.usage.cost

    def new_messages(self) -> list[Message]:
        """The messages added by this run (its prompt, answers and tool results)."""
        return self.messages[self.new_messages_start :]
