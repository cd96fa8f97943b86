"""Every exception agentkit raises, in one hierarchy.

```
AgentkitError                      root of everything agentkit raises
├── UserError                      agentkit was used wrongly (bad tool, missing key, ...)
├── ToolArgumentsError             a model's tool arguments failed validation
├── APIError                       talking to the provider failed
│   ├── APIConnectionError         no HTTP response (refused, reset, DNS, ...)
│   │   └── APITimeoutError        the request timed out
│   ├── APIStatusError             the server answered with an error status or error body
│   │   ├── BadRequestError        400 / invalid_request_error
│   │   ├── AuthenticationError    401 / authentication_error
│   │   ├── PermissionDeniedError  403
│   │   ├── NotFoundError          404
│   │   ├── RateLimitError         429 / rate_limit_error
│   │   └── InternalServerError    >= 500
│   └── APIResponseError           a body or stream that cannot be understood
│       └── JSONContentError       JSON mode answered with content that is not JSON
└── AgentRunError                  an agent run stopped before the model finished
    ├── MaxTurnsExceeded           more model requests than ``max_turns``
    ├── UsageLimitExceeded         a ``UsageLimits`` bound was crossed
    ├── RunTimeoutError            the run's wall-clock deadline passed
    ├── ToolRetriesExceeded        a tool used up its retry budget
    ├── OutputValidationError      structured output stayed invalid after its retries
    ├── ResponseTruncatedError     ``finish_reason`` was ``length`` with no usable content
    ├── ContentFilterError         the provider's content filter withheld the answer
    ├── ModelRefusalError          the model refused where a structured output was asked for
    ├── EmptyResponseError         the response had no choices
    ├── RepeatedToolCallError      the model kept repeating the same tool call
    └── ToolExecutionError         a tool raised and ``on_tool_error="raise"`` was set
```

``ModelRetry`` stands outside the tree on purpose: it is raised *by user code* (a tool) to ask
the model to try again, and is never raised by agentkit to the user.

Misuse (``UserError``) sits outside ``APIError`` so that ``except APIError`` around a
request never hides a bug in the calling code.

Every error raised out of an agent run carries ``.messages``: the whole conversation up to
the failure, as wire-format dicts, with no tool call left without a tool result, so it can be
sent again as ``history``. Errors raised outside a run have an empty list there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "STATUS_ERRORS",
    "TYPE_ERRORS",
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AgentRunError",
    "AgentkitError",
    "AuthenticationError",
    "BadRequestError",
    "ContentFilterError",
    "EmptyResponseError",
    "ImmutableAgentError",
    "InternalServerError",
    "JSONContentError",
    "MaxTurnsExceeded",
    "ModelRefusalError",
    "ModelRetry",
    "NotFoundError",
    "OutputValidationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RepeatedToolCallError",
    "ResponseTruncatedError",
    "RunTimeoutError",
    "ToolArgumentsError",
    "ToolChoiceIgnoredError",
    "ToolExecutionError",
    "ToolRetriesExceeded",
    "UsageLimitExceeded",
    "UserError",
    "error_from_body",
    "is_error_body",
    "status_error_class",
]


class AgentkitError(Exception):
    """Base class of every exception agentkit raises.

    Attributes:
        messages: The conversation so far when the error ended an agent run (wire-format
            dicts, valid as ``history`` for a next run); empty otherwise.
    """

    messages: list[dict[str, Any]]

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.messages = []

    @property
    def message(self) -> str:
        """The human-readable message this error was raised with."""
        return str(self.args[0]) if self.args else ""


class UserError(AgentkitError):
    """agentkit was used in a way it does not support; the message says how to fix it."""


class ImmutableAgentError(UserError, AttributeError):
    """An attribute of a built ``Agent`` was assigned or deleted: agents are immutable.

    Also an ``AttributeError``, as assigning a read-only attribute raises in Python.
    """


class ModelRetry(Exception):
    """Raised by a tool to send ``message`` back to the model and ask it to try again.

    The retry counts against the tool's retry budget (``max_retries``).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ToolArgumentsError(AgentkitError):
    """The arguments a model sent for a tool call are not valid for that tool.

    The message is compact and written for the model to read and correct its call.

    Attributes:
        tool_name: The tool the arguments were meant for.
        errors: One short line per problem (``"city: field required"``).
    """

    def __init__(self, tool_name: str, errors: list[str]) -> None:
        self.tool_name = tool_name
        self.errors = list(errors)
        joined = "; ".join(self.errors)
        super().__init__(f"Invalid arguments for tool {tool_name!r}: {joined}")


# --------------------------------------------------------------------------- API errors


class APIError(AgentkitError):
    """Talking to the model provider failed.

    Attributes:
        retries: How many times the client had resent the request when it gave up.
    """

    retries: int = 0


class APIConnectionError(APIError):
    """No HTTP response was received (connection refused or dropped, DNS failure, ...)."""


class APITimeoutError(APIConnectionError):
    """The request did not complete within its timeout."""


class APIStatusError(APIError):
    """The server answered with an error status, or an error object in a stream.

    Attributes:
        status_code: The HTTP status, or ``None`` for an error object inside a stream.
        error_type: ``error.type`` from the body (``"rate_limit_error"``...), if any.
        code: ``error.code`` from the body (``"rate_limit_exceeded"``...), if any.
        request_id: The ``x-request-id`` response header, if any.
        body: The decoded JSON body, or the raw text when it was not JSON.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_type: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: object = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type
        self.code = code
        self.request_id = request_id
        self.body = body


class BadRequestError(APIStatusError):
    """400, or ``invalid_request_error``: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401, or ``authentication_error``: the API key was missing or invalid."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource."""


class NotFoundError(APIStatusError):
    """404: no such endpoint or model."""


class RateLimitError(APIStatusError):
    """429, or ``rate_limit_error``: too many requests."""


class InternalServerError(APIStatusError):
    """A status of 500 or above: the server (or a proxy in front of it) failed."""


class APIResponseError(APIError):
    """The server's body or stream could not be understood.

    Attributes:
        body: The offending text (at most its first 200 characters), if any.
    """

    def __init__(self, message: str, *, body: str | None = None) -> None:
        super().__init__(message)
        self.body = body


class JSONContentError(APIResponseError):
    """JSON mode was requested but the assistant's content is not JSON.

    Attributes:
        content: The whole content the model returned.
    """

    def __init__(self, message: str, *, content: str) -> None:
        super().__init__(message, body=content[:200])
        self.content = content


# --------------------------------------------------------------------------- run errors


class AgentRunError(AgentkitError):
    """An agent run stopped before the model gave its final answer.

    ``messages`` holds the whole conversation up to that point (see ``AgentkitError``).
    """

    def __init__(self, message: str, *, messages: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        if messages is not None:
            self.messages = messages


class MaxTurnsExceeded(AgentRunError):
    """The run needed more model requests than the agent's ``max_turns``."""


class UsageLimitExceeded(AgentRunError):
    """A bound of the run's ``UsageLimits`` (requests, tool calls or tokens) was crossed."""


class RunTimeoutError(AgentRunError):
    """The run's wall-clock deadline passed."""


class ToolRetriesExceeded(AgentRunError):
    """A tool's calls failed validation or asked for a retry more often than allowed.

    Attributes:
        tool_name: The tool (or the unknown name the model kept calling).
    """

    def __init__(
        self, message: str, *, tool_name: str, messages: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message, messages=messages)
        self.tool_name = tool_name


class OutputValidationError(AgentRunError):
    """The structured output was still invalid after the output retry budget.

    Attributes:
        content: The last content the model returned.
    """

    def __init__(
        self, message: str, *, content: str | None, messages: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message, messages=messages)
        self.content = content


class ResponseTruncatedError(AgentRunError):
    """The model stopped at its token limit (``finish_reason="length"``) with no content."""


class ContentFilterError(AgentRunError):
    """The provider's content filter stopped the answer (``finish_reason="content_filter"``)
    before any content."""


class ModelRefusalError(AgentRunError):
    """The model refused to answer (its message held a ``refusal`` and no content) where
    the run asked for a structured output.

    Attributes:
        refusal: The model's refusal text.
    """

    def __init__(
        self, message: str, *, refusal: str, messages: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message, messages=messages)
        self.refusal = refusal


class EmptyResponseError(AgentRunError):
    """The server answered with no choices."""


class RepeatedToolCallError(AgentRunError):
    """The model kept making the same tool call with the same arguments.

    Attributes:
        tool_name: The repeated tool.
    """

    def __init__(
        self, message: str, *, tool_name: str, messages: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message, messages=messages)
        self.tool_name = tool_name


class ToolChoiceIgnoredError(AgentRunError):
    """The run forced a tool call (``tool_choice="required"`` or a named function) and the
    model answered with text, also after being asked again: the server did not enforce it.

    Attributes:
        tool_choice: The choice that was not honoured.
    """

    def __init__(
        self,
        message: str,
        *,
        tool_choice: str | dict[str, Any],
        messages: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, messages=messages)
        self.tool_choice = tool_choice


class ToolExecutionError(AgentRunError):
    """A tool raised and the agent was built with ``on_tool_error="raise"``.

    The tool's exception is ``__cause__``.

    Attributes:
        tool_name: The tool that raised.
    """

    def __init__(
        self, message: str, *, tool_name: str, messages: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message, messages=messages)
        self.tool_name = tool_name


# --------------------------------------------------------------------------- status mapping

STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}
"""The documented HTTP statuses and their exception classes (>= 500: ``InternalServerError``)."""

TYPE_ERRORS: Mapping[str, type[APIStatusError]] = {
    "invalid_request_error": BadRequestError,
    "invalid_request": BadRequestError,
    "authentication_error": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "permission_denied": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "model_not_found": NotFoundError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "insufficient_quota": RateLimitError,
    "server_error": InternalServerError,
    "api_error": InternalServerError,
    "internal_error": InternalServerError,
    "overloaded_error": InternalServerError,
    # vLLM names its error types after the exception classes
    "BadRequestError": BadRequestError,
    "NotFoundError": NotFoundError,
    "InternalServerError": InternalServerError,
}
"""``error.type`` / ``error.code`` values and their classes, used when there is no status."""


def status_error_class(
    status_code: int | None, error_type: str | None = None, code: str | None = None
) -> type[APIStatusError]:
    """The exception class for an HTTP status (first) or an error ``type``/``code``."""
    cls: type[APIStatusError] | None = None
    if status_code is not None:
        cls = STATUS_ERRORS.get(status_code) or (
            InternalServerError if status_code >= 500 else None
        )
    if cls is None:
        cls = TYPE_ERRORS.get(error_type or "") or TYPE_ERRORS.get(code or "") or APIStatusError
    return cls


def is_error_body(data: object) -> bool:
    """Whether a decoded 2xx body or stream event is an error, not an answer: an ``error``
    object (OpenAI's shape), or ``{"object": "error", "message": ...}`` (vLLM's and
    FastChat's, sent inside a stream after its 200 status)."""
    return isinstance(data, dict) and (bool(data.get("error")) or data.get("object") == "error")


def error_from_body(
    body: object,
    *,
    status_code: int | None = None,
    request_id: str | None = None,
    where: str | None = None,
) -> APIStatusError:
    """Build the typed error for an error response or an ``{"error": ...}`` stream chunk.

    The class comes from the HTTP status when it is a documented one, else from
    ``error.type`` (or ``error.code``); either may be missing. ``body`` is the decoded JSON
    or the raw text; a text body (a proxy's HTML page) is quoted, at most 200 characters.
    ``where`` starts the message (default: ``"HTTP <status>"``, or ``"Error in stream"``
    without a status).
    """
    err = body.get("error") if isinstance(body, dict) else None
    if err is None and isinstance(body, dict) and body.get("object") == "error":
        err = body  # vLLM's and FastChat's shape: the error's fields at the top level
    error_type = code = None
    if isinstance(err, dict):
        error_type = _str_or_none(err.get("type"))
        code = _str_or_none(err.get("code"))
        text = _str_or_none(err.get("message")) or ""
    elif isinstance(err, str):  # {"error": "..."} from some proxies
        text = err
    elif isinstance(body, str):
        text = ""
    else:
        text = (_str_or_none(body.get("message")) if isinstance(body, dict) else None) or ""
    cls = status_error_class(status_code, error_type, code)
    if where is None:
        where = f"HTTP {status_code}" if status_code is not None else "Error in stream"
    details = ", ".join(
        part for part in (error_type, f"code {code!r}" if code else None) if part is not None
    )
    if details:
        where = f"{where} ({details})"
    if text:
        message = f"{where}: {text}"
    elif isinstance(body, str):
        stripped = body.strip()
        message = (
            f"{where} with a non-JSON body: {stripped[:200]!r}"
            if stripped
            else f"{where} with an empty body"
        )
    else:
        message = f"{where}: {_dump(body)[:200]}"
    return cls(
        message,
        status_code=status_code,
        error_type=error_type,
        code=code,
        request_id=request_id,
        body=body,
    )


def _dump(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:200]


def _str_or_none(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
