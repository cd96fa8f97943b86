"""The provider emulator's pure core: :meth:`Emulator.handle` turns one HTTP request into a
:class:`~agentkit.emulator.wire.Reply` without any I/O.

The ASGI shell (:mod:`agentkit.emulator.asgi`, behind ``Emulator.__call__``) and
:class:`~agentkit.emulator.transport.EmulatorTransport` only carry that reply over their
boundary (sleeping for latency, streaming chunks, dropping or cutting the connection).
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentkit.emulator.asgi import Receive, Scope, Send, serve_asgi
from agentkit.emulator.checks import model_reply, quirk_reply
from agentkit.emulator.faults import (
    Fault,
    FaultSpecError,
    FaultState,
    alter_message,
    alter_reply,
    parse_faults,
    replacement,
)
from agentkit.emulator.model import Model
from agentkit.emulator.quirks import Quirks, resolve_quirks
from agentkit.emulator.replay import Cassette
from agentkit.emulator.scenarios import Scenario, load_scenarios
from agentkit.emulator.text_calls import calls_as_text
from agentkit.emulator.validate import chat_request_problem
from agentkit.emulator.wire import (
    Reply,
    bare_completion,
    completion,
    count_tokens,
    error_reply,
    invalid_request,
    json_reply,
    stream_reply,
)
from agentkit.errors import UserError

__all__ = ["DEFAULT_MODEL", "FAULT_HEADER", "Emulator"]

FAULT_HEADER = "x-emulator-fault"
"""The request header that injects faults into one request (see the fault reference)."""

DEFAULT_MODEL = "gpt-5.4-mini"
"""The model the emulator lists and serves by default (the provider's only model)."""

_CHAT = "/v1/chat/completions"
_MODELS = "/v1/models"


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
        models: The model ids ``GET /v1/models`` lists and chat requests may name.
        strict_models: Answer a chat request for a model not in ``models`` with the
            provider's documented 400 ``invalid_request_error`` (a 404 ``model_not_found``
            under the ``openai``/``vllm``/``ollama`` quirks). ``None`` (default): as the
            quirks say (strict except under ``llama.cpp``); ``False`` serves any name.
        cassette: A JSONL cassette to replay instead of emulating a model.
        cassette_fallback: On a cassette miss, emulate instead of answering 400.
        fault_header: Honour the ``x-emulator-fault`` request header.
        stream_usage: ``True``: end every stream with a usage chunk, asked for or not (the
            old behaviour); ``None``/``False``: as the quirks say (by default only when the
            request has ``stream_options: {"include_usage": true}``, OpenAI's rule).
        quirks: A preset name (``"llama.cpp"``, ``"openai"``...; see
            :mod:`agentkit.emulator.quirks`) or a :class:`Quirks` object: behave like that
            server family.
        record_requests: Keep every chat request body in :attr:`requests` (turn it off
            for long-running servers).

    Attributes:
        requests: The chat request bodies received, decoded, in order (also the invalid
            ones, as long as they were JSON objects).
        request_count: How many HTTP requests were handled.

    Raises:
        UserError: A malformed scenario, fault spec, cassette, or unknown quirks name.
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        scenarios: Any = None,
        faults: str | Fault | Iterable[str | Fault] | None = None,
        seed: int | None = 0,
        models: Sequence[str] = (DEFAULT_MODEL,),
        strict_models: bool | None = None,
        cassette: str | os.PathLike[str] | None = None,
        cassette_fallback: bool = False,
        fault_header: bool = True,
        stream_usage: bool | None = None,
        quirks: str | Quirks | None = None,
        record_requests: bool = True,
    ) -> None:
        self.api_keys = None if api_keys is None else frozenset(api_keys)
        self.scenarios: list[Scenario] = load_scenarios(scenarios)
        try:
            self.faults = tuple(parse_faults(faults))
        except FaultSpecError as exc:
            raise UserError(f"Emulator(faults=...): {exc}") from None
        self.models = tuple(models)
        self.quirks = resolve_quirks(quirks)
        status = self.quirks.unknown_model_status
        if strict_models is False:
            status = None
        elif strict_models is True and status is None:
            status = 400
        self._unknown_model_status = status
        self.cassette = Cassette(cassette) if cassette is not None else None
        self.cassette_fallback = cassette_fallback
        self.fault_header = fault_header
        self.stream_usage = stream_usage
        self.record_requests = record_requests
        self.requests: list[dict[str, Any]] = []
        self.request_count = 0
        self._model = Model(self.scenarios)
        self._state = FaultState(seed)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        keys = "any" if self.api_keys is None else f"{len(self.api_keys)} key(s)"
        return (
            f"Emulator(api_keys={keys}, scenarios={len(self.scenarios)}, "
            f"faults={len(self.faults)}, quirks={self.quirks.name!r})"
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
        if self.record_requests and isinstance(body, dict):
            with self._lock:
                self.requests.append(body)
        problem = chat_request_problem(body)
        refused = invalid_request(problem) if problem is not None else None
        if refused is None:
            refused = model_reply(body["model"], self.models, self._unknown_model_status)
        if refused is None:
            refused = quirk_reply(body, self.quirks)
        if refused is not None:
            return self._finish(refused, faults)
        if self.cassette is not None:
            recorded = self.cassette.lookup("POST", _CHAT, body)
            if recorded is not None:
                return self._finish(recorded, faults)
            if not self.cassette_fallback:
                return invalid_request("no recorded exchange in the cassette matches this request")
        return self._emulate(body, faults)

    def _emulate(self, body: dict[str, Any], faults: list[Fault]) -> Reply:
        number = next(self._ids)
        quirks = self.quirks
        if _forced_and_ignored(body.get("tool_choice"), quirks):
            body = {**body, "tool_choice": "none"}  # the server did not enforce the choice
        message, finish, extra, prompt_tokens = self._model.answer(
            body, f"call_emu_{number:06d}", faults, quirks.token_limits
        )
        if extra:
            faults = faults + self._state.active(extra, f"scenario:{id(extra)}")
        replaced = replacement(faults)
        if replaced is not None:
            return self._finish(replaced, faults)
        finish = alter_message(message, finish, faults)
        if quirks.text_tool_calls and message.get("tool_calls"):
            style = quirks.text_tool_calls[(number - 1) % len(quirks.text_tool_calls)]
            message = {"role": "assistant", "content": calls_as_text(message["tool_calls"], style)}
            finish = "stop"
        answer = completion(body["model"], message, finish, None, f"chatcmpl-emu-{number:06d}")
        answer["usage"] = _usage(prompt_tokens, message)
        if any(f.kind == "empty-choices" for f in faults):
            answer["choices"] = []
        if quirks.bare_answers:
            answer = bare_completion(answer)
        if body.get("stream") is True:
            reply = stream_reply(
                answer, self._stream_usage(body), quirks.whole_tool_call_chunks, quirks.bare_answers
            )
            return self._finish(reply, faults)
        return self._finish(json_reply(200, answer), faults)

    def _stream_usage(self, body: Mapping[str, Any]) -> bool:
        options = body.get("stream_options")
        asked = isinstance(options, dict) and options.get("include_usage") is True
        mode = "always" if self.stream_usage else self.quirks.stream_usage
        return mode == "always" or (mode == "requested" and asked)

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
        await serve_asgi(self.handle, scope, receive, send)


def emulator_from(emulator: Emulator | None, options: Mapping[str, Any], where: str) -> Emulator:
    """``emulator``, or a new one built from ``options``; both given is a ``UserError`` (the
    options would be silently ignored)."""
    if emulator is None:
        return Emulator(**options)
    if options:
        names = ", ".join(sorted(options))
        raise UserError(f"{where}: give either an emulator or Emulator options ({names}), not both")
    return emulator


def _forced_and_ignored(choice: Any, quirks: Quirks) -> bool:
    if choice == "required":
        return quirks.required_tool_choice == "ignored"
    return isinstance(choice, dict) and quirks.named_tool_choice == "ignored"


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
