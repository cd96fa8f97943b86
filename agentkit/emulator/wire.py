"""Wire-format building blocks shared by the emulator and the scripted model.

Everything here is pure: dicts and bytes in, dicts and bytes out. The emulator's shells (ASGI
and the httpx transport) only move the resulting :class:`Reply` across their boundary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import field
from typing import Any

from agentkit._record import record

CREATED = 1780470861
"""Fixed ``created`` timestamp: the emulator's answers are deterministic."""

JSON_HEADERS: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
SSE_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
)

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_PIECE = re.compile(r"\s*\S+")


@record(slots=True)
class Reply:
    """One HTTP answer as the pure core decided it, before any shell sends it.

    Attributes:
        status: HTTP status code.
        headers: Response headers (lower-case names).
        body: The whole body, for non-streamed answers.
        chunks: SSE events as encoded bytes, for streamed answers (``None`` otherwise).
        delay: Seconds to wait before answering (latency fault).
        chunk_delay: Seconds to wait between stream chunks.
        drop: Close the connection without sending any response.
        cut: After sending ``chunks`` (or ``body``), abort the connection instead of ending
            the response cleanly.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: list[bytes] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    drop: bool = False
    cut: bool = False


def dumps(value: Any) -> str:
    """Compact JSON text that keeps non-ASCII characters readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_reply(status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """A JSON answer with ``status``."""
    return Reply(status, [*JSON_HEADERS, *headers], dumps(body).encode())


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> Any:
    """The provider's error object ``{"error": {"message", "type", "param", "code"}}``.

    ``param`` and ``code`` are always present (``null`` when unknown), as OpenAI's
    specification requires.
    """
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_reply(
    status: int,
    message: str,
    type_: str,
    code: str | None,
    headers: Iterable[tuple[str, str]] = (),
    param: str | None = None,
) -> Reply:
    """A JSON error answer in the provider's shape."""
    return json_reply(status, error_body(message, type_, code, param), headers)


def invalid_request(detail: str, param: str | None = None) -> Reply:
    """The documented 400 ``invalid_request_error`` answer, naming what was wrong."""
    return error_reply(
        400,
        f"Invalid request: {detail}",
        "invalid_request_error",
        "invalid_request",
        param=param,
    )


def count_tokens(text: str) -> int:
    """A deterministic token estimate: one per CJK character, one per ~4 other characters."""
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains Chinese, Japanese or Korean characters."""
    return _CJK.search(text) is not None


def text_of(content: Any) -> str:
    """The text of a message's ``content`` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def completion(
    model: str,
    message: Mapping[str, Any],
    finish_reason: str,
    usage: Mapping[str, int] | None,
    completion_id: str,
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice, in the shape OpenAI's specification requires.

    The message always has ``content`` and ``refusal`` (``null`` when absent) and the choice
    ``logprobs: null``.
    """
    full = {"role": "assistant", "content": None, "refusal": None, **message}
    choice = {"index": 0, "message": full, "logprobs": None, "finish_reason": finish_reason}
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [choice],
    }
    if usage is not None:
        body["usage"] = dict(usage)
    return body


def split_text(text: str, size: int = 24) -> list[str]:
    """Split text into stream pieces: whole words, or ``size // 3`` characters of CJK text."""
    pieces: list[str] = []
    current = ""
    for word in _PIECE.findall(text):
        step = max(1, size // 3) if has_cjk(word) else size
        while len(word) > step:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:step])
            word = word[step:]
        if len(current) + len(word) > size and current:
            pieces.append(current)
            current = ""
        current += word
    if current:
        pieces.append(current)
    tail = text[len("".join(pieces)) :]
    if tail:  # trailing whitespace the word pattern does not cover
        pieces.append(tail)
    return pieces


def completion_chunks(
    body: Mapping[str, Any],
    include_usage: bool = True,
    whole_tool_calls: bool = False,
    bare: bool = False,
) -> list[dict[str, Any]]:
    """Turn a ``chat.completion`` object into the ``chat.completion.chunk`` objects of a stream.

    Content arrives in word-sized pieces; each tool call starts with a fragment carrying its
    ``index``, ``id``, ``type`` and ``function.name`` and continues with argument fragments
    keyed by the same ``index``; a last chunk carries ``finish_reason`` and, when
    ``include_usage`` and the completion has usage, a final chunk with empty ``choices``
    carries the usage. With ``whole_tool_calls`` each tool call comes in one fragment with
    its complete arguments (as some servers send them). With ``bare``, chunks carry only the
    keys the completion has (no invented ``id``, ``created``, ``index``, ``logprobs``).
    """
    head = _chunk_head(body, bare)
    usage = body.get("usage")
    usage_tail = (
        [{**head, "choices": [], "usage": usage}]
        if include_usage and isinstance(usage, dict)
        else []
    )
    choices = body.get("choices")
    if choices == []:
        # No choice streams as chunks without one, not as an invented empty message.
        return usage_tail or [{**head, "choices": []}]
    choice: Any = choices[0] if isinstance(choices, list) and choices else {}
    choice = choice if isinstance(choice, dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    extra: dict[str, Any] = {"index": 0, "logprobs": None}
    if bare:
        extra = {k: choice[k] for k in ("index", "logprobs") if k in choice}
    finish = choice.get("finish_reason")
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": ""}, None),
        *((delta, None) for delta in _message_deltas(message, whole_tool_calls)),
        ({}, finish if isinstance(finish, str) else "stop"),
    ]
    chunks = [
        {**head, "choices": [{**extra, "delta": delta, "finish_reason": reason}]}
        for delta, reason in deltas
    ]
    return chunks + usage_tail


def _chunk_head(body: Mapping[str, Any], bare: bool) -> dict[str, Any]:
    """The keys every chunk of the stream repeats (only those the completion has if bare)."""
    head: dict[str, Any] = {
        "id": body.get("id", "chatcmpl-emulator"),
        "object": "chat.completion.chunk",
        "created": body.get("created", CREATED),
        "model": body.get("model", ""),
    }
    if bare:
        head = {k: v for k, v in head.items() if k in body}
        if "object" in body:
            head["object"] = "chat.completion.chunk"
    return head


def _message_deltas(message: Mapping[str, Any], whole_tool_calls: bool) -> Iterator[dict[str, Any]]:
    """The deltas of a message: its content (or refusal, as OpenAI streams one) in
    word-sized pieces, then each tool call."""
    for key in ("content", "refusal"):
        text = message.get(key)
        if isinstance(text, str):
            for piece in split_text(text):
                yield {key: piece}
    tool_calls = message.get("tool_calls")
    for index, call in enumerate(tool_calls if isinstance(tool_calls, list) else []):
        if not isinstance(call, dict):
            continue
        function: Any = call.get("function")
        function = function if isinstance(function, dict) else {}
        arguments = function.get("arguments")
        arguments = arguments if isinstance(arguments, str) else ""
        start = {
            "index": index,
            "id": call.get("id"),
            "type": call.get("type", "function"),
            "function": {"name": function.get("name"), "arguments": ""},
        }
        if whole_tool_calls:
            start["function"]["arguments"] = arguments
            yield {"tool_calls": [start]}
            continue
        yield {"tool_calls": [start]}
        for piece in split_text(arguments, 8):
            yield {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}


def sse_event(payload: str) -> bytes:
    """One server-sent event carrying ``payload`` as its data."""
    return b"data: " + payload.encode() + b"\n\n"


DONE = sse_event("[DONE]")


def sse_chunks(chunks: Iterable[Mapping[str, Any]], done: bool = True) -> list[bytes]:
    """Encode chunk objects as SSE events, ending with ``data: [DONE]`` when ``done``."""
    events = [sse_event(dumps(c)) for c in chunks]
    if done:
        events.append(DONE)
    return events


def stream_reply(
    body: Mapping[str, Any],
    include_usage: bool = True,
    whole_tool_calls: bool = False,
    bare: bool = False,
) -> Reply:
    """A 200 SSE answer streaming the completion ``body`` (see :func:`completion_chunks`)."""
    chunks = completion_chunks(body, include_usage, whole_tool_calls, bare)
    return Reply(200, list(SSE_HEADERS), chunks=sse_chunks(chunks))


def bare_completion(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` in the provider document's example shape: only ``choices``, each with its
    ``message`` and ``finish_reason``; the message without ``refusal`` and, beside
    ``tool_calls``, without ``content``."""
    choices = []
    for choice in body.get("choices") or []:
        message = {k: v for k, v in choice["message"].items() if k != "refusal"}
        if message.get("tool_calls") and message.get("content") is None:
            message.pop("content", None)
        choices.append({"message": message, "finish_reason": choice.get("finish_reason")})
    return {"choices": choices}
