"""Prices and cost: RunResult.cost, per-model prices, cached tokens, sub-agents, the cost
limit, and None (never an under-count) when a response cannot be priced."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, Client, Prices, UsageLimitExceeded, UsageLimits, UserError
from agentkit.messages import CompletionUsage
from agentkit.prices import response_cost, token_details
from agentkit.testing import ScriptedModel, tool_call
from agentkit.usage import Usage


def _body(content: str, prompt: int, completion: int, model: str = "gpt-5.4-mini",
          **usage: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "id": "x",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content},
             "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion, **usage},
    }  # fmt: skip


def _agent(script: list[Any], **kwargs: Any) -> Agent[Any]:
    return Agent(client=Client(api_key="k", transport=ScriptedModel(script)), **kwargs)


P = Prices(input_per_mtok=2.0, output_per_mtok=8.0, cached_input_per_mtok=0.5)


def test_prices_arithmetic() -> None:
    assert P.cost(1_000_000, 0) == 2.0
    assert P.cost(0, 1_000_000) == 8.0
    assert P.cost(1_000_000, 0, cached_tokens=400_000) == pytest.approx(0.6 * 2 + 0.4 * 0.5)
    assert Prices(1, 1).cost(100, 0, cached_tokens=100) == Prices(1, 1).cost(100, 0)
    for bad in (-1, float("nan"), "1", True):
        with pytest.raises(UserError, match="input_per_mtok"):
            Prices(input_per_mtok=bad, output_per_mtok=1)  # type: ignore[arg-type]


def test_token_details_read_the_wire_details_defensively() -> None:
    usage = CompletionUsage.from_dict(
        {"prompt_tokens": 10, "completion_tokens": 5,
         "prompt_tokens_details": {"cached_tokens": 4},
         "completion_tokens_details": {"reasoning_tokens": 3}}
    )  # fmt: skip
    assert token_details(usage) == (4, 3)
    assert token_details(CompletionUsage.from_dict({"prompt_tokens": 1})) == (None, None)
    odd = CompletionUsage.from_dict({"prompt_tokens": 1, "prompt_tokens_details": "x"})
    assert token_details(odd) == (None, None)
    assert token_details(None) == (None, None)


def test_run_result_cost_with_cached_tokens() -> None:
    script = [
        _body("a", 1000, 100, prompt_tokens_details={"cached_tokens": 600}),
    ]
    result = _agent(script, prices=P).run_sync("hi")
    expected = (400 * 2.0 + 600 * 0.5 + 100 * 8.0) / 1e6
    assert result.cost == pytest.approx(expected)
    assert result.usage.cost == result.cost


def test_cost_sums_over_requests_and_is_none_without_prices() -> None:
    script = [tool_call("t", {}), _body("done", 10, 10)]

    def t() -> str:
        """A tool."""
        return "x"

    from agentkit import tool

    result = _agent(script, prices=Prices(1.0, 1.0), tools=[tool(t)]).run_sync("hi")
    assert result.usage.requests == 2
    assert result.cost == pytest.approx(result.usage.total_tokens / 1e6)
    assert _agent([_body("a", 1, 1)]).run_sync("hi").cost is None


def test_per_model_prices_and_an_unpriceable_response_gives_none() -> None:
    table = {"gpt-5.4-mini": Prices(1.0, 2.0), "big": Prices(10.0, 20.0)}
    assert _agent([_body("a", 100, 10, model="big")], prices=table).run_sync("x").cost == (
        pytest.approx((100 * 10 + 10 * 20) / 1e6)
    )
    # A model missing from the table: the total is unknown, not an under-count.
    assert _agent([_body("a", 100, 10, model="other")], prices=table).run_sync("x").cost is None
    # The requested model is the fallback when the response names none.
    body = _body("a", 100, 10)
    del body["model"]
    cost = _agent([body], prices=table, model="big").run_sync("x").cost
    assert cost == pytest.approx((100 * 10 + 10 * 20) / 1e6)
    # No usage reported: unknown.
    no_usage = _body("a", 1, 1)
    del no_usage["usage"]
    assert _agent([no_usage], prices=P).run_sync("x").cost is None
    assert response_cost(P, None) is None


def test_bad_prices_are_user_errors() -> None:
    with pytest.raises(UserError, match="prices must"):
        _agent([], prices={"m": 1.0})  # type: ignore[dict-item]
    with pytest.raises(UserError, match="prices must"):
        _agent([], prices=3)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="needs prices"):
        _agent(["a"]).run_sync("x", usage_limits=UsageLimits(cost_limit=1.0))


def test_cost_limit_stops_the_run() -> None:
    def t() -> str:
        """A tool."""
        return "x"

    from agentkit import tool

    script = [tool_call("t", {}), tool_call("t", {"again": 1}), _body("done", 10, 10)]
    agent = _agent(script, prices=Prices(10_000.0, 10_000.0), tools=[tool(t)],
                   usage_limits=UsageLimits(cost_limit=0.05))  # fmt: skip
    with pytest.raises(UsageLimitExceeded, match="cost") as info:
        agent.run_sync("hi")
    assert info.value.messages  # the conversation so far
    # An unpriceable response under a cost limit: the budget cannot be kept.
    agent = _agent([_body("a", 1, 1, model="other")], prices={"m": P},
                   usage_limits=UsageLimits(cost_limit=1.0))  # fmt: skip
    with pytest.raises(UsageLimitExceeded, match="could not be priced"):
        agent.run_sync("hi")


def test_sub_agent_cost_adds_up_and_an_unpriced_sub_agent_makes_it_unknown() -> None:
    sub = _agent([_body("sub", 1000, 0)], prices=Prices(1.0, 1.0), name="sub")
    main = _agent([tool_call("sub", {"task": "go"}), _body("final", 1000, 0)],
                  prices=Prices(1.0, 1.0), tools=[sub.as_tool()])  # fmt: skip
    result = main.run_sync("hi")
    assert result.usage.requests == 3  # two of the main agent, one of the sub-agent
    assert result.usage.prompt_tokens > 2000
    assert result.cost == pytest.approx(result.usage.total_tokens / 1e6)

    unpriced = _agent([_body("sub", 1000, 0)], name="sub")
    main = _agent([tool_call("sub", {"task": "go"}), _body("final", 1000, 0)],
                  prices=Prices(1.0, 1.0), tools=[unpriced.as_tool()])  # fmt: skip
    assert main.run_sync("hi").cost is None


def test_usage_addition_keeps_cost_honest() -> None:
    a, b = Usage(requests=1, cost=0.5), Usage(requests=1, cost=0.25)
    assert (a + b).cost == 0.75
    assert (a + Usage(requests=1)).cost is None  # requests without a price
    assert (a + Usage()).cost == 0.5  # nothing spent, nothing unknown
    assert (Usage() + Usage()).cost is None


def test_a_resumed_run_keeps_its_paused_runs_cost_and_budget() -> None:
    from agentkit import tool

    @tool(needs_approval=True)
    def refund(order: str) -> str:
        """Refund an order.

        Args:
            order: The order.
        """
        return "refunded"

    per_token = Prices(input_per_mtok=1e6, output_per_mtok=1e6)  # 1 per token
    script = [tool_call("refund", {"order": "A"}), _body("done", 10, 10)]
    agent = _agent(script, tools=[refund], prices=per_token)
    paused = agent.run_sync("refund A")
    decisions = {paused.approvals[0].tool_call_id: {"type": "approve"}}
    assert paused.cost == paused.usage.total_tokens
    result = agent.resume_sync(paused.pause, decisions)
    # The tokens went on from the paused run's; the cost used to start again from 0.
    assert result.usage.total_tokens == paused.usage.total_tokens + 20
    assert result.cost == result.usage.total_tokens
    # And the budget goes on from there too: 20 more would pass a fresh limit of 25.
    limited = _agent([_body("done", 10, 10)], tools=[refund], prices=per_token,
                     usage_limits=UsageLimits(cost_limit=25.0))  # fmt: skip
    assert paused.cost is not None and paused.cost > 5
    with pytest.raises(UsageLimitExceeded, match="cost"):
        limited.resume_sync(paused.pause, decisions)
