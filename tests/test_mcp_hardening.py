"""MCP servers that misbehave, and what MCP logs: real servers (the example server, and a
hand-written JSON-RPC server for what the SDK's own server would refuse to send)."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, Client, RunTimeoutError, UserError
from agentkit.mcp import MCPError, MCPServer
from tests._mcp_support import agent_for, echo_model, run_mode, serve_http


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    yield from serve_http()


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, formatted (tracebacks too), as a user's
    ``logging.basicConfig(level=logging.DEBUG)`` would print it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


# ---------------------------------------------------------------- credentials in logs

SECRETS = ("alice", "pa55-word", "qk-SECRET1", "hk-SECRET2", "tok-SECRET3", "cu-SECRET4")


@pytest.mark.parametrize("mode", ["run", "run_sync"])
def test_the_sdks_debug_log_holds_none_of_the_servers_credentials(
    http_url: str, debug_log: io.StringIO, mode: str
) -> None:
    url = http_url.replace("http://", "http://alice:pa55-word@") + "?api_key=qk-SECRET1&v=2"
    headers = {
        "X-Api-Key": "hk-SECRET2",
        "Authorization": "Bearer tok-SECRET3",
        "X-Tenant": "cu-SECRET4",
    }
    server = MCPServer.http(url, headers=headers)
    try:
        result = run_mode(agent_for(echo_model("add", {"a": 1, "b": 2}), server), mode)
        assert result.output == "results: 3"
    finally:
        server.close()
    text = debug_log.getvalue()
    # The SDK and its HTTP client did log the endpoint, with the credentials masked.
    assert "mcp.client.streamable_http DEBUG Connecting to StreamableHTTP endpoint: " in text
    assert "http://***@127.0.0.1:" in text and "?api_key=***&v=2" in text
    assert "httpx2 INFO HTTP Request: POST http://***@" in text
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"{leaked} in the log"


@pytest.fixture(scope="module")
def legacy_url() -> Iterator[str]:
    yield from serve_http(Path(__file__).with_name("_mcp_http_server.py"))


def test_a_traceback_in_the_sdks_log_holds_none_of_the_credentials(
    legacy_url: str, debug_log: io.StringIO
) -> None:
    # A 2025-era server with a session: the SDK opens a GET stream, which fails with 500,
    # and logs httpx2's HTTPStatusError ("... for url 'http://user:pass@...'") with its
    # traceback at DEBUG.
    url = legacy_url.replace("http://", "http://alice:pa55-word@") + "?api_key=qk-SECRET1"
    server = MCPServer.http(url, headers={"X-Api-Key": "hk-SECRET2"})
    try:
        assert run_mode(agent_for(echo_model("t", {}), server), "run").output == "results: ok"
        deadline = time.monotonic() + 5
        while "HTTPStatusError" not in debug_log.getvalue():
            assert time.monotonic() < deadline, "the GET stream's failure was not logged"
            time.sleep(0.02)
    finally:
        server.close()
    text = debug_log.getvalue()
    assert "GET stream error\nTraceback (most recent call last):" in text
    assert "for url 'http://***@127.0.0.1:" in text
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"{leaked} in the log"


# ---------------------------------------------------------------- servers that fail to start


def _children(marker: str) -> list[str]:
    """This process's live child processes whose command line holds ``marker`` (ps)."""
    out = subprocess.run(
        ["ps", "-ww", "-o", "pid=,stat=,args=", "--ppid", str(os.getpid())],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if marker in line and " Z" not in line]


@pytest.mark.parametrize("mode", ["run", "run_sync"])
def test_a_server_that_never_answers_the_handshake_fails_at_connect_timeout(mode: str) -> None:
    # It reads its stdin to the end and never writes: a start that hangs.
    marker = f"hang-{mode}"
    code = f"import sys; sys.stdin.read()  # {marker}"
    server = MCPServer.stdio(sys.executable, ["-c", code], name="mute", connect_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(MCPError, match=r"'mute' did not start within 0\.5 seconds"):
        run_mode(agent_for(echo_model("add", {}), server), mode)
    assert time.monotonic() - started < 3  # not the 10 s a closing connection may take
    assert _children(marker) == []  # and the process was stopped, not left behind
    server.close()


# ---------------------------------------------------------------- answers the SDK refuses

RAW = Path(__file__).with_name("_mcp_raw_server.py")


def raw_server(
    tools: list[dict[str, Any]], results: dict[str, Any], *, spec: Any = None, **options: Any
) -> MCPServer:
    """The hand-written server (``_mcp_raw_server.py``) serving these tools and results
    (``spec``: more of its options, e.g. ``{"cursor": "again"}``)."""
    text = json.dumps({"tools": tools, "results": results, **(spec or {})})
    return MCPServer.stdio(sys.executable, [str(RAW), text], name="raw", **options)


def _tool(name: str) -> dict[str, Any]:
    return {"name": name, "inputSchema": {"type": "object"}}


_TYPED = {
    **_tool("odd"),
    "outputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
}
_INVALID = {
    # A content block of a type MCP does not have: the SDK rejects the whole result.
    "unknown block": (_tool("odd"), {"content": [{"type": "widget"}]}, "ValidationError"),
    # Structured content that breaks the tool's outputSchema (the SDK: RuntimeError).
    "off its schema": (
        _TYPED,
        {"content": [], "structuredContent": {"n": "x"}},
        "RuntimeError: Invalid structured content returned by tool odd: 'x' is not of type",
    ),
}


@pytest.mark.parametrize(
    ("case", "mode"),
    [("unknown block", "run"), ("unknown block", "run_sync"), ("off its schema", "run")],
)
def test_an_invalid_tool_result_fails_the_call_but_keeps_the_server(case: str, mode: str) -> None:
    tool, answer, error = _INVALID[case]
    server = raw_server([_tool("pid"), tool], {"odd": answer})
    try:
        pid = run_mode(agent_for(echo_model("pid", {}), server), mode).output
        result = run_mode(agent_for(echo_model("odd", {}), server), mode)
        [failure] = result.tool_failures
        assert failure.error_type == "MCPToolError"
        assert f"MCP tool 'odd' of 'raw' failed: {error}" in failure.error
        # The session was fine: the same process serves the next call (its state kept).
        assert run_mode(agent_for(echo_model("pid", {}), server), mode).output == pid
    finally:
        server.close()


def test_a_tool_with_no_name_is_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    server = raw_server([_tool(""), _tool("pid")], {})
    try:
        with caplog.at_level(logging.WARNING, logger="agentkit.mcp"):
            assert [t.name for t in server.list_tools_sync()] == ["pid"]
        assert "MCP server 'raw' lists a tool with no name; it is left out" in caplog.text
        assert run_mode(agent_for(echo_model("pid", {}), server), "run").output.startswith(
            "results: "
        )
    finally:
        server.close()


def test_a_header_that_is_not_a_str_is_a_user_error_naming_it() -> None:
    with pytest.raises(UserError, match="'X-Retries' has a int value"):
        MCPServer.http("http://127.0.0.1:1/mcp", headers={"X-Retries": 3})  # type: ignore[dict-item]
    with pytest.raises(UserError, match="'Authorization' has a bytes value") as info:
        MCPServer.http("http://127.0.0.1:1/mcp", headers={"Authorization": b"Bearer sk-1"})  # type: ignore[dict-item]
    assert "sk-1" not in str(info.value)


def test_a_bad_url_is_named_without_its_credentials() -> None:
    with pytest.raises(UserError, match="http:// or https:// URL, got 'ws://host/mcp'") as info:
        MCPServer.http("ws://bob:tok-SECRET@host/mcp?api_key=k-SECRET")
    assert "SECRET" not in str(info.value)
    with pytest.raises(UserError, match="got None"):
        MCPServer.http(None)  # type: ignore[arg-type]


def test_an_upper_case_scheme_is_a_url_like_any_other(http_url: str) -> None:
    server = MCPServer.http(http_url.replace("http://", "HTTP://"))
    try:
        assert "add" in {t.name for t in server.list_tools_sync()}
    finally:
        server.close()


@pytest.mark.parametrize("cursor", [None, "again"])
def test_a_tool_listed_twice_or_a_listing_that_never_ends_gives_each_tool_once(
    caplog: pytest.LogCaptureFixture, cursor: str | None
) -> None:
    # Twice on one page, or the same page served again and again under one cursor.
    tools = [_tool("pid"), _tool("add")] if cursor else [_tool("pid"), _tool("add"), _tool("pid")]
    server = raw_server(tools, {}, spec={"cursor": cursor} if cursor else None)
    try:
        with caplog.at_level(logging.WARNING, logger="agentkit.mcp"):
            assert [t.name for t in server.list_tools_sync()] == ["pid", "add"]
        assert "MCP server 'raw' lists the tool 'pid' more than once" in caplog.text
        result = run_mode(agent_for(echo_model("add", {"a": 1}), server), "run_sync")
        assert result.output == 'results: {"a": 1}'
    finally:
        server.close()


@pytest.mark.parametrize("mode", ["run", "run_sync"])
def test_a_server_that_never_answers_tools_list_fails_at_connect_timeout(mode: str) -> None:
    server = raw_server([_tool("pid")], {}, spec={"silent": ["tools/list"]}, connect_timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(MCPError, match=r"'raw' did not list its tools within 0\.5 seconds"):
            run_mode(agent_for(echo_model("pid", {}), server), mode)
        assert time.monotonic() - started < 3
    finally:
        server.close()


# ---------------------------------------------------------------- a server that exits while idle


@pytest.mark.parametrize("mode", ["run_sync", "stream"])
def test_a_stdio_server_that_exited_between_runs_is_restarted_before_the_next_call(
    mode: str,
) -> None:
    server = raw_server([_tool("pid")], {})  # starts faster than an SDK-made server
    try:
        pid = int(run_mode(agent_for(echo_model("pid", {}), server), mode).output[9:])
        os.kill(pid, signal.SIGKILL)  # crashed, or killed, while no call was in flight
        deadline = time.monotonic() + 5
        while _children(f"{pid} "):  # until the SDK's reader has seen its stdout close
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)  # and for the SDK to read the end of its stdout
        result = run_mode(agent_for(echo_model("pid", {}), server), mode)
        assert result.tool_failures == []  # not "MCP server ... was lost during a call"
        assert int(result.output[9:]) != pid
    finally:
        server.close()


# ---------------------------------------------------------------- bad options


async def _async_check(ctx: Any, arguments: Any) -> bool:
    return False  # called without await: its coroutine would count as "yes"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": "10"}, "timeout must be a finite number of seconds > 0 or None, not '10'"),
        ({"timeout": {"add": -1}}, "timeout['add'] must be a finite number of seconds > 0"),
        ({"connect_timeout": "5"}, "connect_timeout must be a finite number of seconds > 0"),
        ({"needs_approval": "yes"}, "needs_approval must be True, False or a callable, got 'yes'"),
        ({"needs_approval": {"w*": 1}}, "needs_approval['w*'] must be True, False or a callable"),
        ({"needs_approval": {"w*": _async_check}}, "needs_approval['w*'] must be a plain (not"),
        ({"allow": [1]}, "allow takes fnmatch patterns (str), got 1"),
        ({"deny": [None]}, "deny takes fnmatch patterns (str), got None"),
    ],
)
def test_a_bad_option_is_a_user_error_when_the_server_is_built(
    options: dict[str, Any], message: str
) -> None:
    # Not a raw TypeError (or a silently kept value) at the first listing, in every run.
    with pytest.raises(UserError) as info:
        MCPServer.stdio(sys.executable, ["-c", "pass"], **options)
    assert message in str(info.value)


# ---------------------------------------------------------------- the run's own time limit


@pytest.mark.parametrize("mode", ["run", "run_sync", "stream_sync"])
def test_run_timeout_bounds_a_server_still_starting(mode: str) -> None:
    # It never answers the handshake; connect_timeout alone would let the run take 5 s.
    mute = MCPServer.stdio(
        sys.executable, ["-c", "import sys; sys.stdin.read()"], name="mute", connect_timeout=5
    )
    agent = Agent(
        tools=[mute],
        client=Client(api_key="k", transport=echo_model("add", {})),
        run_timeout=0.5,
    )
    started = time.monotonic()
    try:
        with pytest.raises(RunTimeoutError, match=r"time limit of 0\.5 s"):
            run_mode(agent, mode)
        assert time.monotonic() - started < 2
    finally:
        mute.close()


def test_close_while_another_thread_starts_the_server_tells_that_thread_so() -> None:
    marker = "closed-while-starting"
    code = f"import sys; sys.stdin.read()  # {marker}"
    server = MCPServer.stdio(sys.executable, ["-c", code], name="mute", connect_timeout=5)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            server.list_tools_sync()
        except BaseException as exc:
            errors.append(exc)

    starter = threading.Thread(target=start)
    starter.start()
    deadline = time.monotonic() + 5
    while not _children(marker):  # the process is up, its handshake unanswered
        assert time.monotonic() < deadline
        time.sleep(0.02)
    server.close()
    starter.join(5)
    [error] = errors
    assert isinstance(error, MCPError)
    assert str(error) == "MCP server 'mute' was closed while it was starting"
    assert _children(marker) == []


def test_an_error_result_with_no_text_still_says_what_failed() -> None:
    server = raw_server([_tool("odd")], {"odd": {"content": [], "isError": True}})
    try:
        [failure] = run_mode(agent_for(echo_model("odd", {}), server), "run").tool_failures
        assert failure.error == "MCP tool 'odd' of 'raw' failed: the server gave no message"
    finally:
        server.close()
