"""A hand-written streamable-HTTP MCP server of the 2025 era (it answers ``initialize``
with a session id, so the client opens a GET stream), whose GET stream always fails with
500: the SDK then logs the HTTP error, URL and all, with its traceback.

``python tests/_mcp_http_server.py --http --port PORT`` (as the example server takes them);
one tool, ``t``, answers ``ok``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_TOOLS = [{"name": "t", "inputSchema": {"type": "object"}}]


def _answer(method: str, params: dict[str, Any]) -> dict[str, Any]:
    if method == "initialize":
        info = {"name": "legacy", "version": "1"}
        version = params["protocolVersion"]
        return {
            "result": {
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": info,
            }
        }
    if method == "tools/list":
        return {"result": {"tools": _TOOLS}}
    if method == "tools/call":
        return {"result": {"content": [{"type": "text", "text": "ok"}]}}
    return {"error": {"code": -32601, "message": f"no method {method}"}}


async def post(request: Request) -> Response:
    message = json.loads(await request.body())
    if "id" not in message:
        return Response(status_code=202)  # a notification
    answer = _answer(message["method"], message.get("params") or {})
    return JSONResponse(
        {"jsonrpc": "2.0", "id": message["id"], **answer}, headers={"mcp-session-id": "s1"}
    )


async def get(request: Request) -> Response:
    return Response("broken", status_code=500)


async def delete(request: Request) -> Response:
    return Response(status_code=200)


app = Starlette(
    routes=[
        Route("/mcp", post, methods=["POST"]),
        Route("/mcp", get, methods=["GET"]),
        Route("/mcp", delete, methods=["DELETE"]),
    ]
)

if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--port") + 1])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
