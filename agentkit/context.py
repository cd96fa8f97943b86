"""The context a tool receives when its first parameter is annotated ``RunContext[Deps]``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agentkit.messages import Message
from agentkit.usage import Usage

__all__ = ["DepsT", "RunContext"]

DepsT = TypeVar("DepsT")


@dataclass(slots=True)
class RunContext(Generic[DepsT]):
    """What a running agent knows when it calls a tool.

    A tool whose first parameter is annotated ``RunContext[Deps]`` gets one injected; the
    parameter is left out of the tool's JSON schema, so the model can never supply it.

    Attributes:
        deps: The dependencies the run was started with (a database handle, a user id...).
        messages: The conversation so far, as wire-format dicts.
        usage: What the run has consumed so far.
        tool_call_id: The id of the tool call being executed, if any.
        tool_name: The name of the tool being executed, if any.
        retry: How many retries this tool has used so far in the run.
    """

    deps: DepsT
    messages: list[Message] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    tool_call_id: str | None = None
    tool_name: str | None = None
    retry: int = 0
