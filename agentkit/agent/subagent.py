"""An agent used as another agent's tool (``Agent.as_tool``).

A sub-run draws on what is left of the calling run's usage limits, its usage is added to
the caller's as soon as it ends (also when it fails), and it runs one level deeper, so an
agent that ends up calling itself stops at ``max_depth`` with a clear error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from agentkit._execute import Invocation
from agentkit.agent.capture import capture_run
from agentkit.context import RunContext
from agentkit.errors import UsageLimitExceeded, UserError
from agentkit.result import RunResult
from agentkit.tool import Tool
from agentkit.usage import Usage, UsageLimits

__all__ = ["AgentTool", "remaining_limits", "sub_output"]

_usage_lock = threading.Lock()  # sub-runs of one turn may end on several threads at once


class _SubRunner(Protocol):
    async def _run_child(self, task: str, ctx: RunContext[Any]) -> Any: ...

    def _run_child_sync(self, task: str, ctx: RunContext[Any], timeout: float | None) -> Any: ...


class AgentTool(Tool[Any, Any]):
    """An agent wrapped as a tool taking one ``task`` string; async in async runs, sync
    in sync runs."""

    def __init__(self, agent: _SubRunner, name: str, description: str) -> None:
        async def run_agent(ctx: RunContext[Any], task: str) -> Any:
            """Ask the agent to do a task.

            Args:
                task: What to do, with everything the agent needs to know.
            """
            return await agent._run_child(task, ctx)

        super().__init__(run_agent, name=name, description=description)
        self._agent = agent

    def bind(
        self,
        kwargs: dict[str, Any],
        ctx: RunContext[Any] | None = None,
        *,
        timeout: float | None = None,
        sync: bool = False,
        around: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> Invocation:
        """In sync runs the sub-agent runs with ``run_sync``, on the caller's thread.

        A sync sub-run cannot be cancelled: given the call's ``timeout`` (the calling
        run's time left), it stops by itself once the caller stops waiting for it.
        """
        if not sync:
            return super().bind(kwargs, ctx, timeout=timeout, around=around)
        context = ctx if ctx is not None else RunContext(None)
        runner = self._agent._run_child_sync
        args = (kwargs["task"], context, timeout)
        return Invocation(runner, args, {}, False, self.name, timeout, around)


def remaining_limits(ctx: RunContext[Any], own: UsageLimits | None) -> UsageLimits | None:
    """The limits of a sub-run: its own, capped by what the calling run has left.

    Raises:
        UsageLimitExceeded: The calling run has nothing left.
    """
    parent = ctx.limits
    if parent is None:
        return own
    used = ctx.usage
    own = own or UsageLimits()
    return UsageLimits(
        request_limit=_left(parent.request_limit, used.requests, own.request_limit),
        tool_calls_limit=_left(parent.tool_calls_limit, used.tool_calls, own.tool_calls_limit),
        total_tokens_limit=_left(
            parent.total_tokens_limit, used.total_tokens, own.total_tokens_limit
        ),
        cost_limit=_left(parent.cost_limit, used.cost, own.cost_limit, what="cost limit"),
    )


def sub_output(result: RunResult[Any], agent_name: str | None) -> Any:
    """What a finished sub-run hands the calling model: its output.

    Raises:
        UserError: The sub-run paused for approval. Its caller would be told ``null`` and
            the call waiting for a person would be lost: only the run a person resumes
            may pause.
    """
    if not result.paused:
        return result.output
    tools = sorted({r.tool_name for r in result.approvals})
    raise UserError(
        f"Agent {agent_name or 'agent'!r}, used as a tool, paused for approval of "
        f"{', '.join(map(repr, tools))}: a sub-run cannot pause the run that called it; give "
        "tools that need approval to the calling agent"
    )


_N = TypeVar("_N", int, float)


def _left(limit: _N | None, spent: _N | None, mine: _N | None, what: str = "limit") -> _N | None:
    """What a sub-run may still use of one limit: the caller's rest, capped by its own."""
    if limit is None or spent is None:  # no budget, or not priced (the caller's run stops)
        return mine
    rest = limit - spent
    if rest <= 0:
        shown = f"{spent:.6g}" if isinstance(spent, float) else str(spent)
        raise UsageLimitExceeded(
            f"The calling run has used up its {what} ({shown} of {limit}); "
            "the sub-agent cannot start"
        )
    return rest if mine is None else min(rest, mine)


class counted:
    """Adds what the sub-run inside the block consumed to ``into``, whatever its end."""

    def __init__(self, into: Usage) -> None:
        self._into = into
        self._capture = capture_run()

    def __enter__(self) -> None:
        self._run = self._capture.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._capture.__exit__(None, None, None)
        with _usage_lock:
            self._into += self._run.usage  # tokens and cost; an unpriced sub-run makes it None
