"""A small MCP server built with the official ``mcp`` SDK, for the README and the tests.

Run it over stdio (how ``MCPServer.stdio`` starts it)::

    python examples/mcp_server.py

or over streamable HTTP on loopback (how ``MCPServer.http`` reaches it)::

    python examples/mcp_server.py --http --port 8765      # http://127.0.0.1:8765/mcp

Tools: ``add``, ``read_note``, ``write_note`` (the notes live in the server process, so
they show that one server survives across runs), ``fail`` (an MCP tool error), ``slow``
(sleeps), ``pid`` (the server's process id, so a test can kill it), ``logo`` (an image),
``note_link`` (a resource link) and ``unlock`` (adds the tool ``secret`` and tells the
client that the tool list changed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import ResourceLink

# A 1x1 transparent PNG.
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

server = MCPServer("agentkit-example")
_notes: dict[str, str] = {}


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def write_note(name: str, text: str) -> str:
    """Store a note under a name (kept for the life of the server process)."""
    _notes[name] = text
    return f"saved {name!r}"


@server.tool()
def read_note(name: str) -> str:
    """Read a note stored with write_note."""
    if name not in _notes:
        raise ToolError(f"no note named {name!r}")
    return _notes[name]


@server.tool()
def fail(message: str) -> str:
    """Always fails with the given message (an MCP tool error)."""
    raise ToolError(message)


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep for some seconds, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def logo() -> Image:
    """A tiny PNG image."""
    return Image(data=_PNG, format="png")


@server.tool()
def note_link(name: str) -> ResourceLink:
    """A link to a note as an MCP resource."""
    return ResourceLink(name=name, uri=f"note://{name}", mime_type="text/plain")


def secret() -> str:
    """The secret the unlock tool reveals."""
    return "42"


@server.tool()
async def unlock(ctx: Context) -> str:
    """Add the tool 'secret' and notify the client that the tool list changed."""
    server.add_tool(secret)
    # 2026-era clients hear of it through their subscriptions/listen stream; older ones
    # through the list_changed notification on the session.
    await ctx.notify_tools_changed()
    with contextlib.suppress(Exception):  # a 2026-era session has no such channel
        await ctx.request_context.session.send_tool_list_changed()
    return "unlocked"


def main() -> None:
    """Serve over stdio, or over streamable HTTP with ``--http``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if args.http:
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run()


if __name__ == "__main__":
    main()
