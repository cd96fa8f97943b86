"""Typed responses of the Chat Completions API, parsed tolerantly from the wire format.

Conversation messages themselves stay plain wire-format dicts (``Message``): that is what
users store, send back as ``history`` and serialize, and it costs nothing to convert.
What the *server* sends is parsed into the dataclasses below, which:

- accept what the provider's own examples omit (``id``, ``object``, ``created``, ``model``,
  ``index``, ``usage``, ``content`` on a tool-call message);
- keep every field they do not know in ``extra`` instead of dropping it;
- raise ``APIResponseError`` only when the shape is unusable (``choices`` not a list...).

Parsing is hand-written rather than done with pydantic models: this runs on every response
and every streamed chunk, and the data are small and regular.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from typing_extensions import NotRequired, TypedDict

from agentkit.errors import APIResponseError

_Any = object  # `object` is shadowed by the wire field of the same name in some classes

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


def _finish(value: object) -> FinishReason | None:
    return cast("FinishReason", value) if isinstance(value, str) else None


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise APIResponseError(
            f"Expected a JSON object for {where}, got {type(value).__name__}",
            body=repr(value)[:200],
        )
    return value


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rest(data: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    # Most responses carry only known keys; avoid building a dict in that common case.
    if known.issuperset(data):
        return {}
    return {k: v for k, v in data.items() if k not in known}


@dataclass(slots=True)
class CompletionUsage:
    """Token counts the server reported for one request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    cached_tokens: int = 0
    """``prompt_tokens_details.cached_tokens``: prompt tokens served from the cache."""
    reasoning_tokens: int = 0
    """``completion_tokens_details.reasoning_tokens``: completion tokens spent reasoning."""

    _KEYS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})

    @classmethod
    def from_dict(cls, data: object) -> CompletionUsage | None:
        """Parse a ``usage`` object; ``None`` when absent or not an object."""
        if not isinstance(data, dict):
            return None
        prompt = _opt_int(data.get("prompt_tokens")) or 0
        completion = _opt_int(data.get("completion_tokens")) or 0
        total = _opt_int(data.get("total_tokens"))
        return cls(
            prompt,
            completion,
            prompt + completion if total is None else total,
            _rest(data, cls._KEYS),
            _detail(data, "prompt_tokens_details", "cached_tokens"),
            _detail(data, "completion_tokens_details", "reasoning_tokens"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            **self.extra,
        }


@dataclass(slots=True)
class ToolCall:
    """One function call requested by the model.

    ``arguments`` is the model's JSON *text*, untrusted: it may be invalid JSON or not match
    the tool's schema. ``Tool.call`` validates it.
    """

    id: str
    name: str
    arguments: str = ""
    type: str = "function"
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = frozenset({"id", "type", "function"})

    @classmethod
    def from_dict(cls, data: object) -> ToolCall:
        """Parse one entry of ``message.tool_calls``."""
        d = _obj(data, "a tool call")
        fn = d.get("function")
        fn = fn if isinstance(fn, dict) else {}
        args = fn.get("arguments")
        if not isinstance(args, str):
            # Some servers send the arguments as an object rather than JSON text.
            args = "" if args is None else _json_text(args)
        return cls(
            id=_opt_str(d.get("id")) or "",
            name=_opt_str(fn.get("name")) or "",
            arguments=args,
            type=_opt_str(d.get("type")) or "function",
            extra=_rest(d, cls._KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, as it goes back into the conversation."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "function": {"name": self.name, "arguments": self.arguments},
        }
        return out


@dataclass(slots=True)
class AssistantMessage:
    """The assistant message of a choice."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    role: str = "assistant"
    refusal: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = frozenset({"role", "content", "tool_calls", "refusal"})

    @classmethod
    def from_dict(cls, data: object) -> AssistantMessage:
        """Parse ``choices[i].message``."""
        d = _obj(data, "choices[].message")
        raw_calls = d.get("tool_calls")
        calls = [ToolCall.from_dict(c) for c in raw_calls] if isinstance(raw_calls, list) else []
        content = d.get("content")
        if isinstance(content, list):
            # A few compatible servers answer with content parts; keep the text.
            content = "".join(
                p.get("text", "")
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            )
        return cls(
            content=content if isinstance(content, str) else None,
            tool_calls=calls,
            role=_opt_str(d.get("role")) or "assistant",
            refusal=_opt_str(d.get("refusal")),
            extra=_rest(d, cls._KEYS),
        )

    def to_dict(self) -> Message:
        """The wire form, ready to append to the conversation."""
        out: Message = {"role": "assistant"}
        if self.content is not None or not self.tool_calls:
            out["content"] = self.content if self.content is not None else ""
        if self.tool_calls:
            out["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        return out


@dataclass(slots=True)
class Choice:
    """One choice of a non-streamed response."""

    message: AssistantMessage
    finish_reason: FinishReason | None = None
    index: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = frozenset({"index", "message", "finish_reason"})

    @classmethod
    def from_dict(cls, data: object) -> Choice:
        """Parse one entry of ``choices``."""
        d = _obj(data, "a choice")
        return cls(
            message=AssistantMessage.from_dict(d.get("message", {})),
            finish_reason=_finish(d.get("finish_reason")),
            index=_opt_int(d.get("index")) or 0,
            extra=_rest(d, cls._KEYS),
        )


@dataclass(slots=True)
class ChatCompletion:
    """A non-streamed ``POST /chat/completions`` response."""

    choices: list[Choice]
    id: str | None = None
    object: str | None = None
    created: int | None = None
    model: str | None = None
    usage: CompletionUsage | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = frozenset({"id", "object", "created", "model", "choices", "usage"})

    @classmethod
    def from_dict(cls, data: _Any) -> ChatCompletion:
        """Parse a decoded JSON body; ``APIResponseError`` if it is not a completion."""
        d = _obj(data, "the response body")
        choices = d.get("choices")
        if not isinstance(choices, list):
            raise APIResponseError("The response has no 'choices' list", body=_json_text(d)[:200])
        return cls(
            choices=[Choice.from_dict(c) for c in choices],
            id=_opt_str(d.get("id")),
            object=_opt_str(d.get("object")),
            created=_opt_int(d.get("created")),
            model=_opt_str(d.get("model")),
            usage=CompletionUsage.from_dict(d.get("usage")),
            extra=_rest(d, cls._KEYS),
        )

    @property
    def message(self) -> AssistantMessage:
        """The first choice's message; ``APIResponseError`` when there are no choices."""
        if not self.choices:
            raise APIResponseError("The response has no choices")
        return self.choices[0].message

    @property
    def finish_reason(self) -> FinishReason | None:
        """The first choice's finish reason, if any."""
        return self.choices[0].finish_reason if self.choices else None


@dataclass(slots=True)
class ToolCallDelta:
    """A fragment of a streamed tool call.

    The first fragment of a call usually carries ``id`` and ``name``; later ones append
    to ``arguments``. ``index`` may be missing on some servers.
    """

    index: int | None = None
    id: str | None = None
    name: str | None = None
    arguments: str | None = None
    type: str | None = None

    @classmethod
    def from_dict(cls, data: object) -> ToolCallDelta:
        """Parse one entry of ``delta.tool_calls``."""
        d = _obj(data, "a tool call delta")
        fn = d.get("function")
        name = args = None
        if isinstance(fn, dict):
            name = _opt_str(fn.get("name"))
            raw = fn.get("arguments")
            args = raw if isinstance(raw, str) else (None if raw is None else _json_text(raw))
        return cls(
            _opt_int(d.get("index")), _opt_str(d.get("id")), name, args, _opt_str(d.get("type"))
        )


@dataclass(slots=True)
class Delta:
    """The ``delta`` of a streamed choice."""

    content: str | None = None
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    role: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = frozenset({"role", "content", "tool_calls"})

    @classmethod
    def from_dict(cls, data: object) -> Delta:
        """Parse ``choices[i].delta``."""
        if not isinstance(data, dict):
            return cls()
        raw = data.get("tool_calls")
        return cls(
            content=_opt_str(data.get("content")),
            tool_calls=[ToolCallDelta.from_dict(c) for c in raw] if isinstance(raw, list) else [],
            role=_opt_str(data.get("role")),
            extra=_rest(data, cls._KEYS),
        )


@dataclass(slots=True)
class ChunkChoice:
    """One choice of a streamed chunk."""

    delta: Delta
    finish_reason: FinishReason | None = None
    index: int = 0

    @classmethod
    def from_dict(cls, data: object) -> ChunkChoice:
        """Parse one entry of a chunk's ``choices``."""
        d = _obj(data, "a chunk choice")
        return cls(
            Delta.from_dict(d.get("delta")),
            _finish(d.get("finish_reason")),
            _opt_int(d.get("index")) or 0,
        )


@dataclass(slots=True)
class ChatCompletionChunk:
    """One server-sent event of a streamed response."""

    choices: list[ChunkChoice] = field(default_factory=list)
    id: str | None = None
    model: str | None = None
    usage: CompletionUsage | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = frozenset({"id", "object", "created", "model", "choices", "usage"})

    @classmethod
    def from_dict(cls, data: object) -> ChatCompletionChunk:
        """Parse a decoded chunk (the caller has already handled ``"error"`` chunks)."""
        d = _obj(data, "a stream chunk")
        raw = d.get("choices")
        return cls(
            [ChunkChoice.from_dict(c) for c in raw] if isinstance(raw, list) else [],
            _opt_str(d.get("id")),
            _opt_str(d.get("model")),
            CompletionUsage.from_dict(d.get("usage")),
            _rest(d, cls._KEYS),
        )

    @property
    def text(self) -> str:
        """The first choice's text delta, or ``""`` (also on the usage-only final chunk)."""
        if not self.choices:
            return ""
        return self.choices[0].delta.content or ""

    @property
    def finish_reason(self) -> FinishReason | None:
        """The first choice's finish reason, or ``None`` (also when there is no choice)."""
        return self.choices[0].finish_reason if self.choices else None


@dataclass(slots=True)
class ModelInfo:
    """One entry of ``GET /models``."""

    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = frozenset({"id", "object", "created", "owned_by"})

    @classmethod
    def from_dict(cls, data: _Any) -> ModelInfo:
        """Parse one model entry."""
        d = _obj(data, "a model entry")
        return cls(
            _opt_str(d.get("id")) or "",
            _opt_str(d.get("object")) or "model",
            _opt_int(d.get("created")),
            _opt_str(d.get("owned_by")),
            _rest(d, cls._KEYS),
        )


def _detail(data: dict[str, Any], group: str, key: str) -> int:
    details = data.get(group)
    return (_opt_int(details.get(key)) or 0) if isinstance(details, dict) else 0


def _json_text(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
