"""Shared helpers of the reliability, security and load tests: one emulator on loopback.

The emulator is served by uvicorn in a background thread of the test process, on a free
127.0.0.1 port, once per test session (``shared_server``). Faults are injected per client
with the ``x-emulator-fault`` header; ``fault_headers`` makes each spec unique so that
``count=`` budgets are never shared between tests.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from agentkit.agent import Agent
from agentkit.client import AsyncClient, Client
from agentkit.errors import AgentkitError
from agentkit.messages import Message
from agentkit.result import RunResult
from agentkit.testing import FAULT_HEADER, EmulatorServer
from agentkit.tool import Tool, tool

KEY = "sk-reliability-SECRET-0123456789abcdef"
Mode = Literal["run", "run_sync", "stream", "stream_sync"]
MODES: tuple[Mode, ...] = ("run", "run_sync", "stream", "stream_sync")
STREAMED: tuple[Mode, ...] = ("stream", "stream_sync")
NOT_STREAMED: tuple[Mode, ...] = ("run", "run_sync")

_server: EmulatorServer | None = None
_lock = threading.Lock()
_unique = itertools.count(1)


def shared_server() -> EmulatorServer:
    """The session's emulator server (started on first use, stopped at exit)."""
    global _server
    with _lock:
        if _server is None:
            _server = EmulatorServer(host="127.0.0.1", port=0).start()
            atexit.register(_server.stop)
        return _server


def fault_headers(spec: str | None) -> dict[str, str]:
    """Headers injecting ``spec`` into every request, with ``count=`` budgets of their own.

    A zero latency fault carrying a unique token makes the spec unique: the emulator counts
    ``count=`` per distinct spec string.
    """
    if not spec:
        return {}
    return {FAULT_HEADER: f"{spec}, latency=0;message=t{next(_unique)}"}


@dataclass
class Weather:
    """A tool that counts its calls."""

    calls: list[str] = field(default_factory=list)

    def tool(self) -> Tool[Any, Any]:
        calls = self.calls

        @tool
        def get_weather(city: str) -> dict[str, Any]:
            """Get the current weather of a city.

            Args:
                city: The city.
            """
            calls.append(city)
            return {"city": city, "temp": 25}

        return get_weather


PROMPT = "What is the weather in Paris?"


@dataclass
class Rig:
    """An agent on a fresh client for one mode, with the retry sleeps recorded."""

    mode: Mode
    agent: Agent[str]
    client: Client | AsyncClient
    sleeps: list[float]

    def run(self, prompt: str | None = PROMPT, history: Sequence[Message] | None = None) -> Any:
        """Run the agent in this rig's mode; returns the ``RunResult``."""
        agent = self.agent
        if self.mode == "run_sync":
            return agent.run_sync(prompt, history=history)
        if self.mode == "stream_sync":
            events = list(agent.stream_sync(prompt, history=history))
            return events[-1].result  # type: ignore[union-attr]
        client = self.client
        assert isinstance(client, AsyncClient)

        async def go() -> RunResult[str]:
            try:
                if self.mode == "run":
                    return await agent.run(prompt, history=history)
                events = [e async for e in agent.stream(prompt, history=history)]
                return events[-1].result  # type: ignore[union-attr]
            finally:
                await client.aclose()

        return asyncio.run(go())

    def close(self) -> None:
        """Close a sync client (async ones are closed by ``run``)."""
        if isinstance(self.client, Client):
            self.client.close()


def make_client(
    mode: Mode,
    spec: str | None = None,
    *,
    base_url: str | None = None,
    max_retries: int = 2,
    timeout: float = 10.0,
    sleeps: list[float] | None = None,
) -> Client | AsyncClient:
    """A client of the right kind for ``mode`` with retry sleeps recorded, not slept."""
    url = base_url or shared_server().base_url
    record = sleeps if sleeps is not None else []
    headers = fault_headers(spec)
    if mode in ("run_sync", "stream_sync"):
        c = Client(
            KEY,
            url,
            max_retries=max_retries,
            timeout=timeout,
            default_headers=headers,
        )
        c._sleep = record.append  # retries are the point, not the waiting
        return c
    a = AsyncClient(KEY, url, max_retries=max_retries, timeout=timeout, default_headers=headers)

    async def no_sleep(delay: float) -> None:
        record.append(delay)

    a._sleep = no_sleep
    return a


def rig(
    mode: Mode,
    spec: str | None = None,
    *,
    tools: Sequence[Tool[Any, Any]] = (),
    base_url: str | None = None,
    max_retries: int = 2,
    timeout: float = 10.0,
    **agent_options: Any,
) -> Rig:
    """An agent with ``tools`` whose every request carries the fault ``spec``."""
    sleeps: list[float] = []
    client = make_client(
        mode, spec, base_url=base_url, max_retries=max_retries, timeout=timeout, sleeps=sleeps
    )
    agent: Agent[str] = Agent(tools=tools, client=client, **agent_options)
    return Rig(mode, agent, client, sleeps)


def assert_valid_history(messages: list[Message]) -> None:
    """``messages`` is a history the server accepts as is, and a next run continues it.

    First sent raw (no repair) to the emulator, which answers 400 on an orphan tool call
    or a tool result answering no call; then a fresh agent run with ``history=`` must
    succeed and keep the history unchanged at its start.
    """
    assert messages, "an empty history"
    server = shared_server()
    body = {
        "model": "gpt-5.4-mini",
        "messages": [*messages, {"role": "user", "content": "Thanks. Anything else?"}],
    }
    with httpx.Client(timeout=10) as http:
        r = http.post(
            server.base_url + "/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert r.status_code == 200, r.text
    with Client(KEY, server.base_url, timeout=10) as client:
        follow = Agent(tools=[Weather().tool()], client=client)
        result = follow.run_sync("And in Rome?", history=messages)
    assert result.messages[: len(messages)] == messages
    assert isinstance(result.output, str) and result.output


def error_messages(exc: BaseException) -> list[Message]:
    """The ``.messages`` an error carries out of a run."""
    if isinstance(exc, asyncio.CancelledError) and not hasattr(exc, "messages"):
        # Python 3.10 hands the awaiter a fresh CancelledError chained to the task's own.
        exc = exc.__context__ or exc
    messages = getattr(exc, "messages", None)
    assert isinstance(messages, list), f"{type(exc).__name__} carries no messages"
    if isinstance(exc, AgentkitError):
        assert messages is exc.messages
    return messages


def active_connections(client: Client | AsyncClient) -> list[Any]:
    """The pooled connections of ``client`` that are busy with a request (not idle/closed)."""
    transport: Any = client._http._transport
    return [c for c in transport._pool.connections if not (c.is_idle() or c.is_closed())]
