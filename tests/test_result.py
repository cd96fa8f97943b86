"""RunResult and Usage turn into JSON and back: what a program stores after a run."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from agentkit import Agent, Client
from agentkit._demo import get_weather
from agentkit.errors import UserError
from agentkit.result import RunResult, ToolFailure
from agentkit.testing import ScriptedModel, tool_call
from agentkit.usage import Usage


class Forecast(BaseModel):
    city: str
    temperature_c: int


def _run(output_type: type | None = None) -> tuple[RunResult[object], ScriptedModel]:
    final = '{"city": "北京", "temperature_c": 25}' if output_type else "北京今天晴。"
    model = ScriptedModel([tool_call("get_weather", {"city": "北京"}), final])
    kwargs = {"output_type": output_type} if output_type else {}
    agent = Agent(tools=[get_weather], client=Client(api_key="k", transport=model), **kwargs)
    return agent.run_sync("查询北京天气"), model


def test_usage_to_dict_round_trips() -> None:
    usage = Usage(requests=2, tool_calls=1, prompt_tokens=30, completion_tokens=7, total_tokens=37)
    data = usage.to_dict()
    assert data == {
        "requests": 2,
        "tool_calls": 1,
        "prompt_tokens": 30,
        "completion_tokens": 7,
        "total_tokens": 37,
        "cached_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert Usage.from_dict(json.loads(json.dumps(data))) == usage
    with pytest.raises(UserError, match="'requests' must be an int"):
        Usage.from_dict({"requests": "2"})
    with pytest.raises(UserError, match="unknown keys"):
        Usage.from_dict({"price": 1})


def test_a_priced_usage_keeps_its_cost_through_a_round_trip() -> None:
    # RunResult.to_dict() is "the whole result": cost included, when the run was priced.
    usage = Usage(requests=1, total_tokens=10)
    usage.cost = 0.25
    data = json.loads(json.dumps(usage.to_dict()))
    assert data["cost"] == 0.25
    back = Usage.from_dict(data)
    assert back.cost == 0.25 and back == usage
    assert "cost" not in Usage(requests=1).to_dict()  # unpriced: as before
    assert Usage.from_dict({"requests": 1}).cost is None
    for bad in ("1", -1, float("nan"), True):
        with pytest.raises(UserError, match="'cost' must be a finite number >= 0"):
            Usage.from_dict({"cost": bad})
    result = RunResult(output="x", messages=[], usage=usage)
    assert RunResult.from_dict(json.loads(json.dumps(result.to_dict()))).cost == 0.25


def test_a_real_run_result_round_trips_through_json() -> None:
    result, _ = _run()
    text = json.dumps(result.to_dict(), ensure_ascii=False)
    back = RunResult.from_dict(json.loads(text))
    assert back.output == "北京今天晴。"
    assert back.messages == result.messages
    assert back.usage == result.usage and back.usage.tool_calls == 1
    assert back.new_messages() == result.new_messages()
    # The restored messages continue the conversation as history.
    model = ScriptedModel(["好的。"])
    agent = Agent(tools=[get_weather], client=Client(api_key="k", transport=model))
    agent.run_sync("谢谢", history=back.messages)
    assert model.requests[0]["messages"][-2]["content"] == "北京今天晴。"


def test_structured_output_is_validated_back_into_its_type() -> None:
    result, _ = _run(Forecast)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["output"] == {"city": "北京", "temperature_c": 25}
    assert RunResult.from_dict(data, Forecast).output == Forecast(city="北京", temperature_c=25)
    assert RunResult.from_dict(data).output == {"city": "北京", "temperature_c": 25}
    data["output"] = {"city": "北京"}
    with pytest.raises(UserError, match="output does not fit"):
        RunResult.from_dict(data, Forecast)


def test_to_dict_copies_so_later_edits_do_not_leak() -> None:
    result = RunResult(
        output="x",
        messages=[{"role": "user", "content": "hi"}],
        usage=Usage(requests=1),
        tool_failures=[ToolFailure("t", "call_1", "ValueError", "boom")],
        notes=["a note"],
    )
    data = result.to_dict()
    data["messages"][0]["content"] = "changed"
    assert result.messages[0]["content"] == "hi"
    back = RunResult.from_dict(data)
    assert back.tool_failures == result.tool_failures and back.notes == ["a note"]
    with pytest.raises(UserError, match=r"missing keys \['usage'\]"):
        RunResult.from_dict({"output": "x", "messages": []})
