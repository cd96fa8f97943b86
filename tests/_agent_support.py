"""Shared pieces of the agent tests: reply shorthands for ``ScriptedModel``, run modes.

``text(...)`` and ``calls(...)`` build :data:`agentkit.testing.ScriptedResponse` values with
fixed usage figures (so tests can assert on token sums); ``client_for(model)`` and
``async_client_for(model)`` put a :class:`agentkit.testing.ScriptedModel` behind a client.
"""

from __future__ import annotations

import json
from typing import Any

from agentkit.agent import Agent
from agentkit.client import AsyncClient, Client
from agentkit.events import RunFinished, StreamEvent
from agentkit.result import RunResult
from agentkit.testing import ScriptedModel

MODES = ["async", "sync", "async_stream", "sync_stream"]


def text(content: str | None, finish: str = "stop", usage: dict[str, int] | None = None) -> Any:
    """A reply with a final message."""
    return {
        "content": content,
        "finish_reason": finish,
        "usage": usage or {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def calls(*items: tuple[str, Any], ids: list[str] | None = None, content: str | None = None) -> Any:
    """A reply with tool calls (``(name, arguments)``; a str argument is sent as is)."""
    return {
        "tool_calls": [
            {"id": ids[i] if ids else f"call_{name}_{i}", "name": name, "arguments": args}
            for i, (name, args) in enumerate(items)
        ],
        "content": content,
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
    }


def client_for(model: ScriptedModel, **kwargs: Any) -> Client:
    """A sync client talking to ``model`` (no retries unless asked)."""
    kwargs.setdefault("max_retries", 0)
    return Client(api_key="sk-test", transport=model, **kwargs)


def async_client_for(model: ScriptedModel, **kwargs: Any) -> AsyncClient:
    """An async client talking to ``model`` (no retries unless asked)."""
    kwargs.setdefault("max_retries", 0)
    return AsyncClient(api_key="sk-test", transport=model, **kwargs)


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
