"""An agent inside a small web service, with a streaming endpoint (pure ASGI, no framework).

Endpoints:

- ``GET /health`` -> ``{"status": "ok"}``
- ``POST /chat`` with ``{"message": "...", "history": [...]}`` -> ``{"output", "messages",
  "usage"}``; send ``messages`` back as ``history`` to continue the conversation.
- ``POST /chat/stream`` (same body) -> server-sent events as the run goes:
  ``event: text`` (``{"text"}``), ``event: tool_call`` (``{"name", "arguments"}``),
  ``event: tool_result`` (``{"name", "content", "is_error"}``), then ``event: done``
  (``{"output", "messages", "usage"}``) or ``event: error`` (``{"message"}``).

Run it (uvicorn comes with ``pip install 'agentkit[emulator]'``)::

    python examples/service.py                   # http://127.0.0.1:8000
    curl -N -X POST localhost:8000/chat/stream -d '{"message": "查询北京天气"}'

The agent is built once at start-up and shared by all requests (agents are immutable and
safe to share). Offline (no ``AGENTKIT_API_KEY``) it runs on the in-process emulator.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import asdict
from typing import Any

from weather_agent import SCENARIOS, build_agent

from agentkit import (
    Agent,
    AgentkitError,
    RunFinished,
    RunResult,
    TextDelta,
    ToolCallResult,
    ToolCallStarted,
)
from agentkit.testing import auto_client

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 1_000_000


class BadRequest(Exception):
    """The request body is not what the endpoint accepts."""


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("client disconnected")
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            raise BadRequest("body too large")
        if not message.get("more_body", False):
            return body


def _parse_chat(body: bytes) -> tuple[str, list[dict[str, Any]]]:
    try:
        data = json.loads(body)
    except ValueError:
        raise BadRequest("body must be JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        raise BadRequest('body must be {"message": "...", "history": [...]}')
    history = data.get("history") or []
    if not isinstance(history, list) or not all(isinstance(m, dict) for m in history):
        raise BadRequest("history must be a list of message objects")
    return data["message"], history


def _summary(result: RunResult[Any]) -> dict[str, Any]:
    return {"output": result.output, "messages": result.messages, "usage": asdict(result.usage)}


async def _send_json(send: Send, status: int, data: Any) -> None:
    body = json.dumps(data, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _events(
    agent: Agent[str], message: str, history: list[dict[str, Any]]
) -> AsyncIterator[bytes]:
    try:
        async for event in agent.stream(message, history=history):
            if isinstance(event, TextDelta):
                yield _sse("text", {"text": event.text})
            elif isinstance(event, ToolCallStarted):
                yield _sse("tool_call", {"name": event.name, "arguments": event.arguments})
            elif isinstance(event, ToolCallResult):
                yield _sse(
                    "tool_result",
                    {"name": event.name, "content": event.content, "is_error": event.is_error},
                )
            elif isinstance(event, RunFinished):
                yield _sse("done", _summary(event.result))
    except AgentkitError as exc:
        # The status line is already sent: report the failure in the stream itself.
        yield _sse("error", {"message": str(exc)})


def create_app(agent: Agent[str] | None = None) -> App:
    """The ASGI application; by default around the weather agent (offline without a key)."""
    shared = agent if agent is not None else build_agent(auto_client(scenarios=SCENARIOS))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        route = (scope["method"], scope["path"])
        if route == ("GET", "/health"):
            await _send_json(send, 200, {"status": "ok"})
            return
        if route not in (("POST", "/chat"), ("POST", "/chat/stream")):
            if scope["path"] in ("/health", "/chat", "/chat/stream"):
                await _send_json(send, 405, {"error": "method not allowed"})
            else:
                await _send_json(send, 404, {"error": "not found"})
            return
        try:
            message, history = _parse_chat(await _read_body(receive))
        except BadRequest as exc:
            await _send_json(send, 400, {"error": str(exc)})
            return
        if scope["path"] == "/chat":
            try:
                result = await shared.run(message, history=history)
            except AgentkitError as exc:
                await _send_json(send, 502, {"error": str(exc)})
                return
            await _send_json(send, 200, _summary(result))
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        async for chunk in _events(shared, message, history):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
