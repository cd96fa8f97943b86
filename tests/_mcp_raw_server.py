"""A hand-written MCP server over stdio (newline-delimited JSON-RPC), for what the SDK's
own server refuses to send: tools and results that break the schema.

``python tests/_mcp_raw_server.py SPEC`` where SPEC is JSON: ``{"tools": [...], "results":
{name: result}}``, optionally with ``"cursor"`` and ``"silent"`` (methods it never
answers). ``tools/list`` answers ``tools`` as given (each page with ``cursor`` as its next
cursor, if given); ``tools/call`` answers the named result as given (default: the
arguments as text); the tool ``pid`` answers the process id, so a test can tell a
restarted server from the same one.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _answer(spec: dict[str, Any], method: str, params: dict[str, Any]) -> dict[str, Any]:
    if method == "initialize":
        return {
            "result": {
                "protocolVersion": params["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "raw", "version": "1"},
            }
        }
    if method == "tools/list":
        # "cursor": every page says there is a next one, with this same cursor (a loop).
        cursor = {"nextCursor": spec["cursor"]} if "cursor" in spec else {}
        return {"result": {"tools": spec["tools"], **cursor}}
    if method == "tools/call":
        name = params["name"]
        if name == "pid":
            return {"result": {"content": [{"type": "text", "text": str(os.getpid())}]}}
        default = {"content": [{"type": "text", "text": json.dumps(params.get("arguments"))}]}
        return {"result": spec["results"].get(name, default)}
    # Anything else (e.g. the 2026-era server/discover) is unknown: the client falls back.
    return {"error": {"code": -32601, "message": f"no method {method}"}}


def main() -> None:
    """Answer requests from stdin until it closes."""
    spec = json.loads(sys.argv[1])
    for line in sys.stdin:
        message = json.loads(line)
        if "id" not in message or "method" not in message:
            continue  # a notification
        if message["method"] in spec.get("silent", ()):
            continue  # a request this server never answers
        answer = _answer(spec, message["method"], message.get("params") or {})
        _send({"jsonrpc": "2.0", "id": message["id"], **answer})


if __name__ == "__main__":
    main()
