"""Instructions as a function of the run context, the configurable ModelRetry hint, and
the agent being immutable (issue 18, "the library, as used")."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from agentkit import Agent, ModelRetry, RunContext, UserError, tool
from agentkit.errors import ImmutableAgentError
from agentkit.testing import ScriptedModel
from tests._agent_support import MODES, async_client_for, calls, client_for, run_mode, text


@dataclass
class Customer:
    name: str
    tier: str


def _agent(script: ScriptedModel, mode: str, **kwargs: Any) -> Agent[Any, Any]:
    client = async_client_for(script) if mode.startswith("async") else client_for(script)
    return Agent(client=client, **kwargs)


def _system(request: dict[str, Any]) -> str:
    first = request["messages"][0]
    assert first["role"] == "system", request["messages"]
    return str(first["content"])


def for_customer(ctx: RunContext[Customer]) -> str:
    return f"Help {ctx.deps.name} ({ctx.deps.tier}); {len(ctx.messages)} message(s) so far."


async def for_customer_async(ctx: RunContext[Customer]) -> str:
    return f"Async help for {ctx.deps.name}."


# ------------------------------------------------------------------ instructions functions


@pytest.mark.parametrize("mode", MODES)
async def test_a_sync_function_is_rendered_on_every_run(mode: str) -> None:
    script = ScriptedModel([text("hi Ann"), text("hi Bo")])
    agent = _agent(script, mode, instructions=for_customer)
    await run_mode(agent, mode, "hello", deps=Customer("Ann", "gold"))
    await run_mode(agent, mode, "hello", deps=Customer("Bo", "basic"))
    assert _system(script.requests[0]) == "Help Ann (gold); 1 message(s) so far."
    assert _system(script.requests[1]) == "Help Bo (basic); 1 message(s) so far."


@pytest.mark.parametrize("mode", MODES)
async def test_an_async_function_is_awaited_in_every_mode(mode: str) -> None:
    script = ScriptedModel([text("ok")])
    agent = _agent(script, mode, instructions=for_customer_async)
    result, _ = await run_mode(agent, mode, "hello", deps=Customer("Ann", "gold"))
    assert result.output == "ok"
    assert _system(script.requests[0]) == "Async help for Ann."
    assert result.messages[0] == {"role": "user", "content": "hello"}  # not stored


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_an_error_in_the_function_is_the_users_naming_it(mode: str, kind: str) -> None:
    def broken(ctx: RunContext[Any]) -> str:
        return str(ctx.deps["missing"])

    async def broken_async(ctx: RunContext[Any]) -> str:
        return broken(ctx)

    script = ScriptedModel([text("never")])
    agent = _agent(script, mode, instructions=broken if kind == "sync" else broken_async)
    with pytest.raises(UserError) as info:
        await run_mode(agent, mode, "hello", deps={})
    assert "instructions function" in str(info.value) and "broken" in str(info.value)
    assert "KeyError" in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)
    assert script.requests == []


async def test_the_function_must_return_text() -> None:
    script = ScriptedModel([text("never")])
    agent = _agent(script, "async", instructions=lambda ctx: 42)
    with pytest.raises(UserError, match=r"returned int; it must return a str"):
        await agent.run("hello")


async def test_output_instructions_follow_the_functions_text() -> None:
    script = ScriptedModel([text('{"result": 5}')])
    agent = _agent(script, "async", instructions=lambda ctx: "Count.", output_type=int)
    result = await agent.run("how many?")
    assert result.output == 5
    assert _system(script.requests[0]).startswith("Count.\n\nAnswer with only a JSON object")


def test_anything_else_is_refused_when_the_agent_is_built() -> None:
    with pytest.raises(UserError, match=r"instructions must be a str, an agentkit Template"):
        Agent(instructions=42)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the retry hint


@tool(max_retries=3)
def find_order(order_id: str) -> str:
    """Find an order.

    Args:
        order_id: The order number.
    """
    raise ModelRetry(f"订单 {order_id} 不存在，请检查订单号。")


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("请修正后重试。", "订单 X1 不存在，请检查订单号。\n请修正后重试。"),
        (None, "订单 X1 不存在，请检查订单号。"),
        ("", "订单 X1 不存在，请检查订单号。"),
    ],
)
@pytest.mark.parametrize("mode", ["async", "sync_stream"])
async def test_the_retry_hint_is_configurable(mode: str, hint: str | None, expected: str) -> None:
    script = ScriptedModel([calls(("find_order", {"order_id": "X1"})), text("抱歉")])
    agent = _agent(script, mode, tools=[find_order], retry_hint=hint)
    await run_mode(agent, mode, "查一下订单 X1")
    assert script.requests[1]["messages"][-1]["content"] == expected


async def test_the_default_hint_is_still_appended() -> None:
    script = ScriptedModel([calls(("find_order", {"order_id": "X1"})), text("sorry")])
    agent = _agent(script, "async", tools=[find_order])
    await agent.run("order X1?")
    assert script.requests[1]["messages"][-1]["content"].endswith(
        "\nFix the problem and try again."
    )


def test_a_retry_hint_must_be_text() -> None:
    with pytest.raises(UserError, match=r"retry_hint must be a str or None"):
        Agent(retry_hint=3)  # type: ignore[arg-type]


# ------------------------------------------------------------------ immutability


def test_assigning_an_attribute_is_an_error_saying_what_to_do() -> None:
    agent = Agent(max_turns=5)
    with pytest.raises(ImmutableAgentError) as info:
        agent.max_turns = 3  # type: ignore[attr-defined]
    assert isinstance(info.value, AttributeError) and isinstance(info.value, UserError)
    assert "Agent.max_turns cannot be assigned" in str(info.value)
    assert "new Agent(...)" in str(info.value) and "with_client" in str(info.value)
    with pytest.raises(ImmutableAgentError, match=r"Agent._spec cannot be deleted"):
        del agent._spec
    with pytest.raises(AttributeError):
        agent.name = "renamed"  # type: ignore[misc]
    assert agent.name is None


async def test_copies_made_inside_agentkit_still_work() -> None:
    first, second = ScriptedModel([text("from first")]), ScriptedModel([text("from second")])
    agent = Agent(client=async_client_for(first), instructions="Hi.")
    twin = agent.with_client(async_client_for(second))
    assert (await twin.run("x")).output == "from second"
    assert (await agent.run("x")).output == "from first"
    clone = copy.copy(agent)
    with pytest.raises(ImmutableAgentError):
        clone.instructions_ = "no"  # type: ignore[attr-defined]
