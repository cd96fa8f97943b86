"""The errors of agentkit's MCP integration."""

from __future__ import annotations

from agentkit.errors import AgentkitError

__all__ = ["MCPError", "MCPToolError"]


class MCPError(AgentkitError):
    """An MCP server could not be started, reached or used.

    Raised by a server's ``list_tools`` / ``list_tools_sync`` (and so by a run that needs its
    tools) when it fails to start; the message names the server and says what went wrong.
    """


class MCPToolError(MCPError):
    """An MCP tool call failed: the server answered ``isError``, or the connection broke.

    Raised by the tool's handler, so a run reports it as a tool failure
    (``RunResult.tool_failures`` holds the server's text) and goes on.
    """
