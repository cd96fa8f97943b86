"""Streamed chunks as pure code: parse one event payload, fold chunks into a completion.

- ``parse_chunk`` turns one payload into a ``ChatCompletionChunk``, raising the typed
  ``APIStatusError`` subclass for an ``{"error": ...}`` payload.
- ``ChunkAccumulator`` builds the final message from the chunks.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from agentkit._json import loads
from agentkit._record import record
from agentkit.errors import APIResponseError, error_from_body, is_error_body
from agentkit.messages import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    CompletionUsage,
    FinishReason,
    ToolCall,
)

__all__ = ["ChunkAccumulator", "decode_chunk", "parse_chunk"]


def parse_chunk(payload: str) -> ChatCompletionChunk:
    """Parse one event payload.

    Raises:
        APIStatusError: (the matching subclass) for an ``{"error": ...}`` payload.
        APIResponseError: when the payload is not a JSON object.
    """
    return ChatCompletionChunk.from_dict(decode_chunk(payload))


def decode_chunk(payload: str) -> Any:
    """One event payload as decoded JSON (``parse_chunk`` without building the chunk).

    Raises:
        APIStatusError: (the matching subclass) for an ``{"error": ...}`` payload.
        APIResponseError: when the payload is not JSON.
    """
    try:
        data = loads(payload)
    except ValueError:
        raise APIResponseError(
            f"A stream event is not valid JSON: {payload[:200]!r}", body=payload[:200]
        ) from None
    if is_error_body(data):
        raise error_from_body(data)
    return data


@record(slots=True)
class _CallState:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    type: str = "function"


@record(slots=True)
class _ChoiceState:
    content: list[str] = field(default_factory=list)
    got_content: bool = False
    finish_reason: FinishReason | None = None
    role: str = "assistant"
    calls: list[_CallState] = field(default_factory=list)
    by_index: dict[int, _CallState] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class ChunkAccumulator:
    """Builds the final message of a stream from its chunks.

    Tool calls are assembled from their fragments by ``index``: the first fragment of a call
    carries ``id`` and the function name, later ones append to its arguments. Servers that
    omit ``index`` are handled by position (a fragment with a new ``id`` starts a new call,
    one without continues the last call); a repeated ``index`` whose fragment carries a
    different ``id`` also starts a new call. A call missing its ``id`` gets ``"call_<n>"``
    so the tool result can still refer to it.

    ``content``, ``finish_reason`` and ``message()`` describe the first choice.
    """

    __slots__ = ("_choices", "id", "model", "usage")

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceState] = {}
        self.id: str | None = None
        self.model: str | None = None
        self.usage: CompletionUsage | None = None

    @property
    def content(self) -> str:
        """The text of the first choice so far."""
        state = self._choices.get(0)
        return "".join(state.content) if state else ""

    @property
    def finish_reason(self) -> FinishReason | None:
        """The first choice's finish reason, once a chunk has carried it."""
        state = self._choices.get(0)
        return state.finish_reason if state else None

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Fold one chunk into the state."""
        self.id = self.id or chunk.id
        self.model = self.model or chunk.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            state = self._choices.get(choice.index)
            if state is None:
                state = self._choices[choice.index] = _ChoiceState()
            delta = choice.delta
            if delta.role:
                state.role = delta.role
            if delta.content is not None:
                state.content.append(delta.content)
                state.got_content = True
            if delta.extra:
                _merge_extra(state.extra, delta.extra)
            for frag in delta.tool_calls:
                self._add_fragment(state, frag.index, frag.id, frag.name, frag.arguments)
                if frag.type:
                    state.calls[-1].type = frag.type
            if choice.finish_reason:
                state.finish_reason = choice.finish_reason

    @property
    def any_finished(self) -> bool:
        """Whether some choice has carried a finish reason (a stream may end there)."""
        return any(s.finish_reason for s in self._choices.values())

    @staticmethod
    def _add_fragment(
        state: _ChoiceState,
        index: int | None,
        call_id: str | None,
        name: str | None,
        arguments: str | None,
    ) -> None:
        call = state.by_index.get(index) if index is not None else None
        if call is None and index is None and state.calls:
            call = state.calls[-1]
        if call is not None and call_id and call.id and call_id != call.id:
            call = None  # a new call reusing the index (or sent without one)
        if call is None:
            call = _CallState()
            state.calls.append(call)
        if index is not None:
            state.by_index[index] = call
        if call_id:
            call.id = call_id
        if name and name != call.name:
            # Some servers repeat the whole name on every fragment; a few stream it in pieces.
            call.name = name if not call.name or name.startswith(call.name) else call.name + name
        if arguments:
            call.arguments.append(arguments)

    def _message(self, state: _ChoiceState) -> AssistantMessage:
        calls = [
            ToolCall(
                id=c.id or f"call_{i}",
                name=c.name,
                arguments="".join(c.arguments),
                type=c.type,
            )
            for i, c in enumerate(state.calls)
        ]
        content: str | None = "".join(state.content)
        if not state.got_content and calls:
            content = None
        extra = dict(state.extra)
        # A refusal streams as "refusal" fragments, which the extra fields concatenated.
        refusal = extra.pop("refusal", None)
        return AssistantMessage(
            content=content,
            tool_calls=calls,
            role=state.role,
            refusal=refusal if isinstance(refusal, str) else None,
            extra=extra,
        )

    def message(self) -> AssistantMessage:
        """The first choice's message as assembled so far."""
        return self._message(self._choices.get(0) or _ChoiceState())

    def completion(self) -> ChatCompletion:
        """Everything received, as a non-streamed ``ChatCompletion`` would have it."""
        # A stream in which no chunk carried a choice has none, like its non-streamed twin
        # (``choices: []``), rather than an invented empty message.
        return ChatCompletion(
            choices=[
                Choice(message=self._message(s), finish_reason=s.finish_reason, index=i)
                for i, s in sorted(self._choices.items())
            ],
            id=self.id,
            object="chat.completion",
            model=self.model,
            usage=self.usage,
        )


def _merge_extra(target: dict[str, Any], extra: dict[str, Any]) -> None:
    # Unknown string fields (e.g. "reasoning_content") stream as fragments too: concatenate.
    for key, value in extra.items():
        old = target.get(key)
        if isinstance(old, str) and isinstance(value, str):
            target[key] = old + value
        elif value is not None:
            target[key] = value
