"""Tool sources: objects that provide tools per run (``agentkit.mcp.MCPServer``).

An agent's ``tools=`` may mix ``Tool`` objects and tool sources. A run lists the sources'
tools at its start (each source caches its list), and this module merges them into the
run's spec: a name used twice is a ``UserError`` naming both owners, and a source that
failed with ``on_error="skip"`` is left out with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, TypeGuard, runtime_checkable

from agentkit.agent.spec import AgentSpec, build_kwargs
from agentkit.errors import UserError
from agentkit.tool import Tool

__all__ = ["Listed", "ToolSource", "is_tool_source", "spec_with_sources"]


@runtime_checkable
class ToolSource(Protocol):
    """Something that provides tools per run, e.g. ``agentkit.mcp.MCPServer``."""

    source_name: str
    on_error: Literal["raise", "skip"]

    async def list_tools(self) -> list[Tool[Any, Any]]:
        """The tools, cached by the source."""
        ...

    def list_tools_sync(self) -> list[Tool[Any, Any]]:
        """The tools, without a running loop."""
        ...

    async def aclose(self) -> None:
        """Release the source."""
        ...

    def close(self) -> None:
        """Release the source from sync code."""
        ...


Listed = list[tuple[ToolSource, "list[Tool[Any, Any]] | BaseException"]]
"""What listing each source gave: its tools, or the error it failed with."""


def is_tool_source(obj: object) -> TypeGuard[ToolSource]:
    """Whether ``obj`` is a tool source (and not a ``Tool``)."""
    return not isinstance(obj, Tool) and isinstance(obj, ToolSource)


def spec_with_sources(spec: AgentSpec, listed: Listed) -> tuple[AgentSpec, list[str]]:
    """``spec`` plus the sources' tools, and the notes to add to the run's result.

    Raises:
        UserError: Two tools share a name (the message names both owners).
        BaseException: The error of a failed source whose ``on_error`` is ``"raise"``.
    """
    owner = {name: "the agent's tools" for name in spec.tools}
    tools = dict(spec.tools)
    notes: list[str] = []
    for source, found in listed:
        where = f"tool source {source.source_name!r}"
        if isinstance(found, BaseException):
            if source.on_error != "skip":
                raise found
            notes.append(f"The {where} was left out of this run: {found}")
            continue
        for t in found:
            if owner.get(t.name) == where:
                raise UserError(
                    f"The {where} gives two tools named {t.name!r}; a source must name its "
                    "tools apart (leave one out with the source's deny=)"
                )
            if t.name in owner:
                raise UserError(
                    f"Two tools are named {t.name!r}: one from {owner[t.name]}, one from "
                    f"{where}; use the source's prefix= or deny= to tell them apart"
                )
            owner[t.name] = where
            tools[t.name] = t
    kwargs = build_kwargs(spec.model, tools, spec.settings, spec.output)
    tool_choice = spec.settings.tool_choice if tools else None
    new = spec._replace(tools=tools, base_kwargs=kwargs, tool_choice=tool_choice)
    return new, notes


def split_tools(
    tools: Sequence[Tool[Any, Any] | ToolSource],
) -> tuple[list[Tool[Any, Any]], list[ToolSource]]:
    """The plain tools and the tool sources of an agent's ``tools=``."""
    plain: list[Tool[Any, Any]] = []
    sources: list[ToolSource] = []
    for t in tools:
        if is_tool_source(t):
            sources.append(t)
        else:
            plain.append(t)  # type: ignore[arg-type]  # AgentSpec.build checks the type
    return plain, sources
