"""Typed events of a streamed agent run, and hooks to observe any run.

Every event has a ``type`` string (a class attribute, so events stay small slotted objects)::

    async for event in agent.stream("..."):
        if event.type == "text_delta":
            print(event.text, end="")
        elif event.type == "run_finished":
            result = event.result

Order within one model turn: ``text_delta`` / ``tool_call_args_delta`` while the answer
streams, ``turn_finished`` when it is complete, then for a tool turn one
``tool_call_started`` per call (emission order) and one ``tool_call_result`` per call
(emission order). The last event of a run is ``run_finished``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeAlias

from agentkit._record import record
from agentkit.messages import ChatCompletion, CompletionUsage, ToolCall
from agentkit.result import RunResult
from agentkit.usage import Usage

__all__ = [
    "ApprovalRequested",
    "Hooks",
    "RunFinished",
    "StreamEvent",
    "TextDelta",
    "ToolCallArgsDelta",
    "ToolCallResult",
    "ToolCallStarted",
    "TurnFinished",
]


@record(slots=True)
class TextDelta:
    """New text of the assistant's answer.

    Attributes:
        text: The new text (append it to what came before).
    """

    type: ClassVar[Literal["text_delta"]] = "text_delta"
    text: str


@record(slots=True)
class ToolCallArgsDelta:
    """A fragment of a tool call's arguments as the model streams them.

    Attributes:
        index: The call's position among this turn's calls, when the server sent one.
        tool_call_id: The call's id, when this fragment carries it (usually the first).
        name: The tool name, when this fragment carries it (usually the first).
        delta: The new piece of the JSON arguments text.
    """

    type: ClassVar[Literal["tool_call_args_delta"]] = "tool_call_args_delta"
    index: int | None
    tool_call_id: str | None
    name: str | None
    delta: str


@record(slots=True)
class ToolCallStarted:
    """A tool call is about to run (or be answered with an error for the model).

    Attributes:
        tool_call_id: The model's id of the call.
        name: The tool name the model asked for.
        arguments: The complete JSON arguments text, as the model sent it.
    """

    type: ClassVar[Literal["tool_call_started"]] = "tool_call_started"
    tool_call_id: str
    name: str
    arguments: str


@record(slots=True)
class ToolCallResult:
    """A tool call's result, exactly as sent back to the model.

    Attributes:
        tool_call_id: The model's id of the call.
        name: The tool name.
        content: The tool message's content.
        is_error: True when the call failed or was rejected (bad arguments, unknown tool,
            ``ModelRetry``, an exception, a timeout).
    """

    type: ClassVar[Literal["tool_call_result"]] = "tool_call_result"
    tool_call_id: str
    name: str
    content: str
    is_error: bool


@record(slots=True)
class ApprovalRequested:
    """The run pauses: this tool call waits for a person's decision (one event per call,
    before ``run_finished`` with the paused result).

    Attributes:
        tool_call_id: The model's id of the call (the key of its decision).
        tool_name: The tool.
        arguments: The validated arguments it would run with.
        interrupted: The call was approved and started before, and left no result (its
            run crashed or was cancelled): it may have run (see ``ApprovalRequest``).
    """

    type: ClassVar[Literal["approval_requested"]] = "approval_requested"
    tool_call_id: str
    tool_name: str
    arguments: dict[str, Any]
    interrupted: bool = False


@record(slots=True)
class TurnFinished:
    """A model response is complete.

    Attributes:
        finish_reason: The response's ``finish_reason``.
        response_usage: Tokens the server reported for this response, if any.
        usage: The run's usage so far (a snapshot).
    """

    type: ClassVar[Literal["turn_finished"]] = "turn_finished"
    finish_reason: str | None
    response_usage: CompletionUsage | None
    usage: Usage


@record(slots=True)
class RunFinished:
    """The run is over; always the last event.

    Attributes:
        result: The run's result.
    """

    type: ClassVar[Literal["run_finished"]] = "run_finished"
    result: RunResult[Any]


StreamEvent: TypeAlias = (
    TextDelta
    | ToolCallArgsDelta
    | ToolCallStarted
    | ToolCallResult
    | ApprovalRequested
    | TurnFinished
    | RunFinished
)
"""Any event ``Agent.stream`` yields."""


class Hooks:
    """Observe a run: subclass and override what you need (every method does nothing).

    Hooks are called synchronously on the run's thread or event loop, so keep them quick;
    an exception from a hook ends the run with that exception. Use them for logging,
    metrics and tracing, e.g.::

        class Timing(Hooks):
            def on_response(self, response):
                metrics.count("tokens", response.usage.total_tokens if response.usage else 0)
    """

    def on_request(self, request: dict[str, Any]) -> None:
        """Before each model request; ``request`` holds ``messages`` and the other kwargs."""

    def on_response(self, response: ChatCompletion) -> None:
        """After each model response (for a streamed turn: the assembled completion)."""

    def on_tool_call(self, call: ToolCall) -> None:
        """Before each tool call runs (also for calls rejected without running); for a
        call that waits for approval, in the run that resumes it with its decision."""

    def on_tool_result(self, call: ToolCall, content: str, is_error: bool) -> None:
        """After each tool call, with the content sent back to the model."""
