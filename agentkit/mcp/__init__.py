"""MCP tools: any Model Context Protocol server's tools as agentkit tools.

Needs the official SDK: ``pip install 'agentkit-lean[mcp]'``. ``import agentkit`` never imports
it; ``import agentkit.mcp`` does.

```python
from agentkit import Agent
from agentkit.mcp import MCPServer

files = MCPServer.stdio("python", ["-m", "my_server"], prefix="fs", allow=["read_*"])
agent = Agent(tools=[files])
```
"""

from __future__ import annotations

try:
    import mcp  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    from agentkit.errors import UserError

    raise UserError(
        "agentkit.mcp needs the official MCP SDK: pip install 'agentkit-lean[mcp]'"
    ) from exc

from agentkit.mcp._errors import MCPError, MCPToolError
from agentkit.mcp.server import MCPServer

__all__ = ["MCPError", "MCPServer", "MCPToolError"]
