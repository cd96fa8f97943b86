"""A scripted model at the HTTP level for the agent tests.

``Script(reply, reply, ...)`` is an ``httpx.MockTransport`` handler: each request gets the
next reply, as a wire-format JSON completion or, when the request asks for
``"stream": true``, as SSE chunks (content split in pieces, tool calls as ``index``-keyed
fragments whose arguments arrive in two parts). Request bodies are recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

from agentkit.agent import Agent
from agentkit.client import AsyncClient, Client
from agentkit.events import RunFinished, StreamEvent
from agentkit.result import RunResult

Reply = dict[str, Any] | httpx.Response | Callable[[dict[str, Any]], Any]

MODES = ["async", "sync", "async_stream", "sync_stream"]


def text(content: str | None, finish: str = "stop", usage: dict[str, int] | None = None) -> Any:
    """A reply with a final message."""
    return {
        "message": {"role": "assistant", "content": content},
        "finish_reason": finish,
        "usage": usage or {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def calls(*items: tuple[str, Any], ids: list[str] | None = None, content: str | None = None) -> Any:
    """A reply with tool calls (``(name, arguments)``; a str argument is sent as is)."""
    tool_calls = []
    for i, (name, args) in enumerate(items):
        tool_calls.append(
            {
                "id": ids[i] if ids else f"call_{name}_{i}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
        )
    message: dict[str, Any] = {"role": "assistant", "tool_calls": tool_calls}
    if content is not None:
        message["content"] = content
    return {
        "message": message,
        "finish_reason": "tool_calls",
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
    }


def sse_body(reply: dict[str, Any], *, with_index: bool = True) -> bytes:
    """The reply as SSE chunks (tool calls in fragments, usage in the last chunk)."""
    msg = reply["message"]
    chunks: list[dict[str, Any]] = [{"choices": [{"delta": {"role": "assistant"}}]}]
    content = msg.get("content")
    if content:
        half = max(1, len(content) // 2)
        for piece in (content[:half], content[half:]):
            if piece:
                chunks.append({"choices": [{"delta": {"content": piece}}]})
    for i, tc in enumerate(msg.get("tool_calls") or []):
        first: dict[str, Any] = {
            "id": tc["id"],
            "type": "function",
            "function": {"name": tc["function"]["name"], "arguments": ""},
        }
        args = tc["function"]["arguments"]
        half = len(args) // 2
        rest = [{"function": {"arguments": args[:half]}}, {"function": {"arguments": args[half:]}}]
        for frag in [first, *rest]:
            if with_index:
                frag = {"index": i, **frag}
            chunks.append({"choices": [{"delta": {"tool_calls": [frag]}}]})
    chunks.append({"choices": [{"delta": {}, "finish_reason": reply.get("finish_reason")}]})
    if reply.get("usage"):
        chunks.append({"choices": [], "usage": reply["usage"]})
    out = "".join(f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks)
    return (out + "data: [DONE]\n\n").encode()


class Script:
    """An httpx handler replaying scripted replies and recording request bodies."""

    def __init__(self, *replies: Reply, with_index: bool = True) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.with_index = with_index
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self._lock:
            self.requests.append(body)
            if not self.replies:
                return httpx.Response(
                    500, json={"error": {"message": "script exhausted", "type": "test"}}
                )
            reply = self.replies.pop(0)
        if callable(reply):
            reply = reply(body)
        if isinstance(reply, httpx.Response):
            return reply
        if body.get("stream"):
            return httpx.Response(
                200,
                headers={"content-type": "text/event-stream"},
                content=sse_body(reply, with_index=self.with_index),
            )
        choice = {
            "index": 0,
            "message": reply["message"],
            "finish_reason": reply.get("finish_reason"),
        }
        body_out: dict[str, Any] = {"object": "chat.completion", "choices": [choice]}
        if reply.get("usage"):
            body_out["usage"] = reply["usage"]
        return httpx.Response(200, json=body_out)

    def client(self, **kwargs: Any) -> Client:
        kwargs.setdefault("max_retries", 0)
        return Client(api_key="sk-test", transport=httpx.MockTransport(self), **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        kwargs.setdefault("max_retries", 0)
        return AsyncClient(api_key="sk-test", transport=httpx.MockTransport(self), **kwargs)


async def run_mode(
    agent: Agent[Any], mode: str, prompt: str | None = None, **kwargs: Any
) -> tuple[RunResult[Any], list[StreamEvent]]:
    """Run ``agent`` the way ``mode`` says; return the result and (streamed) the events.

    The sync modes run in a worker thread, since a test's event loop is running.
    """
    import asyncio

    if mode == "async":
        return await agent.run(prompt, **kwargs), []
    if mode == "async_stream":
        events = [e async for e in agent.stream(prompt, **kwargs)]
        assert isinstance(events[-1], RunFinished)
        return events[-1].result, events
    if mode == "sync":
        return await asyncio.to_thread(agent.run_sync, prompt, **kwargs), []

    def consume() -> list[StreamEvent]:
        return list(agent.stream_sync(prompt, **kwargs))

    events = await asyncio.to_thread(consume)
    assert isinstance(events[-1], RunFinished)
    return events[-1].result, events


def assert_valid_history(messages: list[dict[str, Any]]) -> None:
    """No system message; every assistant tool call answered right after it, once."""
    json.dumps(messages)
    open_ids: list[str] = []
    for m in messages:
        assert m["role"] in ("user", "assistant", "tool"), m
        if m["role"] == "tool":
            assert m["tool_call_id"] in open_ids, m
            open_ids.remove(m["tool_call_id"])
            continue
        assert not open_ids, f"unanswered tool calls {open_ids} before {m}"
        if m["role"] == "assistant":
            open_ids = [tc["id"] for tc in m.get("tool_calls", [])]
    assert not open_ids


def cancelled_messages(run: Any) -> Any:
    """The messages a cancelled run left in its ``agentkit.capture_run()`` block."""
    assert run.messages is not None, "the cancelled run recorded no messages"
    assert isinstance(run.error, BaseException)
    return run.messages
