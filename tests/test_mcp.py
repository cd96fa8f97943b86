"""MCP servers as tool sources, against the example server (``examples/mcp_server.py``)
started by the tests: over stdio (a subprocess) and over streamable HTTP (loopback)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit import Tool, UserError, tool
from agentkit.mcp import MCPError, MCPServer
from tests._mcp_support import (
    MODES,
    agent_for,
    echo_model,
    process_gone,
    run_mode,
    serve_http,
    stdio_server,
)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    yield from serve_http()


@pytest.fixture(scope="module")
def shared_stdio() -> Iterator[MCPServer]:
    server = stdio_server()
    yield server
    server.close()


@pytest.fixture(scope="module")
def shared_http(http_url: str) -> Iterator[MCPServer]:
    server = MCPServer.http(http_url)
    yield server
    server.close()


@pytest.fixture(params=["stdio", "http"])
def shared(request: pytest.FixtureRequest) -> MCPServer:
    server: MCPServer = request.getfixturevalue(f"shared_{request.param}")
    return server


@tool
def shout(text: str) -> str:
    """Say it louder.

    Args:
        text: What to say.
    """
    return text.upper()


def _pid(server: MCPServer) -> int:
    tools = {t.name: t for t in server.list_tools_sync()}
    return int(json.loads(tools["pid"].call_sync("{}")))


async def _apid(server: MCPServer) -> int:
    tools = {t.name: t for t in await server.list_tools()}
    return int(json.loads(await tools["pid"].call("{}")))


# ---------------------------------------------------------------- runs in all four modes


@pytest.mark.parametrize("mode", MODES)
def test_an_mcp_tool_in_every_run_mode(shared: MCPServer, mode: str) -> None:
    model = echo_model("add", {"a": 2, "b": 3})
    agent = agent_for(model, shout, shared)
    result = run_mode(agent, mode)
    assert result.output == "results: 5"
    assert result.tool_failures == []
    sent = {t["function"]["name"]: t["function"] for t in model.requests[0]["tools"]}
    assert set(sent) >= {"shout", "add", "read_note", "unlock"}
    # The server's schema goes to the model as it is, and not as strict.
    assert sent["add"]["parameters"]["properties"]["a"] == {"title": "A", "type": "integer"}
    assert "strict" not in sent["add"]


def test_the_server_survives_across_runs_and_event_loops(shared: MCPServer) -> None:
    pid = _pid(shared)
    run_mode(agent_for(echo_model("write_note", {"name": "n", "text": "kept"}), shared), "run")
    result = run_mode(agent_for(echo_model("read_note", {"name": "n"}), shared), "stream_sync")
    assert result.output == "results: kept"
    assert _pid(shared) == pid


# ---------------------------------------------------------------- failures of tools


@pytest.mark.parametrize("mode", ["run", "run_sync"])
def test_an_mcp_tool_error_is_a_tool_failure(shared: MCPServer, mode: str) -> None:
    result = run_mode(agent_for(echo_model("fail", {"message": "disk full"}), shared), mode)
    assert result.output.startswith("results: The tool failed")
    [failure] = result.tool_failures
    assert failure.tool_name == "fail"
    assert failure.error_type == "MCPToolError"
    assert "disk full" in failure.error


@pytest.mark.parametrize("mode", ["run", "run_sync"])
def test_a_slow_tool_past_its_timeout(mode: str) -> None:
    server = stdio_server(timeout={"slow": 0.5})
    try:
        tools = {t.name: t for t in server.list_tools_sync()}
        assert tools["slow"].timeout == 0.5 and tools["add"].timeout is None
        started = time.monotonic()
        result = run_mode(agent_for(echo_model("slow", {"seconds": 30}), server), mode)
        assert time.monotonic() - started < 5
        [failure] = result.tool_failures
        assert failure.error_type == "TimeoutError"
        # The server is still usable afterwards.
        result = run_mode(agent_for(echo_model("add", {"a": 1, "b": 1}), server), mode)
        assert result.output == "results: 2"
    finally:
        server.close()


def test_a_server_killed_mid_call_fails_the_call_and_is_restarted() -> None:
    server = stdio_server()
    try:
        pid = _pid(server)
        killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
        killer.start()
        result = run_mode(agent_for(echo_model("slow", {"seconds": 30}), server), "run_sync")
        killer.join()
        [failure] = result.tool_failures
        assert failure.error_type == "MCPToolError"
        assert "lost" in failure.error
        # Next use: a new server process answers.
        result = run_mode(agent_for(echo_model("add", {"a": 4, "b": 4}), server), "run")
        assert result.output == "results: 8"
        assert _pid(server) != pid
    finally:
        server.close()


# ---------------------------------------------------------------- the tool list


def test_a_changed_tool_list_is_picked_up() -> None:
    server = stdio_server()
    try:
        names = {t.name for t in server.list_tools_sync()}
        assert "secret" not in names
        result = run_mode(agent_for(echo_model("unlock", {}), server), "run")
        assert result.output == "results: unlocked"
        deadline = time.monotonic() + 10
        while "secret" not in {t.name for t in server.list_tools_sync()}:
            assert time.monotonic() < deadline, "tools/list_changed was not honoured"
            time.sleep(0.05)
        result = run_mode(agent_for(echo_model("secret", {}), server), "run_sync")
        assert result.output == "results: 42"
    finally:
        server.close()


def test_refresh_tools_fetches_again(shared_stdio: MCPServer) -> None:
    first = shared_stdio.list_tools_sync()
    assert shared_stdio.list_tools_sync()[0] is first[0]  # cached
    refreshed = asyncio.run(shared_stdio.refresh_tools())
    assert [t.name for t in refreshed] == [t.name for t in first]
    assert refreshed[0] is not first[0]


def test_allow_deny_and_prefix(http_url: str) -> None:
    server = MCPServer.http(http_url, prefix="ex", allow=["*_note", "add"], deny=["write_*"])
    try:
        names = sorted(t.name for t in server.list_tools_sync())
        assert names == ["ex_add", "ex_read_note"]
        model = echo_model("ex_add", {"a": 20, "b": 22})
        assert run_mode(agent_for(model, server), "run").output == "results: 42"
    finally:
        server.close()


def test_timeouts_and_approval_end_up_on_the_tools() -> None:
    def ask(**_: object) -> bool:
        return True

    server = stdio_server(timeout=3.0, needs_approval={"write_*": ask, "fail": True})
    try:
        tools = {t.name: t for t in server.list_tools_sync()}
        assert {t.timeout for t in tools.values()} == {3.0}
        assert tools["write_note"].needs_approval is ask
        assert tools["fail"].needs_approval is True
        assert tools["add"].needs_approval is False
    finally:
        server.close()


def test_a_name_clash_across_sources_names_both(shared_stdio: MCPServer, http_url: str) -> None:
    other = MCPServer.http(http_url)
    try:
        with pytest.raises(UserError, match=r"'add'.*examples/mcp_server\.py.*127\.0\.0\.1"):
            agent_for(echo_model("add", {}), shared_stdio, other).run_sync("go")

        @tool
        def add(a: int, b: int) -> int:
            """Add.

            Args:
                a: One.
                b: Two.
            """
            return a + b

        with pytest.raises(UserError, match=r"'add'.*the agent's tools"):
            agent_for(echo_model("add", {}), add, shared_stdio).run_sync("go")
    finally:
        other.close()


def _names_seen(remote: list[str], prefix: str | None = None) -> dict[str, str]:
    """Server-side name -> the name the model sees, as a server listing ``remote`` gives."""
    import mcp.types as mt

    server = MCPServer.stdio(sys.executable, ["-c", "pass"], name="odd", prefix=prefix)
    listed = [mt.Tool(name=n, inputSchema={"type": "object"}) for n in remote]
    # The handler is named after the server-side tool it calls.
    return {t._func.__name__[4:]: t.name for t in server._build_tools(listed)}


def test_names_that_clash_within_one_server_are_told_apart_by_a_stable_suffix() -> None:
    names = _names_seen(["get.weather", "get_weather", "other"])
    assert names == {"get.weather": "get_weather_f65d43", "get_weather": "get_weather",
                     "other": "other"}  # fmt: skip
    # The suffix depends on the tool's own name, not on the listing order.
    assert _names_seen(["get_weather", "get.weather"]) == {
        "get_weather": "get_weather",
        "get.weather": "get_weather_f65d43",
    }
    # With a prefix, the tool whose prefixed name needed no change keeps it.
    prefixed = _names_seen(["get.weather", "get_weather"], prefix="w")
    assert prefixed == {"get.weather": "w_get_weather_f65d43", "get_weather": "w_get_weather"}


def test_names_cut_to_64_characters_that_clash_both_get_a_suffix() -> None:
    long_a, long_b = "a" * 70 + "_one", "a" * 70 + "_two"
    names = _names_seen([long_a, long_b])
    assert len(set(names.values())) == 2
    assert all(len(n) == 64 and n.startswith("a" * 57 + "_") for n in names.values())


def test_a_clash_left_after_the_suffix_names_both_tools_and_the_server() -> None:
    with pytest.raises(UserError) as info:
        _names_seen(["get.weather", "get_weather", "get_weather_f65d43"])
    message = str(info.value)
    assert "'odd'" in message and "'get.weather'" in message
    assert "'get_weather_f65d43'" in message and "deny=" in message
    assert "prefix=" not in message


def test_a_source_giving_two_tools_one_name_is_told_so() -> None:
    class Twice:
        source_name = "twice"
        on_error = "raise"

        def _tools(self) -> list[Any]:
            schema = {"type": "object", "properties": {}}
            return [Tool.from_schema("t", "T.", schema, lambda: "x") for _ in range(2)]

        async def list_tools(self) -> list[Any]:
            return self._tools()

        def list_tools_sync(self) -> list[Any]:
            return self._tools()

        async def aclose(self) -> None:
            pass

        def close(self) -> None:
            pass

    with pytest.raises(UserError) as info:
        agent_for(echo_model("t", {}), Twice()).run_sync("go")
    message = str(info.value)
    assert "tool source 'twice' gives two tools named 't'" in message
    assert "prefix=" not in message


# ---------------------------------------------------------------- concurrency


def test_concurrent_runs_share_one_server(shared: MCPServer) -> None:
    pid = _pid(shared)

    async def many() -> list[str]:
        runs = [agent_for(echo_model("add", {"a": i, "b": i}), shared).run("go") for i in range(8)]
        return [r.output for r in await asyncio.gather(*runs)]

    outputs: dict[int, str] = {}

    def in_thread(i: int) -> None:
        outputs[i] = agent_for(echo_model("add", {"a": i, "b": 100}), shared).run_sync("go").output

    threads = [threading.Thread(target=in_thread, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    assert asyncio.run(many()) == [f"results: {2 * i}" for i in range(8)]
    for t in threads:
        t.join()
    assert outputs == {i: f"results: {i + 100}" for i in range(4)}
    assert _pid(shared) == pid


# ---------------------------------------------------------------- starting and stopping


@pytest.mark.parametrize("mode", ["run", "run_sync"])
def test_a_server_that_fails_to_start(mode: str) -> None:
    broken = MCPServer.stdio(sys.executable, ["-c", "import sys; sys.exit(3)"], name="broken")
    with pytest.raises(MCPError, match="MCP server 'broken' failed to start"):
        run_mode(agent_for(echo_model("shout", {"text": "hi"}), shout, broken), mode)


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_server_with_on_error_skip_is_left_out(mode: str) -> None:
    missing = MCPServer.stdio("/nonexistent/mcp-server", on_error="skip", name="gone")
    model = echo_model("shout", {"text": "hi"})
    result = run_mode(agent_for(model, shout, missing), mode)
    assert result.output == "results: HI"
    [note] = result.notes
    assert "'gone'" in note and "left out" in note
    assert [t["function"]["name"] for t in model.requests[0]["tools"]] == ["shout"]


def test_agent_aclose_closes_the_servers_it_started() -> None:
    server = stdio_server()
    agent = agent_for(echo_model("add", {"a": 1, "b": 2}), server)

    async def main() -> int:
        await agent.run("go")
        pid = await _apid(server)
        await agent.aclose()
        return pid

    assert process_gone(asyncio.run(main()))


def test_explicit_lifecycle_with_async_with_and_with() -> None:
    server = stdio_server()

    async def main() -> int:
        async with server:
            agent = agent_for(echo_model("add", {"a": 1, "b": 2}), server)
            assert (await agent.run("go")).output == "results: 3"
            await agent.aclose()  # the block holds the server open, not the agent
            pid = await _apid(server)
            assert not process_gone(pid, within=0.2)
        return pid

    assert process_gone(asyncio.run(main()))
    with server:
        pid = _pid(server)
    assert process_gone(pid)


def test_repr_holds_no_header_value(http_url: str) -> None:
    server = MCPServer.http(
        http_url.replace("http://", "http://user:pw@"), headers={"Authorization": "Bearer s3cret"}
    )
    assert "s3cret" not in repr(server) and "pw" not in repr(server)
    assert server.source_name == http_url


# ---------------------------------------------------------------- approval, as for Python tools


@pytest.mark.parametrize("mode", MODES)
def test_an_mcp_tool_that_needs_approval_pauses_and_resumes(mode: str) -> None:
    from agentkit import Approve, PausedRun

    with stdio_server(needs_approval={"add": True}) as server:
        model = echo_model("add", {"a": 2, "b": 3})
        agent = agent_for(model, server)
        paused = run_mode(agent, mode)
        assert paused.paused and paused.output is None
        assert [(r.tool_name, r.arguments) for r in paused.approvals] == [("add", {"a": 2, "b": 3})]
        assert len(model.requests) == 1
        assert paused.pause is not None
        state = PausedRun.from_json(paused.pause.to_json())
        call_id = paused.approvals[0].tool_call_id
        result = agent.resume_sync(state, {call_id: Approve()})
        assert result.output == "results: 5"
        assert len(model.requests) == 2  # the paused turn was not asked for again
