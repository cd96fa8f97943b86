"""Shared pieces of the MCP tests: the example server over stdio and HTTP, a model script."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentkit import Agent, Client
from agentkit.mcp import MCPServer
from agentkit.result import RunResult
from agentkit.testing import ScriptedModel, tool_call

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mcp_server.py"
MODES = ("run", "run_sync", "stream", "stream_sync")


def stdio_server(**options: Any) -> MCPServer:
    """The example server, started as a subprocess on first use."""
    return MCPServer.stdio(sys.executable, [str(EXAMPLE)], **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_http(script: Path = EXAMPLE) -> Iterator[str]:
    """The example server (or another taking ``--http --port N``) over streamable HTTP in a
    subprocess; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), "--http", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the example MCP server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


def echo_model(name: str, arguments: dict[str, Any]) -> ScriptedModel:
    """A model that calls one tool, then answers with every tool result it got."""

    def script(body: dict[str, Any]) -> Any:
        messages = body["messages"]
        if messages[-1]["role"] == "tool":
            return "results: " + " | ".join(m["content"] for m in messages if m["role"] == "tool")
        return tool_call(name, arguments)

    return ScriptedModel(script)


def agent_for(model: ScriptedModel, *tools: Any) -> Agent[str]:
    return Agent(tools=list(tools), client=Client(api_key="k", transport=model))


def run_mode(agent: Agent[str], mode: str, prompt: str = "go") -> RunResult[str]:
    """One run of ``agent`` in ``mode``; async modes on a fresh event loop each time."""
    if mode == "run_sync":
        return agent.run_sync(prompt)
    if mode == "stream_sync":
        return _last(list(agent.stream_sync(prompt)))
    if mode == "run":
        return asyncio.run(agent.run(prompt))

    async def streamed() -> RunResult[str]:
        return _last([e async for e in agent.stream(prompt)])

    return asyncio.run(streamed())


def _last(events: list[Any]) -> RunResult[str]:
    assert events[-1].type == "run_finished"
    result: RunResult[str] = events[-1].result
    return result


def process_gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A killed child of ours stays a zombie until reaped; the SDK reaps it on close.
        time.sleep(0.05)
    return False
