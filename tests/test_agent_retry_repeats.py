"""A tool that keeps asking for a retry on the identical call ends in ToolRetriesExceeded,
not in the repeated-call guard (whose advice, "use the result you have", would be wrong)."""

from __future__ import annotations

import pytest

from agentkit import Agent, ModelRetry, ToolRetriesExceeded, tool
from agentkit.client import Client
from agentkit.testing import ScriptedModel, tool_call


@tool(max_retries=2)
def lookup(order_id: str) -> str:
    """Look an order up.

    Args:
        order_id: The order id.
    """
    raise ModelRetry(f"订单 {order_id} 不存在")


def test_identical_failing_calls_use_up_the_retry_budget() -> None:
    model = ScriptedModel([tool_call("lookup", {"order_id": "X"}) for _ in range(6)])
    agent = Agent(tools=[lookup], client=Client(api_key="k", transport=model))
    with pytest.raises(ToolRetriesExceeded) as info:
        agent.run_sync("查订单 X")
    assert len(model.requests) == 3  # the first call and its 2 retries
    tool_messages = [m["content"] for m in info.value.messages if m["role"] == "tool"]
    assert all("不存在" in c for c in tool_messages)
    assert not any("Use the result you already have" in c for c in tool_messages)
