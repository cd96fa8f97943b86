"""The agent loop end to end, through the real clients and a scripted model over HTTP.

Every behaviour runs in all four ways of running (``MODES``): ``run``, ``run_sync``,
``stream`` and ``stream_sync``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from _agent_support import (
    MODES,
    assert_valid_history,
    async_client_for,
    calls,
    cancelled_messages,
    client_for,
    run_mode,
    text,
)
from pydantic import BaseModel
from typing_extensions import TypedDict

from agentkit import _workers
from agentkit.agent import Agent, ModelSettings, capture_run
from agentkit.agent.history import INTERRUPTED
from agentkit.agent.state import TOOL_TIMED_OUT
from agentkit.context import RunContext
from agentkit.errors import (
    APIStatusError,
    BadRequestError,
    ContentFilterError,
    EmptyResponseError,
    MaxTurnsExceeded,
    ModelRefusalError,
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
from agentkit.events import Hooks
from agentkit.messages import ChatCompletion, ToolCall
from agentkit.templates import Template
from agentkit.testing import ScriptedModel
from agentkit.tool import tool
from agentkit.usage import UsageLimits


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Look up the weather of a city.

    Args:
        city: The city name.
    """
    return {"city": city, "weather": "sunny", "temp_c": 25}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_weather_agent(mode: str) -> None:
    script = ScriptedModel([calls(("get_weather", {"city": "北京"})), text("北京晴,25°C。")])
    agent = Agent(instructions="你是天气助手。", tools=[get_weather], client=client_for(script))
    result, _ = await run_mode(agent, mode, "查询北京天气")

    assert result.output == "北京晴,25°C。"
    first, second = script.requests
    assert first["messages"] == [
        {"role": "system", "content": "你是天气助手。"},
        {"role": "user", "content": "查询北京天气"},
    ]
    assert first["tools"][0]["function"]["name"] == "get_weather"
    assert first["model"] == "gpt-5.4-mini"
    assert second["messages"][2]["tool_calls"][0]["id"] == "call_get_weather_0"
    tool_msg = second["messages"][3]
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == "call_get_weather_0"
    assert json.loads(tool_msg["content"]) == {"city": "北京", "weather": "sunny", "temp_c": 25}
    # Instructions are not part of the result's messages.
    assert [m["role"] for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert_valid_history(result.messages)
    assert result.usage.requests == 2 and result.usage.tool_calls == 1
    assert result.usage.total_tokens == 28 + 15
    assert result.new_messages() == result.messages


async def test_with_client_points_a_copy_at_another_server(mode: str) -> None:
    unused = ScriptedModel([])
    script = ScriptedModel([text("from the second server")])
    agent = Agent(instructions="x", tools=[get_weather], client=client_for(unused))
    moved = agent.with_client(client_for(script))

    result, _ = await run_mode(moved, mode, "hi")

    assert result.output == "from the second server"
    assert unused.requests == [] and len(script.requests) == 1
    assert moved.tools == agent.tools and moved.instructions == agent.instructions
    with pytest.raises(UserError, match="Client or AsyncClient"):
        agent.with_client("not a client")  # type: ignore[arg-type]


async def test_multi_turn_chat_with_history(mode: str) -> None:
    script = ScriptedModel([text("Hi Ada!"), text("Your name is Ada.")])
    agent = Agent(instructions="Be kind.", client=client_for(script))
    first, _ = await run_mode(agent, mode, "I am Ada.")
    second, _ = await run_mode(agent, mode, "What is my name?", history=first.messages)
    assert second.output == "Your name is Ada."
    sent = script.requests[1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"] == "Be kind."
    assert len(second.messages) == 4 and second.new_messages_start == 2
    assert second.new_messages() == [
        {"role": "user", "content": "What is my name?"},
        {"role": "assistant", "content": "Your name is Ada."},
    ]
    json.dumps(second.messages)


async def test_parallel_sync_tools_overlap_and_keep_order(mode: str) -> None:
    spans: dict[str, tuple[float, float]] = {}

    @tool
    def slow(name: str, delay: float) -> str:
        """Sleep, then answer."""
        start = time.monotonic()
        time.sleep(delay)
        spans[name] = (start, time.monotonic())
        return f"done {name}"

    script = ScriptedModel(
        [
            calls(("slow", {"name": "a", "delay": 0.3}), ("slow", {"name": "b", "delay": 0.05})),
            text("ok"),
        ]
    )
    agent = Agent(tools=[slow], client=client_for(script))
    t0 = time.monotonic()
    result, _ = await run_mode(agent, mode, "go")
    elapsed = time.monotonic() - t0
    (a0, a1), (b0, b1) = spans["a"], spans["b"]
    assert b0 < a1 and a0 < b1, "the two calls must overlap"
    assert elapsed < 0.3 + 0.05 + 0.2
    # The slow first call still comes first: emission order, not completion order.
    tool_msgs = [m for m in script.requests[1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_msgs] == ["done a", "done b"]
    assert_valid_history(result.messages)


async def test_concurrency_cap(mode: str) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    @tool
    def work(i: int) -> int:
        """Work."""
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return i

    script = ScriptedModel([calls(*[("work", {"i": i}) for i in range(6)]), text("ok")])
    agent = Agent(tools=[work], client=client_for(script), tool_concurrency=2)
    result, _ = await run_mode(agent, mode, "go")
    assert peak == 2
    assert [m["content"] for m in result.messages if m["role"] == "tool"] == [
        str(i) for i in range(6)
    ]


async def test_one_at_a_time_calls_run_in_the_models_order(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a sync run each call waits for its slot on a thread of its own; here the first
    # call's thread starts last, and the calls must still run in the model's order.
    real_submit = _workers.submit
    submitted = 0

    def late_first(job: Callable[[], None], name: str) -> None:
        nonlocal submitted
        submitted += 1
        delay = 0.05 if submitted == 1 else 0.0

        def run() -> None:
            time.sleep(delay)
            job()

        real_submit(run, name)

    monkeypatch.setattr(_workers, "submit", late_first)
    order: list[int] = []

    @tool
    def step(i: int) -> int:
        """Step."""
        order.append(i)
        return i

    script = ScriptedModel([calls(*[("step", {"i": i}) for i in range(4)]), text("ok")])
    agent = Agent(tools=[step], client=client_for(script), tool_concurrency=1)
    await run_mode(agent, mode, "go")
    assert order == [0, 1, 2, 3]


async def test_async_tools_run_concurrently(mode: str) -> None:
    @tool
    async def nap(n: int) -> int:
        """Nap."""
        await asyncio.sleep(0.2)
        return n

    script = ScriptedModel(
        [calls(("nap", {"n": 1}), ("nap", {"n": 2}), ("nap", {"n": 3})), text("ok")]
    )
    agent = Agent(tools=[nap], client=client_for(script))
    t0 = time.monotonic()
    result, _ = await run_mode(agent, mode, "go")
    assert time.monotonic() - t0 < 0.5
    assert [m["content"] for m in result.messages if m["role"] == "tool"] == ["1", "2", "3"]


async def test_forced_tool_choice_does_not_loop(mode: str) -> None:
    def model(body: dict[str, Any]) -> Any:
        # A model that obeys tool_choice: forced -> it calls the tool again, forever.
        if body.get("tool_choice") in ("required",) or isinstance(body.get("tool_choice"), dict):
            return calls(("get_weather", {"city": "x"}))
        return text("answer")

    script = ScriptedModel([model, model, model])
    agent = Agent(
        tools=[get_weather],
        client=client_for(script),
        model_settings={"tool_choice": "required"},
    )
    result, _ = await run_mode(agent, mode, "go")
    assert result.output == "answer"
    assert [r.get("tool_choice") for r in script.requests] == ["required", "auto"]

    named = {"type": "function", "function": {"name": "get_weather"}}
    script2 = ScriptedModel([model, model])
    agent2 = Agent(
        tools=[get_weather],
        client=client_for(script2),
        model_settings=ModelSettings(tool_choice=named),
    )
    result2, _ = await run_mode(agent2, mode, "go")
    assert [r.get("tool_choice") for r in script2.requests] == [named, "auto"]
    assert result2.output == "answer"


async def test_limit_error_keeps_the_conversation(mode: str) -> None:
    script = ScriptedModel([calls(("get_weather", {"city": f"c{i}"})) for i in range(3)])
    agent = Agent(tools=[get_weather], client=client_for(script), max_turns=3)
    with pytest.raises(MaxTurnsExceeded) as info:
        await run_mode(agent, mode, "loop")
    msgs = info.value.messages
    assert len(msgs) == 1 + 3 * 2
    assert_valid_history(msgs)
    # The messages can be sent again as history.
    script2 = ScriptedModel([text("fine")])
    agent2 = Agent(tools=[get_weather], client=client_for(script2))
    result, _ = await run_mode(agent2, mode, "continue", history=msgs)
    assert result.messages[: len(msgs)] == msgs


async def test_usage_limits(mode: str) -> None:
    script = ScriptedModel([calls(("get_weather", {"city": "a"}), ("get_weather", {"city": "b"}))])
    agent = Agent(
        tools=[get_weather],
        client=client_for(script),
        usage_limits=UsageLimits(tool_calls_limit=1),
    )
    with pytest.raises(UsageLimitExceeded) as info:
        await run_mode(agent, mode, "x")
    assert_valid_history(info.value.messages)
    assert info.value.messages[-1]["content"] == INTERRUPTED

    script = ScriptedModel(
        [text("a", usage={"prompt_tokens": 50, "completion_tokens": 60, "total_tokens": 110})]
    )
    agent = Agent(client=client_for(script))
    with pytest.raises(UsageLimitExceeded, match="110"):
        await run_mode(agent, mode, "x", usage_limits=UsageLimits(total_tokens_limit=100))


async def test_orphaned_tool_call_in_history_is_answered(mode: str) -> None:
    history = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_lost",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"x"}'},
                }
            ],
        },
    ]

    def strict_server(body: dict[str, Any]) -> Any:
        msgs = body["messages"]
        ids = {m.get("tool_call_id") for m in msgs if m["role"] == "tool"}
        if "call_lost" not in ids:
            return httpx.Response(
                400, json={"error": {"message": "orphan", "type": "invalid_request_error"}}
            )
        return text("ok")

    script = ScriptedModel([strict_server])
    agent = Agent(tools=[get_weather], client=client_for(script))
    result, _ = await run_mode(agent, mode, "again", history=history)
    assert result.output == "ok"
    assert result.messages[2] == {
        "role": "tool",
        "tool_call_id": "call_lost",
        "content": INTERRUPTED,
    }
    assert history[1:] == history[1:2]  # the caller's list is untouched
    assert len(history) == 2


async def test_empty_arguments(mode: str) -> None:
    @tool
    def now() -> str:
        """The time."""
        return "12:00"

    script = ScriptedModel([calls(("now", "")), text("noon")])
    agent = Agent(tools=[now], client=client_for(script))
    result, _ = await run_mode(agent, mode, "time?")
    assert result.output == "noon"
    sent = script.requests[1]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert sent == "{}"
    assert script.requests[1]["messages"][2]["content"] == "12:00"


async def test_model_mistakes_are_sent_back_then_fixed(mode: str) -> None:
    @tool
    def pick(n: int) -> str:
        """Pick a number; only 3 is accepted."""
        if n != 3:
            raise ModelRetry("pick 3")
        return "picked"

    script = ScriptedModel(
        [
            calls(("nope", {})),
            calls(("pick", '{"n": "many"}')),
            calls(("pick", {"n": 1})),
            calls(("pick", {"n": 3})),
            text("done"),
        ]
    )
    agent = Agent(tools=[pick], client=client_for(script))
    # Budget is per tool: "nope" used 1 of the unknown-tool budget, "pick" 2 of 2.
    result, _ = await run_mode(agent, mode, "x")
    assert result.output == "done"
    tool_contents = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert "Unknown tool 'nope'" in tool_contents[0] and "'pick'" in tool_contents[0]
    assert "n" in tool_contents[1] and "integer" in tool_contents[1]
    assert tool_contents[2].startswith("pick 3")
    assert tool_contents[3] == "picked"
    assert result.usage.tool_calls == 2


async def test_retry_budget_exhausted(mode: str) -> None:
    @tool(max_retries=1)
    def pick(n: int) -> str:
        """Pick."""
        raise ModelRetry("no")

    script = ScriptedModel([calls(("pick", {"n": 1})), calls(("pick", {"n": 2}))])
    agent = Agent(tools=[pick], client=client_for(script))
    with pytest.raises(ToolRetriesExceeded) as info:
        await run_mode(agent, mode, "x")
    assert info.value.tool_name == "pick"
    assert_valid_history(info.value.messages)
    assert info.value.messages[-1]["content"].startswith("no")


async def test_tool_exception_reported(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    @tool
    def fragile() -> str:
        """Breaks."""
        raise RuntimeError("secret connection string")

    script = ScriptedModel([calls(("fragile", {})), text("sorry")])
    agent = Agent(tools=[fragile], client=client_for(script))
    with caplog.at_level(logging.ERROR, logger="agentkit"):
        result, _ = await run_mode(agent, mode, "x")
    assert result.output == "sorry"
    sent = script.requests[1]["messages"][-1]["content"]
    assert "secret" not in sent and "failed" in sent
    assert result.tool_failures[0].error == "secret connection string"
    assert any(
        r.exc_info and "secret connection string" in r.getMessage() + str(r.exc_info[1])
        for r in caplog.records
    )


async def test_tool_exception_raised(mode: str) -> None:
    @tool
    def fragile() -> str:
        """Breaks."""
        raise ValueError("bad")

    script = ScriptedModel([calls(("fragile", {}))])
    agent = Agent(tools=[fragile], client=client_for(script), on_tool_error="raise")
    with pytest.raises(ToolExecutionError) as info:
        await run_mode(agent, mode, "x")
    assert isinstance(info.value.__cause__, ValueError)
    assert_valid_history(info.value.messages)


async def test_tool_timeout_counts_as_failure(mode: str) -> None:
    @tool(timeout=0.1)
    def hang() -> str:
        """Hangs."""
        time.sleep(0.5)
        return "late"

    @tool(timeout=0.1)
    async def ahang() -> str:
        """Hangs too."""
        await asyncio.sleep(5)
        return "late"

    script = ScriptedModel([calls(("hang", {}), ("ahang", {})), text("gave up")])
    agent = Agent(tools=[hang, ahang], client=client_for(script))
    t0 = time.monotonic()
    result, _ = await run_mode(agent, mode, "x")
    assert time.monotonic() - t0 < 0.45
    assert result.output == "gave up"
    assert [f.error_type for f in result.tool_failures] == ["TimeoutError", "TimeoutError"]
    tool_msgs = [m for m in result.messages if m["role"] == "tool"]
    assert all("did not finish in time" in m["content"] for m in tool_msgs)


async def test_repeated_tool_calls_finish_with_tool_choice_none(mode: str) -> None:
    same = calls(("get_weather", {"city": "x"}))
    script = ScriptedModel([same, same, same, text("It is sunny.")])
    agent = Agent(tools=[get_weather], client=client_for(script))
    result, _ = await run_mode(agent, mode, "x")
    assert result.output == "It is sunny."
    assert result.usage.tool_calls == 2
    assert script.requests[3]["tool_choice"] == "none"
    assert any("repeated" in note for note in result.notes)
    assert_valid_history(result.messages)

    script = ScriptedModel([same, same, same, same])
    agent = Agent(tools=[get_weather], client=client_for(script))
    with pytest.raises(RepeatedToolCallError) as info:
        await run_mode(agent, mode, "x")
    assert_valid_history(info.value.messages)


async def test_large_tool_result_truncated(mode: str) -> None:
    @tool
    def dump() -> str:
        """A lot of text."""
        return "y" * 5000

    script = ScriptedModel([calls(("dump", {})), text("ok")])
    agent = Agent(tools=[dump], client=client_for(script), max_tool_result_chars=1000)
    result, _ = await run_mode(agent, mode, "x")
    sent = script.requests[1]["messages"][-1]["content"]
    assert sent.startswith("y" * 1000) and "truncated" in sent and "5000" in sent
    assert len(sent) < 1200
    assert any("truncated" in n for n in result.notes)


async def test_truncated_and_empty_responses(mode: str) -> None:
    script = ScriptedModel([text(None, finish="length")])
    agent = Agent(client=client_for(script))
    with pytest.raises(ResponseTruncatedError) as info:
        await run_mode(agent, mode, "x")
    assert info.value.messages[0] == {"role": "user", "content": "x"}

    if "stream" not in mode:
        script = ScriptedModel([httpx.Response(200, json={"choices": []})])
        agent = Agent(client=client_for(script))
        with pytest.raises(EmptyResponseError):
            await run_mode(agent, mode, "x")


async def test_api_error_mid_run_carries_messages(mode: str) -> None:
    bad = httpx.Response(
        400,
        json={
            "error": {
                "message": "Invalid request.",
                "type": "invalid_request_error",
                "code": "invalid_request",
            }
        },
    )
    script = ScriptedModel([calls(("get_weather", {"city": "x"})), bad])
    agent = Agent(tools=[get_weather], client=client_for(script))
    with pytest.raises(BadRequestError) as info:
        await run_mode(agent, mode, "x")
    assert len(info.value.messages) == 3
    assert_valid_history(info.value.messages)
    assert "sk-test" not in str(info.value)


async def test_run_timeout(mode: str) -> None:
    @tool
    async def slow() -> str:
        """Slow."""
        await asyncio.sleep(1)
        return "late"

    script = ScriptedModel([calls(("slow", {})), text("never")])
    agent = Agent(tools=[slow], client=client_for(script), run_timeout=0.2)
    t0 = time.monotonic()
    with pytest.raises(RunTimeoutError) as info:
        await run_mode(agent, mode, "x")
    assert time.monotonic() - t0 < 0.8
    assert_valid_history(info.value.messages)


@pytest.mark.parametrize("limit", ["tool timeout", "run timeout"])
def test_a_hung_sync_tool_does_not_hold_up_asyncio_run(limit: str) -> None:
    # The abandoned tool runs on a daemon thread of its own: asyncio.run's shutdown of the
    # default executor does not wait for it, whether its own timeout or the run's deadline
    # gave up on it.
    release = threading.Event()

    def hang() -> str:
        """Hangs."""
        release.wait(5)
        return "late"

    script = ScriptedModel([calls(("hang", {})), text("gave up")])
    if limit == "tool timeout":
        agent = Agent(tools=[tool(timeout=0.1)(hang)], client=client_for(script))
    else:
        agent = Agent(tools=[tool(hang)], client=client_for(script), run_timeout=0.2)
    started = time.monotonic()
    try:
        if limit == "tool timeout":
            assert asyncio.run(agent.run("x")).output == "gave up"
        else:
            with pytest.raises(RunTimeoutError):
                asyncio.run(agent.run("x"))
        assert time.monotonic() - started < 1
    finally:
        release.set()


def test_a_hung_sync_tool_does_not_keep_a_run_sync_script_from_exiting() -> None:
    # Pool threads are joined at interpreter exit; the sync driver's are daemon threads.
    script = """
import time
from agentkit import Agent, Client, tool
from agentkit.testing import ScriptedModel, tool_call

@tool(timeout=0.1)
def hang() -> str:
    \"\"\"Hangs.\"\"\"
    time.sleep(10)
    return "late"

model = ScriptedModel([tool_call("hang", {}), tool_call("hang", {}), "gave up"])
agent = Agent(tools=[hang], client=Client(api_key="k", transport=model))
print(agent.run_sync("x").output)
"""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "gave up"
    assert time.monotonic() - started < 5


def test_a_hung_call_gives_its_slot_to_the_next_in_a_sync_run() -> None:
    release = threading.Event()

    @tool(timeout=0.1)
    def hang() -> str:
        """Hangs."""
        release.wait(5)
        return "late"

    @tool
    def quick() -> str:
        """Quick."""
        return "quick done"

    script = ScriptedModel([calls(("hang", {}), ("quick", {})), text("ok")])
    agent = Agent(tools=[hang, quick], client=client_for(script), tool_concurrency=1)
    started = time.monotonic()
    try:
        result = agent.run_sync("x")
        assert time.monotonic() - started < 2
    finally:
        release.set()
    tool_results = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert tool_results[0] == TOOL_TIMED_OUT
    assert tool_results[1] == "quick done"


class Order(BaseModel):
    order_id: str
    amount: float
    status: str


async def test_structured_output(mode: str) -> None:
    script = ScriptedModel(
        [
            text('{"order_id": "ORD1", "amount": "ninety", "status": "paid"}'),
            text('{"order_id": "ORD1", "amount": 99.9, "status": "paid"}'),
        ]
    )
    agent = Agent(instructions="Extract the order.", output_type=Order, client=client_for(script))
    result, _ = await run_mode(agent, mode, "订单 ORD1 已支付 99.9 元")
    assert result.output == Order(order_id="ORD1", amount=99.9, status="paid")
    first = script.requests[0]
    assert first["response_format"] == {"type": "json_object"}
    system = first["messages"][0]["content"]
    assert system.startswith("Extract the order.") and '"order_id"' in system
    feedback = script.requests[1]["messages"][-1]
    assert feedback["role"] == "user" and "amount" in feedback["content"]
    assert "ninety" not in feedback["content"]


async def test_structured_output_json_schema_mode_and_simple_types(mode: str) -> None:
    class Point(TypedDict):
        x: int
        y: int

    script = ScriptedModel([text('{"x": 1, "y": 2}')])
    agent = Agent(output_type=Point, output_mode="json_schema", client=client_for(script))
    result, _ = await run_mode(agent, mode, "x")
    assert result.output == {"x": 1, "y": 2}
    assert script.requests[0]["response_format"]["type"] == "json_schema"

    script = ScriptedModel([text('{"result": 42}')])
    agent_int = Agent(output_type=int, client=client_for(script))
    result_int, _ = await run_mode(agent_int, mode, "x")
    assert result_int.output == 42


async def test_structured_output_gives_up(mode: str) -> None:
    script = ScriptedModel([text("nope"), text("{}"), text("[1]")])
    agent = Agent(output_type=Order, client=client_for(script), output_retries=2)
    with pytest.raises(OutputValidationError) as info:
        await run_mode(agent, mode, "x")
    assert info.value.content == "[1]"
    assert len(info.value.messages) == 6


async def test_template_instructions(mode: str) -> None:
    script = ScriptedModel([text("ok")])
    agent = Agent(instructions=Template("You help {{ user }}."), client=client_for(script))
    await run_mode(agent, mode, "x", variables={"user": "Ada"})
    assert script.requests[0]["messages"][0]["content"] == "You help Ada."
    with pytest.raises(UserError, match="user"):
        await run_mode(agent, mode, "x")
    plain = Agent(instructions="static", client=client_for(script))
    with pytest.raises(UserError, match="Template"):
        await run_mode(plain, mode, "x", variables={"a": 1})


async def test_hooks_see_everything(mode: str) -> None:
    seen: list[str] = []

    class Recorder(Hooks):
        def on_request(self, request: dict[str, Any]) -> None:
            seen.append(f"request:{len(request['messages'])}")

        def on_response(self, response: ChatCompletion) -> None:
            seen.append(f"response:{response.finish_reason}")

        def on_tool_call(self, call: ToolCall) -> None:
            seen.append(f"call:{call.name}")

        def on_tool_result(self, call: ToolCall, content: str, is_error: bool) -> None:
            seen.append(f"result:{call.name}:{is_error}")

    script = ScriptedModel([calls(("get_weather", {"city": "x"})), text("ok")])
    agent = Agent(tools=[get_weather], client=client_for(script), hooks=Recorder())
    await run_mode(agent, mode, "x")
    assert seen == [
        "request:1",
        "response:tool_calls",
        "call:get_weather",
        "result:get_weather:False",
        "request:3",
        "response:stop",
    ]


async def test_debug_logging(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    script = ScriptedModel([calls(("get_weather", {"city": "x"})), text("ok")])
    agent = Agent(tools=[get_weather], client=client_for(script))
    with caplog.at_level(logging.DEBUG, logger="agentkit"):
        await run_mode(agent, mode, "x")
    text_log = caplog.text
    assert "request 1" in text_log and "tool turn" in text_log and "final answer" in text_log
    assert "sk-test" not in text_log


async def test_agent_as_tool(mode: str) -> None:
    inner_script = ScriptedModel([text("Paris")])
    inner = Agent(name="geographer", client=client_for(inner_script))
    outer_script = ScriptedModel(
        [calls(("geographer", {"task": "capital of France?"})), text("It is Paris.")]
    )
    outer = Agent(tools=[inner.as_tool()], client=client_for(outer_script))
    result, _ = await run_mode(outer, mode, "x")
    assert result.output == "It is Paris."
    assert inner_script.requests[0]["messages"] == [
        {"role": "user", "content": "capital of France?"}
    ]
    assert result.messages[2]["content"] == "Paris"
    assert result.usage.requests == 3


async def test_deps_reach_tools(mode: str) -> None:
    @tool
    def whoami(ctx: RunContext[dict[str, str]]) -> str:
        """The current user."""
        return ctx.deps["user"]

    script = ScriptedModel([calls(("whoami", {})), text("ok")])
    agent = Agent(tools=[whoami], client=client_for(script))
    await run_mode(agent, mode, "x", deps={"user": "ada"})
    assert script.requests[1]["messages"][-1]["content"] == "ada"


async def test_shared_agent_concurrent_runs() -> None:
    def model(body: dict[str, Any]) -> Any:
        msgs = body["messages"]
        if msgs[-1]["role"] == "user":
            return calls(("get_weather", {"city": msgs[-1]["content"]}))
        return text(f"done {json.loads(msgs[-1]['content'])['city']}")

    script = ScriptedModel([*[model] * 100])
    agent = Agent(tools=[get_weather], client=async_client_for(script))
    results = await asyncio.gather(*(agent.run(f"city{i}") for i in range(50)))
    assert [r.output for r in results] == [f"done city{i}" for i in range(50)]
    for r in results:
        assert_valid_history(r.messages)
        assert r.usage.requests == 2


async def test_run_sync_inside_event_loop_is_a_clear_error() -> None:
    agent = Agent(client=client_for(ScriptedModel([])))
    with pytest.raises(UserError, match=r"await agent\.run"):
        agent.run_sync("x")
    with pytest.raises(UserError, match="event loop"):
        agent.stream_sync("x")


def test_run_sync_without_a_loop() -> None:
    script = ScriptedModel([text("hi")])
    agent = Agent(client=async_client_for(script))  # the sync twin is derived
    assert agent.run_sync("x").output == "hi"


async def test_cancellation_mid_tool_leaves_valid_history() -> None:
    started = asyncio.Event()

    @tool
    async def forever() -> str:
        """Never returns."""
        started.set()
        await asyncio.sleep(60)
        return "x"

    script = ScriptedModel([calls(("forever", {}), ("get_weather", {"city": "a"}))])
    agent = Agent(tools=[forever, get_weather], client=async_client_for(script))
    with capture_run() as run:
        task = asyncio.create_task(agent.run("x"))
    await started.wait()
    before = set(asyncio.all_tasks())
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as info:
        await task
    assert not hasattr(info.value, "messages")  # a foreign exception is left untouched
    msgs = cancelled_messages(run)
    assert_valid_history(msgs)
    assert [m["content"] for m in msgs if m["role"] == "tool"] == [INTERRUPTED, INTERRUPTED]
    await asyncio.sleep(0)
    leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leftover == [] or all(t is asyncio.current_task() for t in leftover)


@pytest.mark.parametrize("streamed", [False, True])
async def test_cancelling_a_turn_keeps_the_results_of_calls_that_finished(streamed: bool) -> None:
    # The refund happened: a history saying "interrupted" would have the model repeat it.
    refunds: list[str] = []
    started, refunded = asyncio.Event(), asyncio.Event()

    @tool
    async def refund(order: str) -> str:
        """Refund an order."""
        refunds.append(order)
        refunded.set()
        return f"refunded {order}"

    @tool
    async def lookup(order: str) -> str:
        """Look an order up."""
        started.set()
        await asyncio.sleep(60)
        return "found"

    script = ScriptedModel([calls(("refund", {"order": "A1"}), ("lookup", {"order": "A1"}))])
    agent = Agent(tools=[refund, lookup], client=async_client_for(script))

    async def consume() -> None:
        if streamed:
            async for _ in agent.stream("refund A1"):
                pass
        else:
            await agent.run("refund A1")

    with capture_run() as run:
        task = asyncio.create_task(consume())
    await started.wait()
    await refunded.wait()
    await asyncio.sleep(0.05)  # the finished call's outcome reaches the flow
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    msgs = cancelled_messages(run)
    assert_valid_history(msgs)
    assert [m["content"] for m in msgs if m["role"] == "tool"] == ["refunded A1", INTERRUPTED]
    assert refunds == ["A1"]


async def test_a_run_timeout_during_a_turn_keeps_the_finished_results(mode: str) -> None:
    @tool
    def refund(order: str) -> str:
        """Refund an order."""
        return f"refunded {order}"

    @tool
    async def lookup(order: str) -> str:
        """Look an order up."""
        await asyncio.sleep(5)
        return "found"

    script = ScriptedModel([calls(("refund", {"order": "B2"}), ("lookup", {"order": "B2"}))])
    agent = Agent(tools=[refund, lookup], client=client_for(script), run_timeout=0.3)
    with pytest.raises(RunTimeoutError) as info:
        await run_mode(agent, mode, "refund B2")
    msgs = info.value.messages
    assert_valid_history(msgs)
    assert [m["content"] for m in msgs if m["role"] == "tool"] == ["refunded B2", TOOL_TIMED_OUT]


@pytest.mark.parametrize("sync", [False, True])
async def test_a_stream_left_early_still_leaves_its_history_to_capture_run(sync: bool) -> None:
    # A Stop button: the consumer breaks out after the tool call started.
    script = ScriptedModel([calls(("get_weather", {"city": "北京"})), text("晴")])
    agent = Agent(tools=[get_weather], client=client_for(script))

    def leave_sync() -> None:
        with agent.stream_sync("天气?") as events:
            for event in events:
                if event.type == "tool_call_started":
                    break

    async def leave_async() -> None:
        async with agent.stream("天气?") as events:
            async for event in events:
                if event.type == "tool_call_started":
                    break

    with capture_run() as run:
        if sync:
            await asyncio.to_thread(leave_sync)  # copies the context: the capture
        else:
            await leave_async()
    assert run.result is None and run.error is None
    assert run.messages is not None
    assert_valid_history(run.messages)
    assert [m["role"] for m in run.messages] == ["user", "assistant", "tool"]
    assert run.usage.requests == 1


async def test_a_refusal_is_a_text_runs_answer_with_a_note(mode: str) -> None:
    refusal = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    agent = Agent(client=client_for(ScriptedModel([refusal])))
    result, events = await run_mode(agent, mode, "x")
    assert result.output == "I can't help with that."
    assert result.notes == ["The model refused to answer; its refusal is the output."]
    assert result.messages[-1] == {"role": "assistant", "content": "I can't help with that."}
    if mode.endswith("stream"):  # a UI showing text deltas shows the refusal
        assert "".join(e.text for e in events if e.type == "text_delta") == result.output


async def test_a_refusal_where_structured_output_was_asked_is_not_retried(mode: str) -> None:
    class Answer(BaseModel):
        value: int

    refusal = {"role": "assistant", "content": None, "refusal": "No."}
    script = ScriptedModel([refusal, text('{"value": 1}')])
    agent = Agent(client=client_for(script), output_type=Answer)
    with pytest.raises(ModelRefusalError, match="refused to answer: No") as info:
        await run_mode(agent, mode, "x")
    assert info.value.refusal == "No."
    assert_valid_history(info.value.messages)
    assert len(script.requests) == 1  # not sent back as "not valid JSON"


async def test_the_content_filter_is_an_error_or_a_note(mode: str) -> None:
    withheld = ScriptedModel([{"content": "", "finish_reason": "content_filter"}])
    with pytest.raises(ContentFilterError, match="content_filter") as info:
        await run_mode(Agent(client=client_for(withheld)), mode, "x")
    assert info.value.messages[0] == {"role": "user", "content": "x"}
    cut = ScriptedModel([{"content": "part of it", "finish_reason": "content_filter"}])
    result, _ = await run_mode(Agent(client=client_for(cut)), mode, "x")
    assert result.output == "part of it"
    assert "content filter stopped the answer part way" in result.notes[0]


async def test_calls_to_a_tool_with_no_parameters_are_counted_and_limited(mode: str) -> None:
    # Their arguments are {}: falsy, and once not counted at all.
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    script = ScriptedModel([calls(("ping", {})), calls(("ping", {})), text("done")])
    agent = Agent(tools=[ping], client=client_for(script))
    result, _ = await run_mode(agent, mode, "x")
    assert result.usage.tool_calls == 2
    limited = Agent(
        tools=[ping],
        client=client_for(ScriptedModel([calls(("ping", {})), calls(("ping", {}))])),
        usage_limits=UsageLimits(tool_calls_limit=1),
    )
    with pytest.raises(UsageLimitExceeded, match="tool call limit of 1"):
        await run_mode(limited, mode, "x")


async def test_cancellation_mid_request() -> None:
    # The server would answer only after 10 s; the run is cancelled while it waits.
    script = ScriptedModel([{"fault": "latency=10"}, text("late")])
    agent = Agent(client=async_client_for(script))
    with capture_run() as run:
        task = asyncio.create_task(agent.run("x"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled_messages(run) == [{"role": "user", "content": "x"}]
    assert len(script.requests) == 1  # the request was in flight when it was cancelled


async def test_default_client_is_built_lazily_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    agent = Agent()  # no key needed to build
    with pytest.raises(UserError, match="AGENTKIT_API_KEY") as info:
        await agent.run("x")
    assert info.value.messages == [{"role": "user", "content": "x"}]


async def test_agent_settings_are_sent(mode: str) -> None:
    script = ScriptedModel([text("ok")])
    agent = Agent(
        "other-model",
        client=client_for(script),
        model_settings={"temperature": 0.2, "max_completion_tokens": 50, "top_p": 0.9},
    )
    await run_mode(agent, mode, "x", model_settings={"temperature": 0.7})
    body = script.requests[0]
    assert body["model"] == "other-model"
    assert (body["temperature"], body["max_completion_tokens"], body["top_p"]) == (0.7, 50, 0.9)
    assert "tools" not in body and "tool_choice" not in body
    assert agent.model_settings.temperature == 0.2


def test_agent_rejects_misuse() -> None:
    with pytest.raises(UserError, match="instructions"):
        Agent(instructions=42)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="Tool"):
        Agent(tools=[print])  # type: ignore[list-item]
    with pytest.raises(UserError, match="on_tool_error"):
        Agent(on_tool_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="client"):
        Agent(client="x")  # type: ignore[arg-type]
    assert "get_weather" in repr(Agent(tools=[get_weather]))


async def test_server_error_is_typed(mode: str) -> None:
    script = ScriptedModel([httpx.Response(503, text="<html>down</html>")])
    agent = Agent(client=client_for(script))
    with pytest.raises(APIStatusError) as info:
        await run_mode(agent, mode, "x")
    assert info.value.messages == [{"role": "user", "content": "x"}]


def test_repeated_asyncio_run_gets_a_client_per_loop() -> None:
    script = ScriptedModel([text("one"), text("two")])
    agent = Agent(client=client_for(script))
    assert asyncio.run(agent.run("a")).output == "one"
    assert asyncio.run(agent.run("b")).output == "two"
    assert len(script.requests) == 2


async def test_async_client_given_is_used_as_is() -> None:
    script = ScriptedModel([text("hi")])
    client = async_client_for(script)
    agent = Agent(client=client)
    assert (await agent.run("x")).output == "hi"
    assert (await agent._get_async_client()) is client


async def test_weather_agent_against_the_emulator(mode: str) -> None:
    from agentkit.client import Client
    from agentkit.testing import EmulatorTransport

    @tool(name="get_weather", description="查询天气信息")
    def weather_zh(city: str) -> dict[str, Any]:
        return {"city": city, "weather": "晴", "temp_c": 25}

    client = Client(api_key="sk-test", transport=EmulatorTransport())
    agent = Agent(instructions="你是天气助手。", tools=[weather_zh], client=client)
    result, events = await run_mode(agent, mode, "查询北京天气")
    assert "北京" in result.output
    assert [m["role"] for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert result.messages[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert result.usage.requests == 2 and result.usage.tool_calls == 1
    if "stream" in mode:
        assert any(e.type == "tool_call_started" for e in events)


async def test_aclose_closes_only_agent_built_clients() -> None:
    script = ScriptedModel([text("a")])
    user_client = client_for(script)
    agent = Agent(client=user_client)
    await agent.run("x")
    built = await agent._get_async_client()
    await agent.aclose()
    assert built._http.is_closed
    assert not user_client._http.is_closed
    assert (await agent._get_async_client()) is not built  # a fresh one on next use
