"""The probes of ``agentkit check``: small requests, each telling one thing about a server.

Every probe returns a ``ProbeResult``; the server's answers are shortened and have the API
key masked before they are kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from agentkit._record import record
from agentkit.agent.text_calls import text_tool_calls
from agentkit.client._redact import Redactor

__all__ = ["ProbeResult", "Server", "content_probe", "models_probe", "run_probes"]

_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
    "2mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
_ASK = [{"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."}]
_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "city",
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@record(frozen=True, slots=True)
class ProbeResult:
    """One probe's outcome.

    Attributes:
        name: What was probed.
        ok: Whether it works as agentkit needs.
        detail: What was seen (the server's answer when it failed).
        value: A machine-readable finding (e.g. ``"ignored"``, ``"refused"``), or ``None``.
    """

    name: str
    ok: bool
    detail: str
    value: str | None = None


class Server:
    """The HTTP side of a check: one client, answers shortened and masked."""

    def __init__(
        self,
        http: httpx.Client,
        model: str,
        secrets: Iterable[str],
        root: str = "",
        query: str = "",
    ) -> None:
        self.http, self.model = http, model
        self.redactor = Redactor(secrets)
        # A base URL's query (?api-version=, a gateway's ?key=) goes after each endpoint.
        self._root, self._query = root, query

    def url(self, path: str) -> str:
        """The URL of the endpoint ``path`` (``"/models"``) on this server."""
        return self._root + path + self._query

    def said(self, text: str, limit: int = 110) -> str:
        text = self.redactor.text(" ".join(text.split()))
        return text[:limit] + ("..." if len(text) > limit else "")

    def chat(self, **body: Any) -> tuple[int, Any, str]:
        """POST a chat request: status, decoded JSON (or SSE chunks) and the raw text."""
        body.setdefault("model", self.model)
        body.setdefault("messages", _ASK)
        try:
            response = self.http.post(self.url("/chat/completions"), json=body)
        except httpx.HTTPError as exc:
            return 0, None, f"{type(exc).__name__}: {exc}"
        text = response.text
        if body.get("stream") and response.status_code == 200:
            return 200, _sse(text), text
        try:
            return response.status_code, response.json(), text
        except ValueError:
            return response.status_code, None, text


def _sse(text: str) -> list[Any]:
    chunks = []
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            try:
                chunks.append(json.loads(line[5:]))
            except ValueError:
                continue
    return chunks


def _message(data: Any) -> dict[str, Any]:
    try:
        message = data["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        return {}
    return message if isinstance(message, dict) else {}


def _finish(data: Any) -> Any:
    try:
        return data["choices"][0].get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _streamed(chunks: list[Any]) -> tuple[str, dict[int, dict[str, str]], bool, int]:
    """Content, tool calls by index, whether usage came, and the most fragments of a call."""
    content, usage = "", False
    calls: dict[int, dict[str, str]] = {}
    pieces: dict[int, int] = {}
    for chunk in chunks:
        usage = usage or isinstance(chunk.get("usage"), dict)
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            content += delta.get("content") or ""
            for tc in delta.get("tool_calls") or ():
                slot = calls.setdefault(tc.get("index", 0), {"name": "", "arguments": ""})
                fn = tc.get("function") or {}
                slot["name"] += fn.get("name") or ""
                slot["arguments"] += fn.get("arguments") or ""
                pieces[tc.get("index", 0)] = pieces.get(tc.get("index", 0), 0) + 1
    return content, calls, usage, max(pieces.values(), default=0)


def _failed(server: Server, status: int, text: str) -> str:
    return f"HTTP {status}: {server.said(text)}" if status else server.said(text)


Probe = Callable[[Server], ProbeResult]


def _plain(s: Server) -> ProbeResult:
    status, data, text = s.chat(messages=[{"role": "user", "content": "Say hello."}])
    content = _message(data).get("content")
    if status == 200 and isinstance(content, str) and content:
        usage = "with usage" if isinstance((data or {}).get("usage"), dict) else "no usage"
        return ProbeResult("plain answer", True, f"answered ({usage})")
    return ProbeResult("plain answer", False, _failed(s, status, text))


def _stream(s: Server, usage: bool) -> ProbeResult:
    name = "stream with usage" if usage else "stream"
    extra = {"stream_options": {"include_usage": True}} if usage else {}
    status, chunks, text = s.chat(
        messages=[{"role": "user", "content": "Say hello."}], stream=True, **extra
    )
    if status != 200:
        return ProbeResult(name, False, _failed(s, status, text))
    content, _, got_usage, _ = _streamed(chunks)
    if not content:
        return ProbeResult(name, False, f"no content in {len(chunks)} chunks")
    if usage:
        if got_usage:
            return ProbeResult(name, True, "a usage chunk came when asked", "yes")
        return ProbeResult(name, False, "no usage chunk although asked (token limits see 0)", "no")
    note = " (usage sent unasked)" if got_usage else ""
    return ProbeResult(name, True, f"{len(chunks)} chunks{note}")


def _tool_call(s: Server, stream: bool) -> ProbeResult:
    name = "tool call (streamed)" if stream else "tool call"
    status, data, text = s.chat(tools=[_TOOL], stream=stream)
    if status != 200:
        return ProbeResult(name, False, _failed(s, status, text))
    if stream:
        content, calls, _, pieces = _streamed(data)
        found = [c["name"] for c in calls.values()]
        how = " (arguments arrive whole)" if pieces == 1 else ""
    else:
        message = _message(data)
        content = message.get("content") or ""
        found = [
            str((tc.get("function") or {}).get("name")) for tc in message.get("tool_calls") or ()
        ]
        how = ""
    if "get_weather" in found:
        return ProbeResult(name, True, f"called get_weather{how}", "native")
    if text_tool_calls(content, {"get_weather"}):
        return ProbeResult(
            name, False, "the call came as text content (recover_text_tool_calls)", "text"
        )
    return ProbeResult(name, False, f"no tool call: {s.said(content or text)}", "none")


def content_probe(shape: str) -> str:
    """The name of the probe sending ``shape`` (a ``Profile.assistant_content``)."""
    return f"after a tool call: {_LABELS[shape]}"


_LABELS = {"omit": "no content key", "null": "content null", "empty": 'content ""'}


def _history(content: Any) -> list[dict[str, Any]]:
    call = {
        "id": "call_check_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    assistant: dict[str, Any] = {"role": "assistant", "tool_calls": [call]}
    if content != "omit":
        assistant["content"] = content
    result = {"role": "tool", "tool_call_id": "call_check_1", "content": "Sunny, 21 C"}
    return [*_ASK, assistant, result]


def _round_trips(s: Server) -> list[ProbeResult]:
    out = []
    for shape, content in (("omit", "omit"), ("null", None), ("empty", "")):
        label = _LABELS[shape]
        status, data, text = s.chat(messages=_history(content), tools=[_TOOL])
        answered = status == 200 and bool(_message(data).get("content"))
        detail = "answered" if answered else _failed(s, status, text)
        out.append(ProbeResult(f"after a tool call: {label}", answered, detail, shape))
    works = [p.value for p in out if p.ok]
    detail = f"accepted: {', '.join(map(str, works))}" if works else "no content shape accepted"
    out.append(ProbeResult("tool result round trip", bool(works), detail))
    return [*out, _streamed_round_trip(s, works[0] if works else "empty")]


def _streamed_round_trip(s: Server, shape: str | None) -> ProbeResult:
    name = "tool result round trip (streamed)"
    content = {"omit": "omit", "null": None}.get(shape or "", "")
    status, chunks, text = s.chat(messages=_history(content), tools=[_TOOL], stream=True)
    if status != 200:
        return ProbeResult(name, False, _failed(s, status, text))
    answer = _streamed(chunks)[0]
    if answer:
        return ProbeResult(name, True, f"answered (content shape {shape})")
    return ProbeResult(name, False, f"no answer in {len(chunks)} chunks")


def _choice(s: Server, kind: str) -> ProbeResult:
    choice: Any = kind
    if kind == "named":
        choice = {"type": "function", "function": {"name": "get_weather"}}
    name = f"tool_choice {kind}"
    # no tool is suggested in the prompt: only the choice can force a call
    ask = [{"role": "user", "content": "Tell me a short joke."}]
    status, data, text = s.chat(messages=ask, tools=[_TOOL], tool_choice=choice)
    if status != 200:
        return ProbeResult(name, False, _failed(s, status, text), "refused")
    called = bool(_message(data).get("tool_calls"))
    if kind == "none":
        ok = not called
        return ProbeResult(name, ok, "honoured" if ok else "called a tool anyway", "honoured")
    if called:
        return ProbeResult(name, True, "honoured", "honoured")
    return ProbeResult(name, False, "not enforced: answered with text", "ignored")


def _accepted(s: Server, name: str, check: Callable[[Any], bool], **body: Any) -> ProbeResult:
    status, data, text = s.chat(**body)
    if status != 200:
        return ProbeResult(name, False, _failed(s, status, text), "refused")
    if check(data):
        return ProbeResult(name, True, "works", "works")
    return ProbeResult(name, False, f"accepted, but: {s.said(text)}", "ignored")


def _json_content(data: Any, key: str | None = None) -> bool:
    try:
        value = json.loads(_message(data).get("content") or "")
    except ValueError:
        return False
    return isinstance(value, dict) and (key is None or key in value)


def _token_limit(s: Server, param: str) -> ProbeResult:
    ask = [{"role": "user", "content": "Write three long paragraphs about the sea."}]
    status, data, text = s.chat(messages=ask, **{param: 1})
    if status != 200:
        return ProbeResult(param, False, _failed(s, status, text), "refused")
    if _finish(data) == "length":
        return ProbeResult(param, True, "honoured (finish_reason length)", "honoured")
    return ProbeResult(param, False, "ignored: the answer was not cut", "ignored")


def _image(s: Server, shape: str) -> ProbeResult:
    part = (
        {"type": "image", "image": _PNG}
        if shape == "image"
        else {"type": "image_url", "image_url": {"url": _PNG}}
    )
    ask = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, part]}]
    return _accepted(
        s, f"image part {shape!r}", lambda d: bool(_message(d).get("content")), messages=ask
    )


def _error_shape(s: Server) -> ProbeResult:
    status, data, text = s.chat(messages="not a list")
    error = data.get("error") if isinstance(data, dict) else None
    if 400 <= status < 500 and isinstance(error, dict) and isinstance(error.get("message"), str):
        return ProbeResult("error body", True, f'HTTP {status} {{"error": {{"message": ...}}}}')
    return ProbeResult("error body", False, f"not the OpenAI shape: {_failed(s, status, text)}")


def _unknown_model(s: Server) -> ProbeResult:
    status, _, text = s.chat(model="agentkit-check-no-such-model")
    if status in (400, 404):
        return ProbeResult("unknown model", True, f"HTTP {status}", str(status))
    if status == 200:
        return ProbeResult("unknown model", True, "served anyway (one model loaded?)", "200")
    return ProbeResult("unknown model", False, _failed(s, status, text), str(status))


def models_probe(s: Server) -> tuple[ProbeResult, list[Any]]:
    try:
        response = s.http.get(s.url("/models"))
    except httpx.HTTPError as exc:
        return ProbeResult("models list", False, s.said(f"{type(exc).__name__}: {exc}")), []
    try:
        items = response.json().get("data")
    except (ValueError, AttributeError):
        items = None
    if response.status_code != 200 or not isinstance(items, list):
        return ProbeResult(
            "models list", False, _failed(s, response.status_code, response.text)
        ), []
    ids = [m.get("id") for m in items if isinstance(m, dict)]
    return ProbeResult("models list", True, s.said(", ".join(map(str, ids)) or "empty")), ids


def run_probes(s: Server) -> list[ProbeResult]:
    results = [_plain(s), _stream(s, False), _stream(s, True)]
    results += [_tool_call(s, False), _tool_call(s, True)]
    results += _round_trips(s)
    results += [_choice(s, kind) for kind in ("none", "required", "named")]
    results.append(
        _accepted(
            s,
            "parallel_tool_calls",
            lambda d: True,
            tools=[_TOOL],
            parallel_tool_calls=True,
        )
    )
    fmt = {"type": "json_object"}
    ask = [{"role": "user", "content": "Give the city Paris as a JSON object."}]
    results.append(_accepted(s, "json_object", _json_content, messages=ask, response_format=fmt))
    results.append(
        _accepted(
            s,
            "json_schema",
            lambda d: _json_content(d, "city"),
            messages=ask,
            response_format=_SCHEMA,
        )
    )
    results += [_image(s, "image"), _image(s, "image_url")]
    results += [_token_limit(s, "max_completion_tokens"), _token_limit(s, "max_tokens")]
    results += [_error_shape(s), _unknown_model(s)]
    return results
