"""A forced ``tool_choice`` the server did not enforce: how to tell, and what to say. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentkit.errors import ToolChoiceIgnoredError

__all__ = ["forced_tool", "ignored_error", "ignored_note", "is_forced", "restatement"]


def is_forced(choice: Any) -> bool:
    """Whether ``choice`` forces a tool call (``"required"`` or a named function)."""
    return choice == "required" or isinstance(choice, Mapping)


def forced_tool(choice: Any) -> str | None:
    """The tool a named ``choice`` forces, or ``None``."""
    if isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        return name if isinstance(name, str) else None
    return None


def restatement(choice: Any) -> str:
    """The user message asking again for the call ``choice`` forces."""
    name = forced_tool(choice)
    what = f"the tool {name!r}" if name else "one of the tools"
    return (
        f"You must call {what} now, as a tool call (not as text). "
        "Do not answer until you have called it."
    )


def ignored_note(choice: Any) -> str:
    """The ``RunResult.notes`` line for a forced choice answered with text once."""
    return f"The model answered tool_choice={choice!r} with text; agentkit asked again."


def ignored_error(choice: Any, messages: list[dict[str, Any]]) -> ToolChoiceIgnoredError:
    """The error for a forced choice answered with text twice."""
    return ToolChoiceIgnoredError(
        f"The run forced a tool call (tool_choice={choice!r}) and the model answered with "
        "text twice: the server does not enforce tool_choice (check its profile, or use "
        "recover_text_tool_calls=True for models that write calls as text)",
        tool_choice=choice,
        messages=messages,
    )
