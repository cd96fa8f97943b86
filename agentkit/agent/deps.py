"""Checking a run's ``deps`` against what the agent and its tools declare (pure).

A tool whose first parameter is ``RunContext[FakeDB]`` cannot work with ``deps=None``;
without this check it would get ``None``, fail, and the run would "succeed" with the
model told the tool failed. The check runs when the run's state is built, in every mode.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any

from agentkit.errors import UserError
from agentkit.tool import Tool

__all__ = ["check_deps", "needed_deps_type", "type_name"]


def needed_deps_type(tool: Tool[Any, Any]) -> Any:
    """The deps type ``tool`` declares with ``RunContext[T]``, or ``None`` when it takes
    no context or would accept ``None`` (bare ``RunContext``, ``Any``, ``T | None``...)."""
    hint = getattr(tool, "context_hint", None)
    if hint is None:
        return None
    args = typing.get_args(hint)
    if not args or _accepts_none(args[0]):
        return None
    return args[0]


def check_deps(
    deps: Any, deps_type: Any, tools: Iterable[Tool[Any, Any]], agent_name: str | None
) -> None:
    """Raise ``UserError`` when the run's ``deps`` cannot be what is declared.

    ``deps_type`` (the agent's, or ``None``) must hold ``deps`` when it is a class; with
    ``deps=None`` no tool may need a deps type.
    """
    agent = repr(agent_name or "agent")
    if deps_type is not None and not _accepts_none(deps_type):
        if deps is None:
            raise UserError(
                f"Agent {agent} has deps_type={type_name(deps_type)} but the run got no "
                f"deps: pass deps=<a {type_name(deps_type)}> to the run"
            )
        if not _instance(deps, deps_type):
            raise UserError(
                f"Agent {agent} has deps_type={type_name(deps_type)} but the run got deps "
                f"of type {type(deps).__name__}"
            )
    if deps is not None:
        return
    for tool in tools:
        needed = needed_deps_type(tool)
        if needed is not None:
            raise UserError(
                f"Tool {tool.name!r} of agent {agent} takes RunContext[{type_name(needed)}] "
                f"but the run got no deps: pass deps=<a {type_name(needed)}> to the run "
                f"(or annotate RunContext[{type_name(needed)} | None] if it can do without)"
            )


def type_name(tp: Any) -> str:
    """A short readable name for a type or a type hint."""
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def _accepts_none(tp: Any) -> bool:
    if tp is Any or tp is object or tp is None or tp is type(None):
        return True
    if isinstance(tp, (typing.TypeVar, str, typing.ForwardRef)):
        return True  # generic or unresolved: nothing certain to check
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return any(_accepts_none(arg) for arg in typing.get_args(tp))
    return False


def _instance(value: Any, tp: Any) -> bool:
    if not isinstance(tp, type):
        return True  # a hint isinstance cannot check (list[int], Literal...): trust it
    try:
        return isinstance(value, tp)
    except TypeError:  # a Protocol that is not runtime_checkable
        return True
