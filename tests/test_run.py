"""The pure run state (``agentkit.agent.state``): every decision of the loop, without I/O."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agentkit.agent.history import INTERRUPTED, repair_history
from agentkit.agent.output import OutputSpec
from agentkit.agent.settings import ModelSettings
from agentkit.agent.spec import AgentSpec
from agentkit.agent.state import CallOutcome, RunState
from agentkit.context import RunContext
from agentkit.errors import (
    EmptyResponseError,
    MaxTurnsExceeded,
    ModelRetry,
    OutputValidationError,
    RepeatedToolCallError,
    ResponseTruncatedError,
    RunTimeoutError,
    ToolExecutionError,
    ToolRetriesExceeded,
    UsageLimitExceeded,
    UserError,
)
from agentkit.messages import ChatCompletion
from agentkit.tool import tool
from agentkit.usage import UsageLimits


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Weather of a city."""
    return {"city": city, "temp": 21}


@tool(max_retries=1)
def picky(n: int) -> str:
    """Fails unless n is 3."""
    if n != 3:
        raise ModelRetry("n must be 3")
    return "ok"


def spec(**options: Any) -> AgentSpec:
    tools = options.pop("tools", [get_weather, picky])
    settings = options.pop("settings", ModelSettings())
    output = options.pop("output", None)
    return AgentSpec.build(model="m", tools=tools, settings=settings, output=output, **options)


def completion(
    content: str | None = None,
    calls: list[tuple[str, Any]] | None = None,
    finish: str = "stop",
    usage: dict[str, int] | None = None,
) -> ChatCompletion:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for i, (name, args) in enumerate(calls)
        ]
        finish = "tool_calls"
    body: dict[str, Any] = {"choices": [{"message": message, "finish_reason": finish}]}
    if usage:
        body["usage"] = usage
    return ChatCompletion.from_dict(body)


def run_calls(state: RunState, pending: list[Any]) -> list[CallOutcome | None]:
    out: list[CallOutcome | None] = []
    for pc in pending:
        if pc.kwargs is None:
            out.append(None)
            continue
        try:
            out.append(CallOutcome(pc.tool.invoke_sync(pc.kwargs, pc.ctx)))
        except Exception as exc:
            out.append(CallOutcome(error=exc))
    return out


def assert_valid_history(messages: list[dict[str, Any]]) -> None:
    """Every assistant tool call is answered, right after it, exactly once."""
    assert repair_history(messages) is messages
    json.dumps(messages)  # plain JSON data


def test_plain_answer() -> None:
    state = RunState(spec(), system={"role": "system", "content": "be brief"}, prompt="hi")
    request = state.next_request()
    assert request.messages[0] == {"role": "system", "content": "be brief"}
    assert request.messages[1] == {"role": "user", "content": "hi"}
    assert request.kwargs["model"] == "m"
    assert [t["function"]["name"] for t in request.kwargs["tools"]] == ["get_weather", "picky"]
    assert state.apply_response(completion("hello", usage={"total_tokens": 7})) == []
    assert state.done
    result = state.result()
    assert result.output == "hello"
    assert result.messages == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    assert result.usage.requests == 1 and result.usage.total_tokens == 7


def test_tool_turn_results_in_emission_order() -> None:
    state = RunState(spec(), system=None, prompt="weather?")
    state.next_request()
    calls = [("get_weather", {"city": "北京"}), ("get_weather", {"city": "上海"})]
    pending = state.apply_response(completion(calls=calls))
    assert [p.kwargs for p in pending] == [{"city": "北京"}, {"city": "上海"}]
    # Outcomes given in call order; the messages must follow the calls' order.
    state.apply_results(run_calls(state, pending))
    tool_msgs = state.messages[2:]
    assert [m["tool_call_id"] for m in tool_msgs] == ["call_0", "call_1"]
    assert json.loads(tool_msgs[0]["content"])["city"] == "北京"
    assert state.usage.tool_calls == 2
    assert_valid_history(state.messages)


def test_empty_arguments_become_an_empty_object() -> None:
    @tool
    def now() -> str:
        """The time."""
        return "noon"

    state = RunState(spec(tools=[now]), system=None, prompt="time?")
    state.next_request()
    pending = state.apply_response(completion(calls=[("now", "")]))
    assert pending[0].kwargs == {}
    assert state.messages[-1]["tool_calls"][0]["function"]["arguments"] == "{}"


def test_unknown_tool_and_bad_arguments_go_back_to_the_model() -> None:
    state = RunState(spec(), system=None, prompt="x")
    state.next_request()
    pending = state.apply_response(
        completion(calls=[("nope", {}), ("get_weather", {"town": "x"}), ("get_weather", "{bad")])
    )
    assert all(p.kwargs is None for p in pending)
    state.apply_results(run_calls(state, pending))
    contents = [m["content"] for m in state.messages[2:]]
    assert "Unknown tool 'nope'" in contents[0] and "'get_weather'" in contents[0]
    assert "city" in contents[1]
    assert "get_weather" in contents[2]
    assert all(p.is_error for p in pending)
    assert state.usage.tool_calls == 0


def test_retry_budget_is_shared_and_exhaustion_keeps_history() -> None:
    state = RunState(spec(), system=None, prompt="x")
    state.next_request()
    pending = state.apply_response(completion(calls=[("picky", {"n": 1})]))
    state.apply_results(run_calls(state, pending))
    assert "n must be 3" in state.messages[-1]["content"]
    state.next_request()
    pending = state.apply_response(completion(calls=[("picky", {"n": "x"})]))
    with pytest.raises(ToolRetriesExceeded) as info:
        state.apply_results(run_calls(state, pending))
    assert info.value.tool_name == "picky"
    assert_valid_history(info.value.messages)
    assert info.value.messages[-1]["role"] == "tool"


def test_tool_exception_is_hidden_from_model_and_recorded() -> None:
    @tool
    def boom() -> str:
        """Explodes."""
        raise RuntimeError("db password is hunter2")

    state = RunState(spec(tools=[boom]), system=None, prompt="x")
    state.next_request()
    pending = state.apply_response(completion(calls=[("boom", {})]))
    state.apply_results(run_calls(state, pending))
    assert "hunter2" not in state.messages[-1]["content"]
    assert "failed" in state.messages[-1]["content"]
    failure = state.tool_failures[0]
    assert (failure.tool_name, failure.error_type) == ("boom", "RuntimeError")
    assert "hunter2" in failure.error


def test_on_tool_error_raise_chains_the_cause() -> None:
    @tool
    def boom() -> str:
        """Explodes."""
        raise KeyError("k")

    state = RunState(spec(tools=[boom], on_tool_error="raise"), system=None, prompt="x")
    state.next_request()
    pending = state.apply_response(completion(calls=[("boom", {})]))
    with pytest.raises(ToolExecutionError) as info:
        state.apply_results(run_calls(state, pending))
    assert isinstance(info.value.__cause__, KeyError)
    assert_valid_history(info.value.messages)


def test_forced_tool_choice_resets_to_auto() -> None:
    s = spec(settings=ModelSettings(tool_choice="required"))
    state = RunState(s, system=None, prompt="x")
    assert state.next_request().kwargs["tool_choice"] == "required"
    pending = state.apply_response(completion(calls=[("get_weather", {"city": "a"})]))
    state.apply_results(run_calls(state, pending))
    assert state.next_request().kwargs["tool_choice"] == "auto"


def test_forced_tool_choice_kept_when_reset_disabled() -> None:
    s = spec(settings=ModelSettings(tool_choice="required"), reset_tool_choice=False)
    state = RunState(s, system=None, prompt="x")
    state.next_request()
    pending = state.apply_response(completion(calls=[("get_weather", {"city": "a"})]))
    state.apply_results(run_calls(state, pending))
    assert state.next_request().kwargs["tool_choice"] == "required"


def test_repeated_identical_calls_stop_with_tool_choice_none() -> None:
    state = RunState(spec(max_repeated_tool_calls=2), system=None, prompt="x")
    call = [("get_weather", {"city": "a"})]
    for args in ('{"city": "a"}', '{"city":"a"}'):  # spacing does not hide a repeat
        state.next_request()
        pending = state.apply_response(completion(calls=[("get_weather", args)]))
        assert pending[0].kwargs is not None
        state.apply_results(run_calls(state, pending))
    state.next_request()
    pending = state.apply_response(completion(calls=call))
    assert pending[0].kwargs is None  # third identical turn: not run
    state.apply_results(run_calls(state, pending))
    assert "Not run" in state.messages[-1]["content"]
    assert state.next_request().kwargs["tool_choice"] == "none"
    assert any("repeated" in n for n in state.notes)
    assert state.usage.tool_calls == 2
    # The model ignores tool_choice="none" and repeats again: typed error.
    with pytest.raises(RepeatedToolCallError) as info:
        state.apply_response(completion(calls=call))
    assert_valid_history(info.value.messages)


def test_max_turns_error_carries_history() -> None:
    state = RunState(spec(max_turns=1), system=None, prompt="x")
    state.next_request()
    pending = state.apply_response(completion(calls=[("get_weather", {"city": "a"})]))
    state.apply_results(run_calls(state, pending))
    with pytest.raises(MaxTurnsExceeded) as info:
        state.next_request()
    assert len(info.value.messages) == 3
    assert_valid_history(info.value.messages)


def test_usage_limits() -> None:
    limits = UsageLimits(tool_calls_limit=1)
    state = RunState(spec(usage_limits=limits), system=None, prompt="x")
    state.next_request()
    calls = [("get_weather", {"city": "a"}), ("get_weather", {"city": "b"})]
    with pytest.raises(UsageLimitExceeded) as info:
        state.apply_response(completion(calls=calls))
    msgs = info.value.messages
    assert [m["content"] for m in msgs[2:]] == [INTERRUPTED, INTERRUPTED]
    assert_valid_history(msgs)

    state = RunState(spec(usage_limits=UsageLimits(total_tokens_limit=10)), system=None, prompt="x")
    state.next_request()
    with pytest.raises(UsageLimitExceeded, match="11 tokens"):
        state.apply_response(completion("a", usage={"total_tokens": 11}))

    state = RunState(spec(usage_limits=UsageLimits(request_limit=0)), system=None, prompt="x")
    with pytest.raises(UsageLimitExceeded) as info2:
        state.next_request()
    assert info2.value.messages == [{"role": "user", "content": "x"}]


def test_deadline() -> None:
    state = RunState(spec(run_timeout=0.0), system=None, prompt="x")
    with pytest.raises(RunTimeoutError) as info:
        state.next_request()
    assert info.value.messages == [{"role": "user", "content": "x"}]


def test_length_without_content_and_empty_choices() -> None:
    state = RunState(spec(), system=None, prompt="x")
    state.next_request()
    with pytest.raises(ResponseTruncatedError, match="max_completion_tokens"):
        state.apply_response(completion(None, finish="length"))
    state = RunState(spec(), system=None, prompt="x")
    state.next_request()
    with pytest.raises(EmptyResponseError):
        state.apply_response(ChatCompletion.from_dict({"choices": []}))

    state = RunState(spec(), system=None, prompt="x")
    state.next_request()
    state.apply_response(completion("partial", finish="length"))
    assert state.output == "partial" and "token limit" in state.notes[0]


def test_large_tool_result_is_truncated_with_a_note() -> None:
    @tool
    def big() -> str:
        """Big."""
        return "x" * 1000

    state = RunState(spec(tools=[big], max_tool_result_chars=100), system=None, prompt="x")
    state.next_request()
    pending = state.apply_response(completion(calls=[("big", {})]))
    state.apply_results(run_calls(state, pending))
    content = state.messages[-1]["content"]
    assert content.startswith("x" * 100) and "truncated" in content and "1000" in content
    assert len(content) < 200
    assert "truncated" in state.notes[0]


def test_unserializable_result_is_a_tool_failure() -> None:
    @tool
    def weird() -> Any:
        """Returns an object."""
        return object()

    state = RunState(spec(tools=[weird]), system=None, prompt="x")
    state.next_request()
    pending = state.apply_response(completion(calls=[("weird", {})]))
    state.apply_results(run_calls(state, pending))
    assert state.tool_failures and state.tool_failures[0].error_type == "UserError"


def test_timeout_counts_as_failure() -> None:
    state = RunState(spec(), system=None, prompt="x")
    state.next_request()
    pending = state.apply_response(completion(calls=[("get_weather", {"city": "a"})]))
    state.apply_results([CallOutcome(error=TimeoutError("slow"), timed_out=True)])
    assert "did not finish in time" in state.messages[-1]["content"]
    assert state.tool_failures[0].error_type == "TimeoutError"
    assert pending[0].is_error


class Order(BaseModel):
    order_id: str
    amount: float
    status: str


def test_structured_output_retry_then_success() -> None:
    out = OutputSpec(Order, "json_object")
    state = RunState(spec(output=out), system=None, prompt="order?")
    req = state.next_request()
    assert req.kwargs["response_format"] == {"type": "json_object"}
    bad = json.dumps({"order_id": "A" * 5000, "amount": "lots", "status": 3})
    assert state.apply_response(completion(bad)) == []
    assert not state.done
    feedback = state.messages[-1]
    assert feedback["role"] == "user"
    # The compact error names each field once and never repeats the input.
    assert "amount" in feedback["content"] and "status" in feedback["content"]
    assert "AAAA" not in feedback["content"] and len(feedback["content"]) < 400
    good = '```json\n{"order_id": "ORD1", "amount": 99.9, "status": "paid"}\n```'
    state.next_request()
    state.apply_response(completion(good))
    assert state.done and state.output == Order(order_id="ORD1", amount=99.9, status="paid")


def test_structured_output_gives_up() -> None:
    state = RunState(
        spec(output=OutputSpec(Order, "json_object"), output_retries=1), system=None, prompt="x"
    )
    for _ in range(1):
        state.next_request()
        state.apply_response(completion("not json"))
    state.next_request()
    with pytest.raises(OutputValidationError) as info:
        state.apply_response(completion("still not json"))
    assert info.value.content == "still not json"
    assert info.value.messages[-1] == {"role": "assistant", "content": "still not json"}


def test_simple_output_types_are_wrapped() -> None:
    out = OutputSpec(list[int], "json_schema")
    assert out.wrapped
    assert out.response_format["type"] == "json_schema"
    assert out.response_format["json_schema"]["schema"]["required"] == ["result"]
    assert out.validate('{"result": [1, 2]}') == [1, 2]
    with pytest.raises(ValueError, match="result"):
        out.validate("[1, 2]")

    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    assert OutputSpec(Point, "json_object").validate('{"x": 1, "y": 2}') == Point(1, 2)


def test_repair_history() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    call2 = {**call, "id": "c2"}
    history = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "tool_calls": [call, call2]},
        {"role": "tool", "tool_call_id": "c2", "content": "r2"},
        {"role": "tool", "tool_call_id": "zz", "content": "stray"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "tool_calls": [call]},
    ]
    fixed = repair_history(history)
    assert [(m["role"], m.get("tool_call_id")) for m in fixed] == [
        ("user", None),
        ("assistant", None),
        ("tool", "c2"),
        ("tool", "c1"),
        ("user", None),
        ("assistant", None),
        ("tool", "c1"),
    ]
    assert fixed[3]["content"] == INTERRUPTED
    assert len(history) == 6  # the input is not mutated
    assert repair_history(fixed) is fixed


def test_history_with_orphan_is_repaired_before_the_first_request() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    history = [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [call]}]
    state = RunState(spec(), system=None, prompt="again", history=history)
    msgs = state.next_request().messages
    assert msgs[2] == {"role": "tool", "tool_call_id": "c1", "content": INTERRUPTED}
    assert msgs[3] == {"role": "user", "content": "again"}
    assert state.new_messages_start == 3


def test_bad_inputs() -> None:
    with pytest.raises(UserError, match="history"):
        RunState(spec(), system=None, prompt="x", history=["hi"])  # type: ignore[list-item]
    with pytest.raises(UserError, match="prompt"):
        RunState(spec(), system=None, prompt=None)
    with pytest.raises(UserError, match="unique"):
        spec(tools=[get_weather, get_weather])
    with pytest.raises(UserError, match="temprature"):
        ModelSettings.coerce({"temprature": 1})


def test_settings_override_per_run() -> None:
    s = spec(settings=ModelSettings(temperature=0.5))
    s2 = s.with_settings({"temperature": 0.1, "tool_choice": "none"})
    state = RunState(s2, system=None, prompt="x")
    kwargs = state.next_request().kwargs
    assert kwargs["temperature"] == 0.1 and kwargs["tool_choice"] == "none"
    assert s.base_kwargs["temperature"] == 0.5


def test_context_is_given_to_tools_that_take_it() -> None:
    @tool
    def whoami(ctx: RunContext[str]) -> str:
        """Who."""
        return f"{ctx.deps}:{ctx.tool_call_id}:{len(ctx.messages)}"

    state = RunState(spec(tools=[whoami]), system=None, prompt="x", deps="ada")
    state.next_request()
    pending = state.apply_response(completion(calls=[("whoami", {})]))
    state.apply_results(run_calls(state, pending))
    assert state.messages[-1]["content"] == "ada:call_0:2"


_ids = st.sampled_from(["a", "b", "c"])
_message = st.one_of(
    st.just({"role": "user", "content": "u"}),
    st.just({"role": "assistant", "content": "t"}),
    st.lists(_ids, min_size=1, max_size=3, unique=True).map(
        lambda ids: {
            "role": "assistant",
            "tool_calls": [
                {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                for i in ids
            ],
        }
    ),
    _ids.map(lambda i: {"role": "tool", "tool_call_id": i, "content": "r"}),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_message, max_size=12))
def test_repair_history_always_yields_a_valid_history(history: list[dict[str, Any]]) -> None:
    fixed = repair_history(history)
    open_ids: list[str] = []
    for m in fixed:
        if m["role"] == "tool":
            assert m["tool_call_id"] in open_ids
            open_ids.remove(m["tool_call_id"])
        else:
            assert not open_ids
            open_ids = [c["id"] for c in m.get("tool_calls", [])]
    assert not open_ids
    assert repair_history(fixed) is fixed
    # Only tool messages are ever added or dropped.
    assert [m for m in fixed if m["role"] != "tool"] == [m for m in history if m["role"] != "tool"]
