"""``agentkit chat --mcp COMMAND`` and ``--mcp-url URL`` with the example MCP server."""

from __future__ import annotations

import io
import shlex
import sys
from collections.abc import Iterator

import pytest

from agentkit.cli import main
from tests._mcp_support import EXAMPLE, serve_http


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    yield from serve_http()


def _chat(args: list[str], monkeypatch: pytest.MonkeyPatch, line: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(line + "\n"))
    return main(["chat", "--offline", *args])


def test_chat_with_a_stdio_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    command = shlex.join([sys.executable, str(EXAMPLE)])
    assert _chat(["--mcp", command], monkeypatch, "add 2 and 3") == 0
    out = capsys.readouterr().out
    assert '[tool call] add({"a":2,"b":3})' in out and "[tool result] add: 5" in out


def test_chat_with_an_http_server(
    http_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _chat(["--mcp-url", http_url], monkeypatch, "add 20 and 22") == 0
    assert "[tool result] add: 42" in capsys.readouterr().out


def test_a_server_that_cannot_start_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _chat(["--mcp", "/nonexistent/mcp-server"], monkeypatch, "hi") == 1
    err = capsys.readouterr().err
    assert "MCP server '/nonexistent/mcp-server' failed to start" in err
    assert "Traceback" not in err
