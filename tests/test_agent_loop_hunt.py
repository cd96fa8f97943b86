"""The agent loop as a user sees it: limits, tool_choice and sub-agents, in every run mode."""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

import pytest

from agentkit.agent import Agent
from agentkit.errors import (
    RunTimeoutError,
    ToolRetriesExceeded,
    UsageLimitExceeded,
    UserError,
)
from agentkit.testing import ScriptedModel, tool_call
from agentkit.tool import tool
from agentkit.usage import UsageLimits
from tests._agent_support import MODES, calls, client_for, run_mode


@tool
def note(x: int) -> int:
    """Note a number.

    Args:
        x: The number.
    """
    return x


@pytest.mark.parametrize("mode", MODES)
async def test_a_sub_agents_requests_do_not_use_up_the_callers_max_turns(mode: str) -> None:
    helper_model = ScriptedModel([tool_call("note", {"x": 1}), tool_call("note", {"x": 2}), "43"])
    helper = Agent(name="helper", tools=[note], client=client_for(helper_model))
    model = ScriptedModel([tool_call("helper", {"task": "count"}), "The helper says 43."])
    agent = Agent(tools=[helper.as_tool()], client=client_for(model), max_turns=2)
    result, _ = await run_mode(agent, mode, "go")
    # Before the fix: MaxTurnsExceeded after the caller's first request (1 + 3 >= 2).
    assert result.output == "The helper says 43."
    assert result.usage.requests == 5  # the usage still adds the helper's requests up


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("tools", "choice", "says"),
    [
        ([note], {"type": "function", "function": {"name": "nope"}}, "'nope'"),
        ([], "required", "no tools"),
    ],
)
async def test_a_runs_forced_tool_choice_is_checked_like_the_agents(
    mode: str, tools: list[Any], choice: Any, says: str
) -> None:
    model = ScriptedModel(["an answer", "another answer"])
    agent = Agent(tools=tools, client=client_for(model))
    # Before the fix: the unknown name was sent (a real server answers 400), and a forced
    # choice on an agent without tools was dropped without a word.
    with pytest.raises(UserError, match=says):
        await run_mode(agent, mode, "go", model_settings={"tool_choice": choice})
    assert model.requests == []


@tool
def slow_note(x: int) -> int:
    """Note a number, slowly.

    Args:
        x: The number.
    """
    time.sleep(0.1)
    return x


@pytest.mark.parametrize("mode", MODES)
async def test_a_sub_agent_stops_when_its_callers_run_timeout_ends_the_call(mode: str) -> None:
    def always_more(body: dict[str, Any]) -> Any:
        return tool_call("slow_note", {"x": len(body["messages"])})

    helper_model = ScriptedModel(always_more)
    helper = Agent(
        name="helper", tools=[slow_note], client=client_for(helper_model),
        max_repeated_tool_calls=None, max_turns=20,
    )  # fmt: skip
    model = ScriptedModel([tool_call("helper", {"task": "count"}), "done"])
    agent = Agent(tools=[helper.as_tool()], client=client_for(model), run_timeout=0.3)
    with pytest.raises(RunTimeoutError):
        await run_mode(agent, mode, "go")
    at_end = len(helper_model.requests)
    await asyncio.sleep(0.6)
    # Before the fix, a sync sub-run went on after its caller's end: 3 more requests
    # (and tool calls) here, up to its own max_turns.
    assert len(helper_model.requests) <= at_end + 1


@tool(needs_approval=True)
def refund(order_id: str) -> str:
    """Refund an order.

    Args:
        order_id: The order.
    """
    return f"refunded {order_id}"


@pytest.mark.parametrize("mode", MODES)
async def test_a_sub_agent_that_pauses_for_approval_is_a_failed_call_not_null(mode: str) -> None:
    helper_model = ScriptedModel([tool_call("refund", {"order_id": "ORD1"}), "refunded"])
    helper = Agent(name="helper", tools=[refund], client=client_for(helper_model))
    model = ScriptedModel([tool_call("helper", {"task": "refund ORD1"}), "Could not refund."])
    agent = Agent(tools=[helper.as_tool()], client=client_for(model))
    result, _ = await run_mode(agent, mode, "go")
    # Before the fix the calling model read "null" and the approval request was lost.
    assert result.messages[2]["content"] != "null"
    [failure] = result.tool_failures
    assert failure.error_type == "UserError"
    assert "paused for approval of 'refund'" in failure.error


@pytest.mark.parametrize("mode", MODES)
async def test_parallel_calls_with_the_same_slip_use_one_retry_of_the_budget(mode: str) -> None:
    bad = calls(("note", {"x": "1"}), ("note", {"x": "2"}), ("note", {"x": "3"}))
    good = calls(("note", {"x": 1}), ("note", {"x": 2}), ("note", {"x": 3}))
    model = ScriptedModel([bad, good, "noted"])
    agent = Agent(tools=[note], client=client_for(model))
    result, _ = await run_mode(agent, mode, "go")
    # Before the fix: ToolRetriesExceeded at once (3 failed calls > max_retries=2), the
    # model never told what was wrong.
    assert result.output == "noted"


@pytest.mark.parametrize("mode", MODES)
async def test_the_retry_budget_still_ends_a_run_of_bad_parallel_turns(mode: str) -> None:
    bad = calls(("note", {"x": "1"}), ("note", {"x": "2"}))
    model = ScriptedModel([bad, bad, bad, "never"])
    agent = Agent(tools=[note], client=client_for(model), max_repeated_tool_calls=None)
    with pytest.raises(ToolRetriesExceeded):
        await run_mode(agent, mode, "go")
    assert len(model.requests) == 3  # max_retries=2: two turns go back, the third fails


_request_user: contextvars.ContextVar[str] = contextvars.ContextVar("request_user", default="-")


@tool
async def act_as(user: str) -> str:
    """Act as a user from now on.

    Args:
        user: The user.
    """
    _request_user.set(user)
    return "ok"


@tool
def who() -> str:
    """Who this call acts as."""
    return _request_user.get()


@pytest.mark.parametrize("mode", MODES)
async def test_an_async_tool_alone_in_its_turn_keeps_its_context_variables(mode: str) -> None:
    model = ScriptedModel([tool_call("act_as", {"user": "root"}), tool_call("who"), "done"])
    agent = Agent(tools=[act_as, who], client=client_for(model))
    result, _ = await run_mode(agent, mode, "go")
    # Before the fix, in run/stream only, the async tool's set() leaked into the run (the
    # next call acted as "root") and into the caller's own context.
    assert result.messages[-2]["content"] == "-"
    assert _request_user.get() == "-"


@pytest.mark.parametrize("mode", MODES)
async def test_a_forced_call_sent_back_to_be_fixed_is_still_forced(mode: str) -> None:
    named = {"type": "function", "function": {"name": "note"}}
    model = ScriptedModel([tool_call("note", {"x": "one"}), tool_call("note", {"x": 1}), "1"])
    agent = Agent(tools=[note], client=client_for(model), model_settings={"tool_choice": named})
    result, _ = await run_mode(agent, mode, "go")
    assert result.output == "1"
    # Before the fix the second request said "auto": the model could answer with text
    # and never make the call the run forced.
    assert [r["tool_choice"] for r in model.requests] == [named, named, "auto"]


async def _slow_instructions(ctx: Any) -> str:
    await asyncio.sleep(5)
    return "Answer briefly."


@pytest.mark.parametrize("mode", MODES)
async def test_run_timeout_cuts_an_async_instructions_function(mode: str) -> None:
    model = ScriptedModel(["an answer"])
    agent = Agent(instructions=_slow_instructions, client=client_for(model), run_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(RunTimeoutError, match="_slow_instructions"):
        await run_mode(agent, mode, "go")
    # Before the fix the run waited the function's 5 s, then timed out at its request.
    assert time.monotonic() - started < 2
    assert model.requests == []


def test_as_tool_on_an_agent_named_for_people_says_to_pass_a_name() -> None:
    agent = Agent(name="Research Assistant", client=client_for(ScriptedModel([])))
    # Before the fix the error named 'AgentTool.__init__.<locals>.run_agent'.
    with pytest.raises(UserError, match=r"agent's name 'Research Assistant'.*as_tool\(name="):
        agent.as_tool()
    assert agent.as_tool(name="research").name == "research"


@pytest.mark.parametrize("mode", MODES)
async def test_a_run_at_its_token_limit_sends_no_further_request(mode: str) -> None:
    model = ScriptedModel([calls(("note", {"x": 1})), "never sent"])  # calls() uses 28 tokens
    agent = Agent(tools=[note], client=client_for(model))
    with pytest.raises(UsageLimitExceeded, match="28 tokens, reaching its limit of 28"):
        await run_mode(agent, mode, "go", usage_limits=UsageLimits(total_tokens_limit=28))
    # Before the fix a second request went out (the limit allowed no token more), and the
    # run failed after it, over the limit: as cost_limit does, reaching it stops the run.
    assert len(model.requests) == 1
