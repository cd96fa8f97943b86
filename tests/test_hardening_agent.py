"""Issue 17's agent-side breaks, each kept fixed: misbehaving tools, nested JSON, sub-agents
escaping limits, duplicate tool-call ids, cancellation, the live ``ctx.messages`` list,
``GeneratorExit`` and iterator histories. All four run modes where the run is involved.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pydantic
import pytest

from agentkit.agent import Agent
from agentkit.context import RunContext
from agentkit.errors import OutputValidationError, ToolExecutionError, UsageLimitExceeded
from agentkit.messages import Message
from agentkit.testing import ScriptedModel
from agentkit.tool import Tool, tool
from agentkit.usage import UsageLimits
from tests._agent_support import MODES, async_client_for, calls, client_for, run_mode, text
from tests._reliability_support import KEY, shared_server
from tests._reliability_support import assert_valid_history as server_accepts

DEEP = "[" * 100_000 + "]" * 100_000  # deeper than any interpreter's recursion limit


def agent_for(script: ScriptedModel, mode: str, **options: Any) -> Agent[Any]:
    client = async_client_for(script) if mode.startswith("async") else client_for(script)
    return Agent(client=client, **options)


async def bounded(coro: Any, seconds: float = 20.0) -> Any:
    """``coro``, failing the test instead of hanging it (the old breaks hung for ever)."""
    return await asyncio.wait_for(coro, seconds)


# ------------------------------------------------------------ item 3: StopIteration


@pytest.mark.parametrize("timeout", [None, 5.0])
@pytest.mark.parametrize("mode", MODES)
async def test_a_def_tool_raising_stop_iteration_is_a_tool_failure(
    mode: str, timeout: float | None
) -> None:
    @tool(timeout=timeout)
    def next_item() -> str:
        """The next item."""
        return next(iter([]))

    script = ScriptedModel([calls(("next_item", {})), text("No items left.")])
    agent = agent_for(script, mode, tools=[next_item])
    result, _ = await bounded(run_mode(agent, mode, "next?"))
    assert result.output == "No items left."
    [failure] = result.tool_failures
    assert failure.error_type == "StopIteration"  # not a hang, not "TimeoutError"
    assert script.requests[1]["messages"][-1]["role"] == "tool"


# ------------------------------------------------------------ item 5: nested JSON


@pytest.mark.parametrize("mode", MODES)
async def test_deeply_nested_tool_arguments_go_back_to_the_model(mode: str) -> None:
    ran: list[Any] = []

    @tool
    def store(x: int) -> str:
        """Store a number."""
        ran.append(x)
        return "ok"

    script = ScriptedModel([calls(("store", '{"x": ' + DEEP + "}")), text("Sorry.")])
    agent = agent_for(script, mode, tools=[store])
    result, _ = await bounded(run_mode(agent, mode, "store it"))
    assert ran == [] and result.output == "Sorry."
    sent = script.requests[1]["messages"][-1]
    assert sent["role"] == "tool" and "Invalid arguments for tool 'store'" in sent["content"]


class Answer(pydantic.BaseModel):
    value: int


@pytest.mark.parametrize("mode", MODES)
async def test_deeply_nested_structured_output_is_an_output_validation_error(mode: str) -> None:
    script = ScriptedModel([*[text('{"value": ' + DEEP + "}")] * 3])
    agent = agent_for(script, mode, output_type=Answer, output_retries=2)
    with pytest.raises(OutputValidationError, match="not valid JSON") as info:
        await bounded(run_mode(agent, mode, "answer"))
    assert len(script.requests) == 3
    assert info.value.messages and info.value.messages[0]["role"] == "user"


def test_the_cli_prints_one_line_for_a_deeply_nested_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentkit.cli import main
    from tests._raw_server import RawServer, response_head

    body = DEEP.encode()

    async def nested_200(writer: asyncio.StreamWriter) -> None:
        head = response_head(content_type="application/json", content_length=str(len(body)))
        writer.write(head + body)
        await writer.drain()

    monkeypatch.setenv("AGENTKIT_API_KEY", KEY)
    with RawServer(nested_200) as raw:
        code = main(["--base-url", raw.url, "demo"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and "RecursionError" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("agentkit: error:")
    assert KEY not in err


# ------------------------------------------------------------ item 8: sub-agents


def _limit_script() -> ScriptedModel:
    """The parent always delegates; the helper always wants one more lookup."""

    def reply(body: dict[str, Any]) -> Any:
        names = {t["function"]["name"] for t in body.get("tools", [])}
        if "helper" in names:
            return calls(("helper", {"task": "look it up"}))
        return calls(("lookup", {"q": "x"}))

    return ScriptedModel([*[reply] * 40])


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return "more to look up"


@pytest.mark.parametrize("mode", MODES)
async def test_a_sub_agent_draws_on_the_parents_request_limit(mode: str) -> None:
    script = _limit_script()
    helper = agent_for(script, mode, name="helper", tools=[lookup], max_turns=50)
    parent = agent_for(
        script, mode, tools=[helper.as_tool()], max_turns=50,
        usage_limits=UsageLimits(request_limit=3),
    )  # fmt: skip
    with pytest.raises(UsageLimitExceeded) as info:
        await bounded(run_mode(parent, mode, "go"))
    assert len(script.requests) <= 3  # before the fix: 8 to 12
    assert info.value.messages


@pytest.mark.parametrize("mode", MODES)
async def test_a_failing_sub_run_still_counts_its_usage(mode: str) -> None:
    def parent_or_helper(body: dict[str, Any]) -> Any:
        names = {t["function"]["name"] for t in body.get("tools", [])}
        if "helper" in names:
            done = any(m["role"] == "tool" for m in body["messages"])
            return text("The helper failed.") if done else calls(("helper", {"task": "t"}))
        return calls(("lookup", {"q": "x"}))

    script = ScriptedModel([*[parent_or_helper] * 10])
    helper = agent_for(
        script, mode, name="helper", tools=[lookup], usage_limits=UsageLimits(request_limit=2)
    )
    parent = agent_for(script, mode, tools=[helper.as_tool()])
    result, _ = await bounded(run_mode(parent, mode, "go"))
    [failure] = result.tool_failures
    assert failure.error_type == "UsageLimitExceeded"
    assert len(script.requests) == 4  # parent, helper, helper, parent
    assert result.usage.requests == 4  # before the fix: 2 (the failed sub-run's were lost)
    assert result.usage.total_tokens == 28 * 3 + 15


class _Itself:
    """A tool source listing the agent as its own tool: an agent that calls itself."""

    source_name = "itself"
    on_error = "raise"

    def __init__(self) -> None:
        self.agent: Agent[Any] | None = None

    async def list_tools(self) -> list[Tool[Any, Any]]:
        return self.list_tools_sync()

    def list_tools_sync(self) -> list[Tool[Any, Any]]:
        assert self.agent is not None
        return [self.agent.as_tool(name="ask_self")]

    async def aclose(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.mark.parametrize("mode", MODES)
async def test_an_agent_calling_itself_stops_at_max_depth_with_a_clear_error(mode: str) -> None:
    script = ScriptedModel([*[calls(("ask_self", {"task": "again"}))] * 50])
    source = _Itself()
    agent = agent_for(script, mode, tools=[source], max_depth=3, on_tool_error="raise")
    source.agent = agent
    with pytest.raises(ToolExecutionError) as info:
        await bounded(run_mode(agent, mode, "go"))
    cause = info.value.__cause__
    while isinstance(cause, ToolExecutionError):  # one wrapper per level
        cause = cause.__cause__
    assert isinstance(cause, UsageLimitExceeded)
    assert "would run 4 agents deep, over its max_depth=3" in str(cause)
    assert len(script.requests) == 4  # before the fix: 120 levels, 241 requests


# ------------------------------------------------------------ item 9: tool-call ids


@tool
def get_weather(city: str) -> str:
    """The weather of a city."""
    return f"25 degrees in {city}"


@pytest.mark.parametrize("mode", MODES)
async def test_duplicate_ids_from_the_model_give_a_history_the_server_accepts(mode: str) -> None:
    reply = calls(
        ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"}),
        ("get_weather", {"city": "Oslo"}), ids=["call_0", "call_0", "call_9"],
    )  # fmt: skip
    script = ScriptedModel([reply, text("Sunny everywhere.")])
    agent = agent_for(script, mode, tools=[get_weather])
    result, _ = await bounded(run_mode(agent, mode, "weather?"))
    ids = [tc["id"] for tc in result.messages[1]["tool_calls"]]
    assert ids[0] == "call_0" and ids[2] == "call_9" and len(set(ids)) == 3
    answered = [m["tool_call_id"] for m in result.messages if m["role"] == "tool"]
    assert answered == ids
    await asyncio.to_thread(server_accepts, result.messages)  # strict validation, no 400


def _broken_history() -> list[Message]:
    def call(tid: Any, city: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "type": "function",
            "function": {"name": "get_weather", "arguments": f'{{"city": "{city}"}}'},
        }
        if tid is not None:
            item["id"] = tid
        return item

    return [
        {"role": "user", "content": "Weather in Paris, Rome, Oslo and Bern?"},
        {
            "role": "assistant",
            "tool_calls": [
                call("dup", "Paris"),
                call("dup", "Rome"),
                call(None, "Oslo"),
                call(7, "Bern"),
            ],
        },
        {"role": "tool", "tool_call_id": "dup", "content": "25 in Paris"},
        {"role": "tool", "tool_call_id": "dup", "content": "21 in Rome"},
        {"role": "assistant", "content": "Paris 25, Rome 21."},
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_a_history_with_duplicate_missing_or_non_string_ids_is_repaired(mode: str) -> None:
    history = _broken_history()
    script = ScriptedModel([text("Anything else?")])
    agent = agent_for(script, mode)
    result, _ = await bounded(run_mode(agent, mode, "Thanks", history=iter(history)))
    sent = script.requests[0]["messages"]
    ids = [tc["id"] for tc in sent[1]["tool_calls"]]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == 4
    assert ids[0] == "dup"
    results = {m["tool_call_id"]: m["content"] for m in sent if m["role"] == "tool"}
    assert results[ids[0]] == "25 in Paris" and results[ids[1]] == "21 in Rome"
    assert set(results) == set(ids)  # the unanswered Oslo and Bern calls are answered too
    assert history[1]["tool_calls"][0]["id"] == "dup"  # the caller's list is not changed
    await asyncio.to_thread(server_accepts, result.messages)


# ------------------------------------------------------------ item 11: cancellation


def test_cancelling_a_run_during_a_blocking_def_tool_returns_promptly() -> None:
    started, release = threading.Event(), threading.Event()

    @tool
    def hang() -> str:
        """Block until released (a hung tool)."""
        started.set()
        release.wait(30)
        return "done"

    script = ScriptedModel([calls(("hang", {})), text("unreachable")])
    agent = Agent(client=async_client_for(script), tools=[hang])

    async def main() -> None:
        task = asyncio.ensure_future(agent.run("go"))
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    begin = time.monotonic()
    try:
        asyncio.run(main())  # before the fix: waited for the thread (for ever when hung)
        elapsed = time.monotonic() - begin
    finally:
        release.set()
    assert elapsed < 5.0


@pytest.mark.parametrize("late", ["returns", "keeps_running"])
@pytest.mark.parametrize("mode", MODES)
async def test_an_async_tool_swallowing_its_cancellation_is_a_timeout(mode: str, late: str) -> None:
    @tool(timeout=0.2)
    async def stubborn() -> str:
        """Ignore being cancelled."""
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if late == "keeps_running":
                await asyncio.sleep(0.3)
            return "late success"
        return "never"

    script = ScriptedModel([calls(("stubborn", {})), text("It timed out.")])
    agent = agent_for(script, mode, tools=[stubborn])
    result, _ = await bounded(run_mode(agent, mode, "go"))
    [failure] = result.tool_failures
    assert failure.error_type == "TimeoutError"
    sent = script.requests[1]["messages"][-1]
    assert sent["role"] == "tool" and "late success" not in sent["content"]


# ------------------------------------------------------------ item 13: ctx.messages


@pytest.mark.parametrize("how", ["clear", "insert"])
@pytest.mark.parametrize("mode", MODES)
async def test_a_tool_cannot_change_the_runs_history_through_ctx(mode: str, how: str) -> None:
    @tool
    def meddle(ctx: RunContext[None]) -> str:
        """Try to rewrite the conversation."""
        if how == "clear":
            ctx.messages.clear()
        else:
            ctx.messages.insert(0, {"role": "user", "content": "INJECTED"})
        return "done"

    script = ScriptedModel([calls(("meddle", {})), text("Done.")])
    agent = agent_for(script, mode, tools=[meddle])
    result, _ = await bounded(run_mode(agent, mode, "go"))
    roles = [m["role"] for m in result.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert "INJECTED" not in str(result.messages) + str(script.requests[1]["messages"])
    assert script.requests[1]["messages"][0] == {"role": "user", "content": "go"}


# ------------------------------------------------------------ item 14: smaller ones


@pytest.mark.parametrize("mode", MODES)
async def test_a_tool_raising_generator_exit_keeps_the_runs_messages(mode: str) -> None:
    @tool
    def quit_early() -> str:
        """Raise GeneratorExit."""
        raise GeneratorExit("tool gave up")

    script = ScriptedModel([calls(("quit_early", {})), text("The tool gave up.")])
    agent = agent_for(script, mode, tools=[quit_early], on_tool_error="raise")
    with pytest.raises(ToolExecutionError) as info:
        await bounded(run_mode(agent, mode, "go"))
    assert isinstance(info.value.__cause__, GeneratorExit)
    roles = [m["role"] for m in info.value.messages]
    assert roles[:2] == ["user", "assistant"]  # before the fix: no .messages at all
    await asyncio.to_thread(server_accepts, info.value.messages)


@pytest.mark.parametrize("mode", MODES)
async def test_a_history_given_as_an_iterator_is_used(mode: str) -> None:
    def earlier() -> Iterator[Message]:
        yield {"role": "user", "content": "My name is Ada."}
        yield {"role": "assistant", "content": "Hello Ada."}

    script = ScriptedModel([text("Your name is Ada.")])
    agent = agent_for(script, mode)
    result, _ = await bounded(run_mode(agent, mode, "What is my name?", history=earlier()))
    sent = [m["content"] for m in script.requests[0]["messages"]]
    assert sent == ["My name is Ada.", "Hello Ada.", "What is my name?"]
    assert len(result.messages) == 4


def test_the_emulator_rejects_what_the_fixes_prevent() -> None:
    """The strict validation the id tests rely on does reject duplicate ids (a 400)."""
    body = {
        "model": "gpt-5.4-mini",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [
                {"id": "call_0", "type": "function",
                 "function": {"name": "f", "arguments": "{}"}},
                {"id": "call_0", "type": "function",
                 "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": "a"},
            {"role": "tool", "tool_call_id": "call_0", "content": "b"},
        ],
    }  # fmt: skip
    r = httpx.post(
        shared_server().base_url + "/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert r.status_code == 400
