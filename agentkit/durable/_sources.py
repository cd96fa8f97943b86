"""Tool sources in a durable run: their listing is recorded, their tools are resolved late.

The ``ListTools`` step records each source's tool definitions (or its error). The workflow
builds its tools from that record, so a recovered run offers the model exactly the tools
the first execution offered; each tool looks its source's live tool up only when a tool
step actually runs it (a replayed tool step never touches the source).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agentkit.agent.sources import Listed, ToolSource
from agentkit.durable._wire import RecordedAgentkitError
from agentkit.errors import AgentkitError, UserError
from agentkit.tool import Tool

__all__ = ["definition", "list_async", "list_sync", "listed_from_json", "tool_from_definition"]


def definition(t: Tool[Any, Any]) -> dict[str, Any]:
    """A tool's definition as JSON (what a listing step records)."""
    return {
        "name": t.name,
        "description": t.description,
        "parameters": dict(t.parameters),
        "strict": t.strict,
        "max_retries": t.max_retries,
        "timeout": t.timeout,
        # A per-call decision cannot be recorded; asking is the safe side.
        "needs_approval": t.needs_approval is not False,
    }


def _error(exc: AgentkitError) -> dict[str, Any]:
    return {"error": type(exc).__name__, "message": str(exc)}


async def list_async(sources: Sequence[ToolSource]) -> list[dict[str, Any]]:
    """The body of the ``ListTools`` step in async runs."""
    out: list[dict[str, Any]] = []
    for s in sources:
        try:
            out.append({"tools": [definition(t) for t in await s.list_tools()]})
        except AgentkitError as exc:  # the flow decides: raise, or skip with a note
            out.append(_error(exc))
    return out


def list_sync(sources: Sequence[ToolSource]) -> list[dict[str, Any]]:
    """The body of the ``ListTools`` step in sync runs."""
    out: list[dict[str, Any]] = []
    for s in sources:
        try:
            out.append({"tools": [definition(t) for t in s.list_tools_sync()]})
        except AgentkitError as exc:
            out.append(_error(exc))
    return out


def _late_tool(source: ToolSource, d: dict[str, Any]) -> Tool[Any, Any]:
    name = str(d["name"])

    def call(**arguments: Any) -> Any:
        # Runs inside the tool's step, on a thread of its own in async runs too.
        for t in source.list_tools_sync():
            if t.name == name:
                return t.invoke_sync(arguments, None)
        raise UserError(f"Tool source {source.source_name!r} no longer has a tool {name!r}")

    return tool_from_definition(d, call)


def tool_from_definition(d: dict[str, Any], call: Callable[..., Any]) -> Tool[Any, Any]:
    """The tool a recorded ``definition`` describes, running ``call``."""
    return Tool.from_schema(
        str(d["name"]),
        str(d.get("description") or ""),
        d.get("parameters") or {"type": "object", "properties": {}},
        call,
        strict=bool(d.get("strict")),
        max_retries=int(d.get("max_retries", 2)),
        timeout=d.get("timeout"),
        needs_approval=bool(d.get("needs_approval")),
    )


def listed_from_json(sources: Sequence[ToolSource], data: list[dict[str, Any]]) -> Listed:
    """The ``Listed`` outcome the flow gets for a recorded listing."""
    listed: Listed = []
    for source, entry in zip(sources, data, strict=True):
        if "error" in entry:
            listed.append((source, RecordedAgentkitError(str(entry.get("message", "")))))
        else:
            listed.append((source, [_late_tool(source, d) for d in entry["tools"]]))
    return listed
