"""One streamed Chat Completions chunk: deltas of text, reasoning and tool calls."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from agentkit._record import record
from agentkit.messages._parse import content_text, finish, json_text, obj, opt_int, opt_str, rest
from agentkit.messages.completion import CompletionUsage
from agentkit.messages.wire import FinishReason

__all__ = ["ChatCompletionChunk", "ChunkChoice", "Delta", "ToolCallDelta"]


@record(slots=True)
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
        d = obj(data, "a tool call delta")
        fn = d.get("function")
        name = args = None
        if isinstance(fn, dict):
            name = opt_str(fn.get("name"))
            raw = fn.get("arguments")
            args = raw if isinstance(raw, str) else (None if raw is None else json_text(raw))
        return cls(
            opt_int(d.get("index")), opt_str(d.get("id")), name, args, opt_str(d.get("type"))
        )


@record(slots=True)
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
            content=content_text(data.get("content"), "choices[].delta.content"),
            tool_calls=[ToolCallDelta.from_dict(c) for c in raw] if isinstance(raw, list) else [],
            role=opt_str(data.get("role")),
            extra=rest(data, cls._KEYS),
        )


@record(slots=True)
class ChunkChoice:
    """One choice of a streamed chunk."""

    delta: Delta
    finish_reason: FinishReason | None = None
    index: int = 0

    @classmethod
    def from_dict(cls, data: object) -> ChunkChoice:
        """Parse one entry of a chunk's ``choices``."""
        d = obj(data, "a chunk choice")
        return cls(
            Delta.from_dict(d.get("delta")),
            finish(d.get("finish_reason")),
            opt_int(d.get("index")) or 0,
        )


@record(slots=True)
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
        d = obj(data, "a stream chunk")
        raw = d.get("choices")
        return cls(
            [ChunkChoice.from_dict(c) for c in raw] if isinstance(raw, list) else [],
            opt_str(d.get("id")),
            opt_str(d.get("model")),
            CompletionUsage.from_dict(d.get("usage")),
            rest(d, cls._KEYS),
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
