"""ScriptedModel: play the model from a list of responses or a function, for unit tests."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from agentkit.emulator.faults import Fault, alter_message, alter_reply, parse_faults, replacement
from agentkit.emulator.transport import ReplyTransport
from agentkit.emulator.wire import (
    SSE_HEADERS,
    Reply,
    completion,
    completion_chunks,
    count_tokens,
    dumps,
    json_reply,
    sse_chunks,
)
from agentkit.errors import UserError

__all__ = ["ScriptedModel", "ScriptedResponse", "ScriptedStep", "tool_call"]

ScriptedResponse = str | Mapping[str, Any] | Fault | BaseException | httpx.Response
"""One scripted answer:

- ``str``: the assistant's text content;
- ``{"tool_calls": [{"name", "arguments"[, "id"]}, ...][, "content": ...]}``: tool calls
  (``arguments`` a dict or a JSON text, sent as is, so it may be deliberately invalid);
- ``{"content": "..."}``: the assistant's text, like a ``str``;
- ``{"role": "assistant", ...}``: an assistant message in the wire format;
- in these three forms, ``"finish_reason"`` and ``"usage"`` keys, when given, replace the
  computed ones (``"stop"`` or ``"tool_calls"``, and a token estimate), e.g.
  ``{"content": "cut sho", "finish_reason": "length"}``;
- ``{"choices": [...], ...}``: a whole ``chat.completion`` body in the wire format;
- ``{"status": 429, "body": {...} | "text" | b"bytes", "headers": {...}}``: a raw HTTP answer;
- an ``httpx.Response``: served as is to httpx clients (a truncated SSE body, an HTML error
  page...); one built on a stream of your own (``stream=``) can be served only once;
- a :class:`Fault` or ``{"fault": "503;retry-after=0"}``: an injected fault. Faults that
  replace the answer (``429``, ``500``, ``html``, ``drop``...) use up one request; the others
  (``latency``, ``cut``, ``bad-args``, ``unknown-tool``...) apply to the next scripted
  response, which is served in the same request;
- an exception instance: raised by the transport (e.g. ``httpx.ConnectError``).
"""

ScriptedStep = ScriptedResponse | Callable[[dict[str, Any]], ScriptedResponse]
"""One item of a script list: a :data:`ScriptedResponse`, or a function called with the
decoded request body (outside the model's lock, so it may block or sleep) that returns the
:data:`ScriptedResponse` for that one request."""

_OVERRIDES = ("finish_reason", "usage")


def tool_call(
    name: str, arguments: Mapping[str, Any] | str | None = None, *, id: str | None = None
) -> dict[str, Any]:
    """Shorthand for a scripted response making one tool call.

    Example:
        >>> tool_call("get_weather", {"city": "北京"})["tool_calls"][0]["name"]
        'get_weather'
    """
    call: dict[str, Any] = {"name": name, "arguments": {} if arguments is None else arguments}
    if id is not None:
        call["id"] = id
    return {"tool_calls": [call]}


class ScriptedModel(ReplyTransport):
    """An httpx transport (sync and async) that answers chat requests from a script.

    Args:
        script: A sequence of :data:`ScriptedStep` served one per chat request, or a
            function ``f(request_body) -> ScriptedResponse`` called for every chat request.
        model: The model id used in answers and listed by ``GET /v1/models``.
        stream_tool_call_index: Whether streamed tool-call fragments carry their
            ``index`` key; ``False`` plays servers that leave it out, so the client has to
            tell calls apart by ``id`` and order.

    Attributes:
        requests: Every chat request body received, decoded, in order.

    A request with ``"stream": true`` gets the scripted completion as SSE chunks: the text
    in word-sized pieces, each tool call as a first fragment (``id``, name) followed by
    argument fragments, then the ``finish_reason`` chunk and a usage chunk. When the list is
    used up, the next request raises ``UserError``.

    Example:
        >>> model = ScriptedModel([tool_call("get_weather", {"city": "北京"}), "晴, 25°C"])
        >>> # Client(transport=model) ... then: model.requests[1]["messages"][-1]["role"] == "tool"
    """

    def __init__(
        self,
        script: Sequence[ScriptedStep] | Callable[[dict[str, Any]], ScriptedResponse],
        *,
        model: str = "gpt-5.4-mini",
        stream_tool_call_index: bool = True,
    ) -> None:
        self._function = script if callable(script) else None
        self._items: list[ScriptedStep] = list(script) if not callable(script) else []
        self.model = model
        self.stream_tool_call_index = stream_tool_call_index
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._cursor = 0

    @property
    def remaining(self) -> int:
        """How many scripted responses are still unused (0 for a function script)."""
        return len(self._items) - self._cursor

    def __repr__(self) -> str:
        return f"ScriptedModel(requests={len(self.requests)}, remaining={self.remaining})"

    def reply(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Record the request and answer it with the next scripted response.

        A scripted ``httpx.Response`` is read into the :class:`Reply` (the httpx transport
        methods hand it over untouched instead).
        """
        answer = self._serve(method, path, body)
        if isinstance(answer, httpx.Response):
            return Reply(answer.status_code, list(answer.headers.multi_items()), answer.read())
        return answer

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` for a sync ``httpx.Client``."""
        answer = self._serve(request.method, request.url.path, request.read())
        if isinstance(answer, httpx.Response):
            return _fresh(answer, request)
        return self._send_sync(request, answer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` for an ``httpx.AsyncClient``."""
        answer = self._serve(request.method, request.url.path, await request.aread())
        if isinstance(answer, httpx.Response):
            return _fresh(answer, request)
        return await self._send_async(request, answer)

    def _serve(self, method: str, path: str, body: bytes) -> Reply | httpx.Response:
        path = path.split("?", 1)[0].rstrip("/")
        if path.endswith("/models") and method.upper() == "GET":
            info = {
                "id": self.model,
                "object": "model",
                "created": 1780000000,
                "owned_by": "system",
            }
            return json_reply(200, {"object": "list", "data": [info]})
        request = _decode(body)
        with self._lock:
            number = len(self.requests)
            self.requests.append(request)
            function = self._function
            items = [function(request)] if function is not None else self._take(number)
        # A per-request function runs outside the lock: it may block (a slow server).
        items = [item(request) if callable(item) else item for item in items]
        faults: list[Fault] = []
        for item in items[:-1]:
            faults.extend(_as_faults(item))
        last = items[-1]
        if isinstance(last, BaseException):
            raise last
        if isinstance(last, httpx.Response):
            return last
        if _is_fault(last):
            faults.extend(_as_faults(last))
            reply = replacement(faults) or self._answer("", request, number, faults)
        else:
            reply = self._answer(last, request, number, faults)
        return alter_reply(reply, faults) if faults else reply

    def _take(self, number: int) -> list[ScriptedStep]:
        # Faults that only modify an answer (latency, cut...) are taken together with the
        # response they modify; anything else is one request's whole answer.
        taken: list[ScriptedStep] = []
        while True:
            if self._cursor >= len(self._items):
                raise UserError(
                    f"ScriptedModel has no response left for request #{number + 1} "
                    f"({len(self._items)} scripted)"
                )
            item = self._items[self._cursor]
            self._cursor += 1
            taken.append(item)
            faults = _as_faults(item)
            if not faults or replacement(faults) is not None:
                return taken

    def _answer(
        self, item: Any, request: dict[str, Any], number: int, faults: list[Fault]
    ) -> Reply:
        if isinstance(item, Mapping) and "status" in item:
            headers = [(str(k).lower(), str(v)) for k, v in (item.get("headers") or {}).items()]
            raw = item.get("body")
            if isinstance(raw, (str, bytes)):
                data = raw.encode() if isinstance(raw, str) else raw
                return Reply(int(item["status"]), headers or [("content-type", "text/plain")], data)
            return json_reply(int(item["status"]), raw, headers)
        if isinstance(item, Mapping) and "choices" in item:
            body = dict(item)
        else:
            message = self._message(item, number)
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            given = item if isinstance(item, Mapping) else {}
            finish = str(given.get("finish_reason") or finish)
            if faults:  # bad-args, unknown-tool, length...: on a copy, the script stays intact
                message = copy.deepcopy(message)
                finish = alter_message(message, finish, faults)
            prompt = sum(
                count_tokens(str(m.get("content") or "")) + 4
                for m in request.get("messages") or []
                if isinstance(m, dict)
            )
            out = count_tokens(str(message.get("content") or "")) + 1
            usage = given.get("usage") or {
                "prompt_tokens": prompt,
                "completion_tokens": out,
                "total_tokens": prompt + out,
            }
            body = completion(
                str(request.get("model") or self.model),
                message,
                finish,
                usage,
                f"chatcmpl-scripted-{number + 1:04d}",
            )
        if any(f.kind == "empty-choices" for f in faults):
            body["choices"] = []
        if request.get("stream") is True:
            return self._stream(body)
        return json_reply(200, body)

    def _stream(self, body: Mapping[str, Any]) -> Reply:
        chunks = completion_chunks(body)
        if not self.stream_tool_call_index:
            for chunk in chunks:
                for choice in chunk.get("choices") or ():
                    for fragment in choice["delta"].get("tool_calls") or ():
                        fragment.pop("index", None)
        return Reply(200, list(SSE_HEADERS), chunks=sse_chunks(chunks))

    def _message(self, item: Any, number: int) -> dict[str, Any]:
        if isinstance(item, str):
            return {"role": "assistant", "content": item}
        if not isinstance(item, Mapping):
            raise UserError(f"cannot script a response from {type(item).__name__}")
        if item.get("role") == "assistant":
            return {k: v for k, v in item.items() if k not in _OVERRIDES}
        if "tool_calls" in item:
            calls = []
            for i, spec in enumerate(item["tool_calls"]):
                arguments = spec.get("arguments", {})
                calls.append(
                    {
                        "id": spec.get("id") or f"call_scripted_{number + 1}_{i}",
                        "type": "function",
                        "function": {
                            "name": spec["name"],
                            "arguments": arguments
                            if isinstance(arguments, str)
                            else dumps(arguments),
                        },
                    }
                )
            return {"role": "assistant", "content": item.get("content"), "tool_calls": calls}
        if "content" in item:
            return {"role": "assistant", "content": item["content"]}
        raise UserError(f"cannot script a response from the keys {sorted(item)}")


def _fresh(response: httpx.Response, request: httpx.Request) -> httpx.Response:
    # A client takes over the stream of the response it is given, so a scripted response
    # with a body is served as a copy: the same object may be scripted again, sync or async.
    # A response built on a stream of its own is handed over as is, once.
    if not isinstance(response.stream, httpx.ByteStream):
        return response
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=response.content,
        request=request,
    )


def _decode(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body) if body else None
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        return {"_raw": body.decode("utf-8", "replace")}
    return decoded


def _is_fault(item: Any) -> bool:
    return isinstance(item, Fault) or (isinstance(item, Mapping) and "fault" in item)


def _as_faults(item: Any) -> list[Fault]:
    if isinstance(item, Fault):
        return [item]
    if isinstance(item, Mapping) and "fault" in item:
        return parse_faults(str(item["fault"]))
    return []
