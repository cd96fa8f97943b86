"""The provider emulator: a pure core (:meth:`Emulator.handle`) and its ASGI shell.

``Emulator.handle(method, path, headers, body)`` turns one HTTP request into a
:class:`~agentkit.testing._wire.Reply` without any I/O. The ASGI ``__call__`` below and
:class:`~agentkit.testing.transport.EmulatorTransport` only carry that reply over their
boundary (sleeping for latency, streaming chunks, dropping or cutting the connection).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from agentkit.errors import UserError
from agentkit.testing._faults import (
    Fault,
    FaultSpecError,
    FaultState,
    alter_message,
    alter_reply,
    parse_faults,
    replacement,
)
from agentkit.testing._model import Model
from agentkit.testing._replay import Cassette
from agentkit.testing._scenarios import Scenario, load_scenarios
from agentkit.testing._validate import chat_request_problem
from agentkit.testing._wire import (
    Reply,
    completion,
    count_tokens,
    error_reply,
    invalid_request,
    json_reply,
    stream_reply,
)

__all__ = ["FAULT_HEADER", "Emulator"]

FAULT_HEADER = "x-emulator-fault"
"""The request header that injects faults into one request (see the fault reference)."""

DEFAULT_MODEL = "gpt-5.4-mini"
_CHAT = "/v1/chat/completions"
_MODELS = "/v1/models"

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class DropConnection(Exception):
    """Raised inside the ASGI app to make the server close the connection mid-answer."""


class Emulator:
    """An offline stand-in for the provider's HTTP API, usable as an ASGI application.

    Args:
        api_keys: The keys accepted in ``Authorization: Bearer ...``; ``None`` accepts any
            non-empty key. Other requests get the documented 401 answer.
        scenarios: Scenario files, directories, dicts or :class:`Scenario` objects, tried in
            order before the generic policy.
        faults: Faults injected into every request (a spec string, a :class:`Fault`, or a
            list of either); use ``p=`` and ``count=`` to make them occasional.
        seed: Seed of the random generator behind ``p=`` faults (deterministic runs).
        models: The model ids ``GET /v1/models`` lists. Chat requests may name any model.
        cassette: A JSONL cassette to replay instead of emulating a model.
        cassette_fallback: On a cassette miss, emulate instead of answering 400.
        fault_header: Honour the ``x-emulator-fault`` request header.
        stream_usage: End streams with a chunk carrying usage.

    Raises:
        UserError: A malformed scenario, fault spec or cassette.
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        scenarios: Any = None,
        faults: str | Fault | Iterable[str | Fault] | None = None,
        seed: int | None = 0,
        models: Sequence[str] = (DEFAULT_MODEL,),
        cassette: str | os.PathLike[str] | None = None,
        cassette_fallback: bool = False,
        fault_header: bool = True,
        stream_usage: bool = True,
    ) -> None:
        self.api_keys = None if api_keys is None else frozenset(api_keys)
        self.scenarios: list[Scenario] = load_scenarios(scenarios)
        try:
            self.faults = tuple(parse_faults(faults))
        except FaultSpecError as exc:
            raise UserError(f"Emulator(faults=...): {exc}") from None
        self.models = tuple(models)
        self.cassette = Cassette(cassette) if cassette is not None else None
        self.cassette_fallback = cassette_fallback
        self.fault_header = fault_header
        self.stream_usage = stream_usage
        self.request_count = 0
        self._model = Model(self.scenarios)
        self._state = FaultState(seed)
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        keys = "any" if self.api_keys is None else f"{len(self.api_keys)} key(s)"
        return (
            f"Emulator(api_keys={keys}, scenarios={len(self.scenarios)}, faults={len(self.faults)})"
        )

    # -- the pure core -------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request. Never raises; any input that is not understood gets a 4xx.

        Args:
            method: The HTTP method.
            path: The URL path (a query string is ignored).
            headers: Request headers with lower-case names.
            body: The raw request body.
        """
        self.request_count += 1
        try:
            return self._handle(method.upper(), path.split("?", 1)[0], headers, body)
        except Exception as exc:  # the contract is "never a 500", whatever arrives
            return invalid_request(f"the emulator could not handle it ({type(exc).__name__})")

    def _handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        path = path.rstrip("/") or "/"
        if path in ("/", "/health"):
            return json_reply(200, {"status": "ok", "emulator": "agentkit"})
        if path != _CHAT and path != _MODELS and not path.startswith(_MODELS + "/"):
            return error_reply(404, f"Unknown path {path!r}.", "invalid_request_error", "not_found")
        denied = self._auth(headers.get("authorization", ""))
        if denied is not None:
            return denied
        try:
            faults = self._state.active(self.faults, "config")
            spec = headers.get(FAULT_HEADER) if self.fault_header else None
            if spec:
                faults += self._state.active(parse_faults(spec), f"header:{spec}")
        except FaultSpecError as exc:
            return invalid_request(f"header {FAULT_HEADER!r}: {exc}")
        if path == _CHAT:
            if method != "POST":
                return _method_not_allowed(method, path)
            return self._chat(body, faults)
        if method != "GET":
            return _method_not_allowed(method, path)
        return self._finish(self._models(path), faults)

    def _auth(self, authorization: str) -> Reply | None:
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() == "bearer" and key and (self.api_keys is None or key in self.api_keys):
            return None
        return error_reply(401, "Invalid API key.", "authentication_error", "invalid_api_key")

    def _models(self, path: str) -> Reply:
        def info(model: str) -> dict[str, Any]:
            return {"id": model, "object": "model", "created": 1780000000, "owned_by": "system"}

        if path == _MODELS:
            return json_reply(200, {"object": "list", "data": [info(m) for m in self.models]})
        wanted = path[len(_MODELS) + 1 :]
        if wanted in self.models:
            return json_reply(200, info(wanted))
        return error_reply(
            404, f"The model {wanted!r} does not exist.", "invalid_request_error", "model_not_found"
        )

    def _chat(self, raw: bytes, faults: list[Fault]) -> Reply:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return invalid_request("the body is not valid JSON")
        problem = chat_request_problem(body)
        if problem is not None:
            return self._finish(invalid_request(problem), faults)
        streaming = body.get("stream") is True
        if self.cassette is not None:
            recorded = self.cassette.lookup("POST", _CHAT, body)
            if recorded is not None:
                return self._finish(recorded, faults)
            if not self.cassette_fallback:
                return invalid_request("no recorded exchange in the cassette matches this request")
        number = next(self._ids)
        message, finish, extra, prompt_tokens = self._model.answer(
            body, f"call_emu_{number:06d}", faults
        )
        if extra:
            faults = faults + self._state.active(extra, f"scenario:{id(extra)}")
        replaced = replacement(faults)
        if replaced is not None:
            return self._finish(replaced, faults)
        finish = alter_message(message, finish, faults)
        answer = completion(body["model"], message, finish, None, f"chatcmpl-emu-{number:06d}")
        answer["usage"] = _usage(prompt_tokens, message)
        if any(f.kind == "empty-choices" for f in faults):
            answer["choices"] = []
        if streaming:
            options = body.get("stream_options") or {}
            usage = self.stream_usage or options.get("include_usage") is True
            return self._finish(stream_reply(answer, usage), faults)
        return self._finish(json_reply(200, answer), faults)

    def _finish(self, reply: Reply, faults: list[Fault]) -> Reply:
        if faults:
            replaced = replacement(faults)
            if replaced is not None and reply.status < 400:
                reply = replaced
            reply = alter_reply(reply, faults)
        return reply

    # -- the ASGI shell ------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope (``http``; ``lifespan`` is acknowledged)."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reply = self.handle(scope["method"], scope["path"], headers, b"".join(chunks))
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.drop:
            await _drop(send)
            return
        raw_headers = [(k.encode(), v.encode()) for k, v in reply.headers]
        if reply.chunks is None and not reply.cut:
            # the common case in one message, with a length: no chunked encoding
            raw_headers.append((b"content-length", str(len(reply.body)).encode()))
            await send(
                {"type": "http.response.start", "status": reply.status, "headers": raw_headers}
            )
            await send({"type": "http.response.body", "body": reply.body, "more_body": False})
            return
        await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
        for index, chunk in enumerate(reply.chunks if reply.chunks is not None else [reply.body]):
            if index and reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if reply.cut:
            if await _close_transport(send):
                return
            raise DropConnection("stream cut by an emulated fault")
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _close_transport(send: Send) -> bool:
    # ASGI has no "close the connection now". With uvicorn, ``send`` is a bound method of the
    # request cycle, which holds the socket transport; closing it makes the server see a
    # client that went away, so it neither answers 500 nor logs a traceback.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    for _ in range(3):  # let connection_lost run so the server marks the client gone
        await asyncio.sleep(0)
    return True


async def _drop(send: Send) -> None:
    if await _close_transport(send):
        return
    # Elsewhere: start a response and abort it, the closest ASGI allows.
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise DropConnection("connection dropped by an emulated fault")


def _method_not_allowed(method: str, path: str) -> Reply:
    return error_reply(
        405, f"Method {method} is not allowed on {path!r}.", "invalid_request_error", None
    )


def _usage(prompt_tokens: int, message: Mapping[str, Any]) -> dict[str, int]:
    completion_tokens = count_tokens(message.get("content") or "")
    for call in message.get("tool_calls") or []:
        completion_tokens += 4 + count_tokens(call["function"]["arguments"])
    completion_tokens = max(completion_tokens, 1)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
