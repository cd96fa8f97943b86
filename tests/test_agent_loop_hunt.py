"""The agent loop as a user sees it: limits, tool_choice and sub-agents, in every run mode."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.agent import Agent
from agentkit.errors import UserError
from agentkit.testing import ScriptedModel, tool_call
from agentkit.tool import tool
from tests._agent_support import MODES, client_for, run_mode


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
