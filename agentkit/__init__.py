"""agentkit: typed tools, a lean agent loop and an honest client for Chat Completions APIs.

The public names below are loaded on first use (PEP 562, as pydantic does), so that
``import agentkit`` costs next to nothing and a program pays only for the parts it
touches: an app that only uses the client never loads the agent loop, and a run loads
cassettes, images, sub-agents and sessions only when it uses them.
"""

import sys as _sys
import typing as _typing
from importlib import import_module as _import_module
from types import ModuleType as _ModuleType

if _typing.TYPE_CHECKING:  # what type checkers and IDEs see; at run time, __getattr__ below
    from agentkit.agent import (
        Agent,
        AgentStream,
        ModelSettings,
        RunCapture,
        SyncAgentStream,
        capture_run,
    )
    from agentkit.approvals import (
        ApprovalRequest,
        Approve,
        PausedRun,
        Reject,
    )
    from agentkit.client import (
        AsyncChatStream,
        AsyncClient,
        ChatParams,
        ChatStream,
        Client,
    )
    from agentkit.context import RunContext
    from agentkit.errors import (
        AgentkitError,
        AgentRunError,
        APIConnectionError,
        APIError,
        APIResponseError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ContentFilterError,
        EmptyResponseError,
        InternalServerError,
        JSONContentError,
        MaxTurnsExceeded,
        ModelRefusalError,
        ModelRetry,
        NotFoundError,
        OutputValidationError,
        PermissionDeniedError,
        RateLimitError,
        RepeatedToolCallError,
        ResponseTruncatedError,
        RunTimeoutError,
        ToolArgumentsError,
        ToolChoiceIgnoredError,
        ToolExecutionError,
        ToolRetriesExceeded,
        UsageLimitExceeded,
        UserError,
    )
    from agentkit.events import (
        ApprovalRequested,
        Hooks,
        RunFinished,
        StreamEvent,
        TextDelta,
        ToolCallArgsDelta,
        ToolCallResult,
        ToolCallStarted,
        TurnFinished,
    )
    from agentkit.instrumentation import (
        Instrumentation,
        instrument_all,
    )
    from agentkit.messages import (
        AssistantMessage,
        ChatCompletion,
        ChatCompletionChunk,
        Message,
        ToolCall,
    )
    from agentkit.prices import Prices
    from agentkit.result import (
        RunResult,
        ToolFailure,
    )
    from agentkit.templates import Template
    from agentkit.tool import (
        Tool,
        tool,
    )
    from agentkit.usage import (
        Usage,
        UsageLimits,
    )

__version__ = "0.1.0"

# Which module each public name comes from.
_SOURCES: dict[str, str] = {
    "APIConnectionError": "agentkit.errors",
    "APIError": "agentkit.errors",
    "APIResponseError": "agentkit.errors",
    "APIStatusError": "agentkit.errors",
    "APITimeoutError": "agentkit.errors",
    "Agent": "agentkit.agent",
    "AgentRunError": "agentkit.errors",
    "AgentStream": "agentkit.agent",
    "AgentkitError": "agentkit.errors",
    "ApprovalRequest": "agentkit.approvals",
    "ApprovalRequested": "agentkit.events",
    "Approve": "agentkit.approvals",
    "AssistantMessage": "agentkit.messages",
    "AsyncChatStream": "agentkit.client",
    "AsyncClient": "agentkit.client",
    "AuthenticationError": "agentkit.errors",
    "BadRequestError": "agentkit.errors",
    "ChatCompletion": "agentkit.messages",
    "ChatCompletionChunk": "agentkit.messages",
    "ChatParams": "agentkit.client",
    "ChatStream": "agentkit.client",
    "Client": "agentkit.client",
    "ContentFilterError": "agentkit.errors",
    "EmptyResponseError": "agentkit.errors",
    "Hooks": "agentkit.events",
    "Instrumentation": "agentkit.instrumentation",
    "InternalServerError": "agentkit.errors",
    "JSONContentError": "agentkit.errors",
    "MaxTurnsExceeded": "agentkit.errors",
    "Message": "agentkit.messages",
    "ModelRefusalError": "agentkit.errors",
    "ModelRetry": "agentkit.errors",
    "ModelSettings": "agentkit.agent",
    "NotFoundError": "agentkit.errors",
    "OutputValidationError": "agentkit.errors",
    "PausedRun": "agentkit.approvals",
    "PermissionDeniedError": "agentkit.errors",
    "Prices": "agentkit.prices",
    "RateLimitError": "agentkit.errors",
    "Reject": "agentkit.approvals",
    "RepeatedToolCallError": "agentkit.errors",
    "ResponseTruncatedError": "agentkit.errors",
    "RunCapture": "agentkit.agent",
    "RunContext": "agentkit.context",
    "RunFinished": "agentkit.events",
    "RunResult": "agentkit.result",
    "RunTimeoutError": "agentkit.errors",
    "StreamEvent": "agentkit.events",
    "SyncAgentStream": "agentkit.agent",
    "Template": "agentkit.templates",
    "TextDelta": "agentkit.events",
    "Tool": "agentkit.tool",
    "ToolArgumentsError": "agentkit.errors",
    "ToolCall": "agentkit.messages",
    "ToolCallArgsDelta": "agentkit.events",
    "ToolCallResult": "agentkit.events",
    "ToolCallStarted": "agentkit.events",
    "ToolChoiceIgnoredError": "agentkit.errors",
    "ToolExecutionError": "agentkit.errors",
    "ToolFailure": "agentkit.result",
    "ToolRetriesExceeded": "agentkit.errors",
    "TurnFinished": "agentkit.events",
    "Usage": "agentkit.usage",
    "UsageLimitExceeded": "agentkit.errors",
    "UsageLimits": "agentkit.usage",
    "UserError": "agentkit.errors",
    "capture_run": "agentkit.agent",
    "instrument_all": "agentkit.instrumentation",
    "tool": "agentkit.tool",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AgentRunError",
    "AgentStream",
    "AgentkitError",
    "ApprovalRequest",
    "ApprovalRequested",
    "Approve",
    "AssistantMessage",
    "AsyncChatStream",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatParams",
    "ChatStream",
    "Client",
    "ContentFilterError",
    "EmptyResponseError",
    "Hooks",
    "Instrumentation",
    "InternalServerError",
    "JSONContentError",
    "MaxTurnsExceeded",
    "Message",
    "ModelRefusalError",
    "ModelRetry",
    "ModelSettings",
    "NotFoundError",
    "OutputValidationError",
    "PausedRun",
    "PermissionDeniedError",
    "Prices",
    "RateLimitError",
    "Reject",
    "RepeatedToolCallError",
    "ResponseTruncatedError",
    "RunCapture",
    "RunContext",
    "RunFinished",
    "RunResult",
    "RunTimeoutError",
    "StreamEvent",
    "SyncAgentStream",
    "Template",
    "TextDelta",
    "Tool",
    "ToolArgumentsError",
    "ToolCall",
    "ToolCallArgsDelta",
    "ToolCallResult",
    "ToolCallStarted",
    "ToolChoiceIgnoredError",
    "ToolExecutionError",
    "ToolFailure",
    "ToolRetriesExceeded",
    "TurnFinished",
    "Usage",
    "UsageLimitExceeded",
    "UsageLimits",
    "UserError",
    "capture_run",
    "instrument_all",
    "tool",
]


def __getattr__(name: str) -> _typing.Any:
    """Load a public name (or a submodule, as ``agentkit.sessions``) on first use."""
    source = _SOURCES.get(name)
    if source is not None:
        value = getattr(_import_module(source), name)
    else:
        try:
            value = _import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the submodule exists but needs something missing: say so
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(_ModuleType):
    """``agentkit`` itself: ``agentkit.tool`` stays the decorator.

    ``tool`` is also the name of a submodule, and importing a submodule binds it on its
    package, which would otherwise replace the decorator with the module.
    """

    @property
    def tool(self) -> _typing.Any:
        return _import_module("agentkit.tool").tool

    @tool.setter
    def tool(self, value: _typing.Any) -> None:
        pass  # the import system binding the submodule `agentkit.tool`


_sys.modules[__name__].__class__ = _Package
