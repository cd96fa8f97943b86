"""Server-sent events and streamed chunks, as pure code: no I/O, no httpx.

Three pieces, each usable alone and shared by the sync and async clients:

- ``SSEDecoder`` turns bytes, fed in any chunking, into the ``data`` payloads of complete
  events. Lines end at CR, LF or CRLF only: ``str.splitlines`` would also split at U+2028,
  which may appear unescaped inside JSON.
- ``parse_chunk`` turns one payload into a ``ChatCompletionChunk``, raising the typed
  ``APIStatusError`` subclass for an ``{"error": ...}`` payload.
- ``ChunkAccumulator`` builds the final message from the chunks.

``error_from_body`` maps an error body (and an HTTP status, if there is one) to the typed
exception; the client uses it for error responses too, so one mapping serves both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import (
    APIResponseError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from agentkit.messages import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    CompletionUsage,
    ToolCall,
)

__all__ = [
    "DONE",
    "ChunkAccumulator",
    "SSEDecoder",
    "error_from_body",
    "parse_chunk",
]

DONE = "[DONE]"
"""The payload that ends an OpenAI-style stream."""

_RAW_DECODER = json.JSONDecoder()


class SSEDecoder:
    """Incremental decoder of a ``text/event-stream`` body.

    Feed it bytes as they arrive, split anywhere (mid-line, mid-UTF-8 character, between
    CR and LF); it returns the ``data`` payload of each event completed so far. Besides the
    standard format it accepts events run together on one line
    (``data: {...}data: {...}``), as printed in the provider's document.

    ``"[DONE]"`` is returned like any payload; after it the decoder ignores all input, so
    the caller can stop there.
    """

    __slots__ = ("_data", "_done", "_pending", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # bytes of the current, unterminated line
        self._data: list[str] = []  # data lines of the current event
        self._skip_lf = False  # the last byte seen was CR: a following LF ends nothing
        self._started = False
        self._done = False

    @property
    def done(self) -> bool:
        """Whether ``"[DONE]"`` has been seen."""
        return self._done

    def feed(self, data: bytes) -> list[str]:
        """Consume more bytes; return the payloads of the events they complete."""
        if self._done or not data:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
                if not data:
                    return []
        last = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if last < 0:
            self._pending.append(data)
            return []
        if self._pending:
            self._pending.append(data[: last + 1])
            block = b"".join(self._pending)
        else:
            block = data[: last + 1]
        rest = data[last + 1 :]
        self._pending = [rest] if rest else []
        if block.endswith(b"\r") and not rest:
            # only a CR that ends the input can pair with an LF at the start of the next feed
            self._skip_lf = True
        # CR and LF never occur inside a multi-byte UTF-8 sequence, so the block decodes whole.
        text = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n").decode("utf-8", "replace")
        lines = text.split("\n")
        lines.pop()  # the empty string after the final terminator
        return self._lines(lines)

    def flush(self) -> list[str]:
        """End of stream: return the payload of a last event lacking its final newline(s)."""
        if self._done:
            return []
        lines = []
        if self._pending:
            lines.append(b"".join(self._pending).decode("utf-8", "replace"))
            self._pending = []
        lines.append("")
        return self._lines(lines)

    def _lines(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        if not self._started and lines:
            self._started = True
            if lines[0].startswith("\ufeff"):
                lines[0] = lines[0][1:]
        for line in lines:
            if not line:
                if self._data:
                    self._emit("\n".join(self._data), out)
                    self._data = []
            elif line[0] == ":":
                continue  # comment, e.g. ": keep-alive"
            elif line.startswith("data:"):
                self._data_line(line[6:] if line[5:6] == " " else line[5:], out)
            # Other fields (event, id, retry) carry nothing a completion stream needs.
            if self._done:
                break
        return out

    def _data_line(self, value: str, out: list[str]) -> None:
        # Run-together events: a JSON value (or [DONE]) followed directly by "data:".
        # Only split where a complete JSON value ends, so "data:" inside a string is safe.
        while "data:" in value:
            end = _json_end(value)
            if end is None:
                break
            rest = value[end:].lstrip(" \t")
            if not rest.startswith("data:"):
                break
            self._data.append(value[:end])
            self._emit("\n".join(self._data), out)
            self._data = []
            if self._done:
                return
            value = rest[6:] if rest[5:6] == " " else rest[5:]
        self._data.append(value)

    def _emit(self, payload: str, out: list[str]) -> None:
        payload = payload.strip()
        if not payload:
            return
        out.append(payload)
        if payload == DONE:
            self._done = True


def _json_end(value: str) -> int | None:
    """The index just past the JSON value (or ``[DONE]``) at the start of ``value``."""
    stripped = value.lstrip()
    offset = len(value) - len(stripped)
    if stripped.startswith(DONE):
        return offset + len(DONE)
    try:
        _, end = _RAW_DECODER.raw_decode(stripped)
    except ValueError:
        return None
    return offset + end


# --------------------------------------------------------------------------- errors

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}

_BY_TYPE: dict[str, type[APIStatusError]] = {
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
}


def error_from_body(
    body: object, *, status_code: int | None = None, request_id: str | None = None
) -> APIStatusError:
    """Build the typed error for an error response or an ``{"error": ...}`` stream chunk.

    The class comes from the HTTP status when it is a documented one, else from
    ``error.type`` (or ``error.code``); either may be missing. ``body`` is the decoded JSON
    or the raw text; a text body (a proxy's HTML page) is quoted, at most 200 characters.
    """
    err = body.get("error") if isinstance(body, dict) else None
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

    cls: type[APIStatusError] | None = None
    if status_code is not None:
        cls = _BY_STATUS.get(status_code) or (InternalServerError if status_code >= 500 else None)
    if cls is None:
        cls = _BY_TYPE.get(error_type or "") or _BY_TYPE.get(code or "") or APIStatusError

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
        message = f"{where}: {json.dumps(body, ensure_ascii=False)[:200]}"
    return cls(
        message,
        status_code=status_code,
        error_type=error_type,
        code=code,
        request_id=request_id,
        body=body,
    )


def _str_or_none(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


# --------------------------------------------------------------------------- chunks


def parse_chunk(payload: str) -> ChatCompletionChunk:
    """Parse one event payload.

    Raises:
        APIStatusError: (the matching subclass) for an ``{"error": ...}`` payload.
        APIResponseError: when the payload is not a JSON object.
    """
    try:
        data = json.loads(payload)
    except ValueError:
        raise APIResponseError(
            f"A stream event is not valid JSON: {payload[:200]!r}", body=payload[:200]
        ) from None
    if isinstance(data, dict) and data.get("error"):
        raise error_from_body(data)
    return ChatCompletionChunk.from_dict(data)


@dataclass(slots=True)
class _CallState:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    type: str = "function"


@dataclass(slots=True)
class _ChoiceState:
    content: list[str] = field(default_factory=list)
    got_content: bool = False
    finish_reason: str | None = None
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
    def finish_reason(self) -> str | None:
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
        return AssistantMessage(
            content=content, tool_calls=calls, role=state.role, extra=dict(state.extra)
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
