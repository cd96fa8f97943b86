"""Bad options to ``Agent``, ``UsageLimits`` and ``ModelSettings`` are a ``UserError``
naming the option when they are given, never a raw error (or no limit at all) mid-run."""

from __future__ import annotations

import math
from typing import Any

import pytest
from _agent_support import client_for, text

from agentkit import Agent, tool
from agentkit.agent import ModelSettings
from agentkit.errors import UserError
from agentkit.testing import ScriptedModel
from agentkit.usage import UsageLimits


@tool
def get_weather(city: str) -> str:
    """Weather.

    Args:
        city: The city.
    """
    return "晴"


BAD_AGENT_OPTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("one tool, not a list", {"tools": get_weather}, "tools must be a list, got a single Tool"),
    ("tools as a str", {"tools": "get_weather"}, "tools must be a list of tools, got str"),
    ("max_turns as a str", {"max_turns": "3"}, "max_turns must be an int >= 1"),
    ("max_turns zero", {"max_turns": 0}, "max_turns must be an int >= 1"),
    ("tool_concurrency bool", {"tool_concurrency": True}, "tool_concurrency must be an int"),
    ("run_timeout NaN", {"run_timeout": math.nan}, "run_timeout must be a finite number"),
    ("run_timeout negative", {"run_timeout": -1}, "run_timeout must be a finite number"),
    ("run_timeout str", {"run_timeout": "5"}, "run_timeout must be a finite number"),
    ("history_turns negative", {"history_turns": -3}, "history_turns must be an int >= 1"),
    ("history_turns str", {"history_turns": "5"}, "history_turns must be an int >= 1"),
    ("busy_timeout negative", {"busy_timeout": -1}, "busy_timeout must be a finite number"),
    ("max_depth zero", {"max_depth": 0}, "max_depth must be an int >= 1"),
    ("output_retries negative", {"output_retries": -1}, "output_retries must be an int >= 0"),
    ("max_tool_result_chars 0", {"max_tool_result_chars": 0}, "max_tool_result_chars must be"),
    ("usage_limits as a dict", {"usage_limits": {"request_limit": 1}}, "usage_limits must be a"),
    ("tool_choice unknown", {"model_settings": {"tool_choice": "bogus"}}, "tool_choice must be"),
    (
        "tool_choice named without a name",
        {"model_settings": {"tool_choice": {"type": "function"}}},
        "tool_choice must be",
    ),
    ("temperature str", {"model_settings": {"temperature": "hot"}}, "temperature must be"),
    (
        "max_completion_tokens 0",
        {"model_settings": {"max_completion_tokens": 0}},
        "max_completion_tokens must be an int >= 1",
    ),
]


@pytest.mark.parametrize(
    ("options", "message"), [pytest.param(o, m, id=i) for i, o, m in BAD_AGENT_OPTIONS]
)
def test_bad_agent_options_are_user_errors_naming_them(
    options: dict[str, Any], message: str
) -> None:
    options.setdefault("tools", [get_weather])
    with pytest.raises(UserError, match=message):
        Agent(client=client_for(ScriptedModel([text("hi")])), **options)


def test_a_forced_tool_choice_needs_a_tool_to_call() -> None:
    client = client_for(ScriptedModel([text("hi")]))
    with pytest.raises(UserError, match="forces a tool call, but the agent has no tools"):
        Agent(client=client, model_settings={"tool_choice": "required"})
    named = {"type": "function", "function": {"name": "get_time"}}
    with pytest.raises(UserError, match="names tool 'get_time', which the agent does not have"):
        Agent(tools=[get_weather], client=client, model_settings={"tool_choice": named})
    ok = {"type": "function", "function": {"name": "get_weather"}}
    Agent(tools=[get_weather], client=client, model_settings={"tool_choice": ok})


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"request_limit": "3"}, r"request_limit=\.\.\.\) must be an int >= 0"),
        ({"tool_calls_limit": -1}, r"tool_calls_limit=\.\.\.\) must be an int >= 0"),
        ({"total_tokens_limit": 1.5}, r"total_tokens_limit=\.\.\.\) must be an int >= 0"),
        ({"cost_limit": math.inf}, r"cost_limit=\.\.\.\) must be a finite number >= 0"),
        ({"cost_limit": "1"}, r"cost_limit=\.\.\.\) must be a finite number >= 0"),
    ],
)
def test_usage_limits_check_their_fields(limits: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        UsageLimits(**limits)


def test_zero_limits_stay_allowed() -> None:
    assert UsageLimits(tool_calls_limit=0, cost_limit=0).tool_calls_limit == 0


def test_a_runs_own_bad_options_fail_before_a_request_is_sent() -> None:
    model = ScriptedModel([text("hi")])
    agent = Agent(tools=[get_weather], client=client_for(model))
    with pytest.raises(UserError, match="usage_limits must be a UsageLimits"):
        agent.run_sync("x", usage_limits={"request_limit": 1})  # type: ignore[arg-type]
    with pytest.raises(UserError, match="tool_choice must be"):
        agent.run_sync("x", model_settings=ModelSettings(tool_choice="always"))
    assert model.requests == []
