"""The context a tool receives when its first parameter is annotated ``RunContext[Deps]``."""

from __future__ import annotations

from dataclasses import field
from typing import Generic, TypeVar

from agentkit._record import record
from agentkit.messages import Message
from agentkit.usage import Usage, UsageLimits

__all__ = ["DepsT", "RunContext"]

DepsT = TypeVar("DepsT")


@record(slots=True)
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
        limits: The run's usage limits (an agent used as a tool draws on what is left).
        depth: How many agents deep this run is: 0 for a run you started, 1 for an agent
            called as a tool by it, and so on.

    ``messages`` is a copy: changing it does not change the run's history. The
    ``tool_call_id`` is stable across retries and crash recovery, so a tool with side
    effects can use it as its idempotency key.
    """

    deps: DepsT
    messages: list[Message] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    tool_call_id: str | None = None
    tool_name: str | None = None
    retry: int = 0
    limits: UsageLimits | None = None
    depth: int = 0
