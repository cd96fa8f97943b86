"""A whole (non-streamed) Chat Completions response, and a model listing's entries."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from agentkit._record import record
from agentkit.errors import APIResponseError
from agentkit.messages._parse import (
    AnyValue,
    content_text,
    finish,
    json_text,
    obj,
    opt_int,
    opt_str,
    rest,
    token_detail,
)
from agentkit.messages.wire import FinishReason, Message

__all__ = [
    "AssistantMessage",
    "ChatCompletion",
    "Choice",
    "CompletionUsage",
    "ModelInfo",
    "ToolCall",
]


@record(slots=True)
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
        prompt = opt_int(data.get("prompt_tokens")) or 0
        completion = opt_int(data.get("completion_tokens")) or 0
        total = opt_int(data.get("total_tokens"))
        return cls(
            prompt,
            completion,
            prompt + completion if total is None else total,
            rest(data, cls._KEYS),
            token_detail(data, "prompt_tokens_details", "cached_tokens"),
            token_detail(data, "completion_tokens_details", "reasoning_tokens"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            **self.extra,
        }


@record(slots=True)
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
        d = obj(data, "a tool call")
        fn = d.get("function")
        fn = fn if isinstance(fn, dict) else {}
        args = fn.get("arguments")
        if not isinstance(args, str):
            # Some servers send the arguments as an object rather than JSON text.
            args = "" if args is None else json_text(args)
        return cls(
            id=opt_str(d.get("id")) or "",
            name=opt_str(fn.get("name")) or "",
            arguments=args,
            type=opt_str(d.get("type")) or "function",
            extra=rest(d, cls._KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, as it goes back into the conversation."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "function": {"name": self.name, "arguments": self.arguments},
        }
        return out


@record(slots=True)
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
        d = obj(data, "choices[].message")
        raw_calls = d.get("tool_calls")
        calls = [ToolCall.from_dict(c) for c in raw_calls] if isinstance(raw_calls, list) else []
        return cls(
            content=content_text(d.get("content"), "choices[].message.content"),
            tool_calls=calls,
            role=opt_str(d.get("role")) or "assistant",
            refusal=opt_str(d.get("refusal")),
            extra=rest(d, cls._KEYS),
        )

    def to_dict(self) -> Message:
        """The wire form, ready to append to the conversation."""
        out: Message = {"role": "assistant"}
        if self.content is not None or not self.tool_calls:
            out["content"] = self.content if self.content is not None else ""
        if self.tool_calls:
            out["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        return out


@record(slots=True)
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
        d = obj(data, "a choice")
        return cls(
            message=AssistantMessage.from_dict(d.get("message", {})),
            finish_reason=finish(d.get("finish_reason")),
            index=opt_int(d.get("index")) or 0,
            extra=rest(d, cls._KEYS),
        )


@record(slots=True)
class ChatCompletion:
    """A non-streamed ``POST /chat/completions`` response.

    ``retries`` is not on the wire: the client sets it to how many times it resent the
    request before this answer (0: the first attempt answered).
    """

    choices: list[Choice]
    id: str | None = None
    object: str | None = None
    created: int | None = None
    model: str | None = None
    usage: CompletionUsage | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    retries: int = 0

    _KEYS = frozenset({"id", "object", "created", "model", "choices", "usage"})

    @classmethod
    def from_dict(cls, data: AnyValue) -> ChatCompletion:
        """Parse a decoded JSON body; ``APIResponseError`` if it is not a completion."""
        d = obj(data, "the response body")
        choices = d.get("choices")
        if not isinstance(choices, list):
            raise APIResponseError("The response has no 'choices' list", body=json_text(d)[:200])
        return cls(
            choices=[Choice.from_dict(c) for c in choices],
            id=opt_str(d.get("id")),
            object=opt_str(d.get("object")),
            created=opt_int(d.get("created")),
            model=opt_str(d.get("model")),
            usage=CompletionUsage.from_dict(d.get("usage")),
            extra=rest(d, cls._KEYS),
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


@record(slots=True)
class ModelInfo:
    """One entry of ``GET /models``."""

    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = frozenset({"id", "object", "created", "owned_by"})

    @classmethod
    def from_dict(cls, data: AnyValue) -> ModelInfo:
        """Parse one model entry."""
        d = obj(data, "a model entry")
        return cls(
            opt_str(d.get("id")) or "",
            opt_str(d.get("object")) or "model",
            opt_int(d.get("created")),
            opt_str(d.get("owned_by")),
            rest(d, cls._KEYS),
        )
