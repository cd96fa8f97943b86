"""Hooks across a run that pauses for approval and the run that resumes it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentkit import Agent, AsyncClient, Client, Hooks, tool
from agentkit.messages import ToolCall
from agentkit.testing import ScriptedModel

ran: list[str] = []


@tool(needs_approval=True)
def refund(order: str) -> str:
    """Refund an order.

    Args:
        order: The order.
    """
    ran.append(f"refund:{order}")
    return "refunded"


@tool
def lookup(order: str) -> str:
    """Look an order up.

    Args:
        order: The order.
    """
    ran.append(f"lookup:{order}")
    return "found"


class Audit(Hooks):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_tool_call(self, call: ToolCall) -> None:
        self.seen.append(f"call:{call.name}")
        ran.append(f"announced:{call.name}")

    def on_tool_result(self, call: ToolCall, content: str, is_error: bool) -> None:
        self.seen.append(f"result:{call.name}:{is_error}")


def _agent(script: ScriptedModel, hooks: Hooks, mode: str) -> Agent[Any]:
    client = Client(api_key="k", transport=script) if mode == "sync" else None
    aclient = AsyncClient(api_key="k", transport=script) if mode == "async" else None
    return Agent(tools=[refund, lookup], client=client or aclient, hooks=hooks)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_call_waiting_for_approval_is_announced_where_it_is_decided(
    mode: str, decision: str
) -> None:
    # An audit hook logging each call before it runs: the approved refund ran in the
    # resuming process without on_tool_call, which the first process had been told of
    # although the call did not run there.
    ran.clear()
    both = {"tool_calls": [{"name": "lookup", "arguments": {"order": "A"}},
                           {"name": "refund", "arguments": {"order": "A"}}]}  # fmt: skip
    script = ScriptedModel([both, "done"])
    first, second = Audit(), Audit()
    decided: dict[str, Any] = {"type": decision}
    if decision == "reject":
        decided["reason"] = "no"
    if mode == "sync":
        paused = _agent(script, first, mode).run_sync("refund A")
        ids = {r.tool_call_id: decided for r in paused.approvals}
        _agent(script, second, mode).resume_sync(paused.pause, ids)
    else:

        async def main() -> None:
            paused = await _agent(script, first, mode).run("refund A")
            ids = {r.tool_call_id: decided for r in paused.approvals}
            await _agent(script, second, mode).resume(paused.pause, ids)

        asyncio.run(main())
    assert first.seen == ["call:lookup", "result:lookup:False"]
    rejected = decision == "reject"
    assert second.seen == ["call:refund", f"result:refund:{rejected}"]
    if not rejected:  # announced before it ran
        assert ran.index("announced:refund") < ran.index("refund:A")
