"""Streamed runs: the typed events, their order, and streams that misbehave."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
from _agent_support import assert_valid_history, async_client_for, calls, client_for, text

import agentkit
from agentkit.agent import Agent
from agentkit.errors import APIError, APIStatusError
from agentkit.events import (
    RunFinished,
    StreamEvent,
    TextDelta,
    ToolCallArgsDelta,
    ToolCallResult,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.sessions import MemoryStore
from agentkit.testing import ScriptedModel
from agentkit.tool import tool


@tool
def get_weather(city: str) -> str:
    """Weather of a city."""
    return f"{city}: sunny"


@pytest.fixture(params=["async", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def collect(agent: Agent[Any], flavour: str, prompt: str, **kw: Any) -> list[StreamEvent]:
    if flavour == "async":
        return [e async for e in agent.stream(prompt, **kw)]
    return await asyncio.to_thread(lambda: list(agent.stream_sync(prompt, **kw)))


async def test_event_sequence(flavour: str) -> None:
    script = ScriptedModel(
        [
            calls(
                ("get_weather", {"city": "北京"}),
                ("get_weather", {"city": "上海"}),
                content="Let me check.",
            ),
            text("Both sunny."),
        ]
    )
    agent = Agent(tools=[get_weather], client=client_for(script))
    events = await collect(agent, flavour, "weather?")
    kinds = [e.type for e in events]
    # Turn 1: text, argument fragments, turn end, two starts, two results; turn 2; the end.
    assert kinds[0] == "text_delta"
    first_turn_end = kinds.index("turn_finished")
    assert set(kinds[:first_turn_end]) == {"text_delta", "tool_call_args_delta"}
    assert kinds[first_turn_end + 1 : first_turn_end + 5] == [
        "tool_call_started",
        "tool_call_started",
        "tool_call_result",
        "tool_call_result",
    ]
    assert kinds[-2:] == ["turn_finished", "run_finished"]

    text_1 = "".join(e.text for e in events[:first_turn_end] if isinstance(e, TextDelta))
    assert text_1 == "Let me check."
    final_text = "".join(e.text for e in events[first_turn_end:] if isinstance(e, TextDelta))
    assert final_text == "Both sunny."

    deltas = [e for e in events if isinstance(e, ToolCallArgsDelta)]
    by_index: dict[int | None, str] = {}
    for d in deltas:
        by_index[d.index] = by_index.get(d.index, "") + d.delta
    assert json.loads(by_index[0]) == {"city": "北京"} and json.loads(by_index[1]) == {
        "city": "上海"
    }
    assert deltas[0].tool_call_id == "call_get_weather_0" and deltas[0].name == "get_weather"

    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [(s.tool_call_id, json.loads(s.arguments)) for s in started] == [
        ("call_get_weather_0", {"city": "北京"}),
        ("call_get_weather_1", {"city": "上海"}),
    ]
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [(r.content, r.is_error) for r in results] == [
        ("北京: sunny", False),
        ("上海: sunny", False),
    ]

    turns = [e for e in events if isinstance(e, TurnFinished)]
    assert turns[0].finish_reason == "tool_calls" and turns[0].usage.requests == 1
    assert turns[1].usage.total_tokens == 28 + 15
    assert turns[1].response_usage is not None and turns[1].response_usage.total_tokens == 15

    final = events[-1]
    assert isinstance(final, RunFinished)
    assert final.result.output == "Both sunny."
    assert script.requests[0]["stream"] is True
    assert_valid_history(final.result.messages)


async def test_tool_call_deltas_without_index(flavour: str) -> None:
    script = ScriptedModel(
        [calls(("get_weather", {"city": "a"}), ("get_weather", {"city": "b"})), text("ok")],
        stream_tool_call_index=False,
    )
    agent = Agent(tools=[get_weather], client=client_for(script))
    events = await collect(agent, flavour, "x")
    result = events[-1]
    assert isinstance(result, RunFinished)
    assert [m["content"] for m in result.result.messages if m["role"] == "tool"] == [
        "a: sunny",
        "b: sunny",
    ]
    sent_calls = script.requests[1]["messages"][1]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in sent_calls] == [
        {"city": "a"},
        {"city": "b"},
    ]
    assert all(
        isinstance(e, ToolCallArgsDelta) and e.index is None
        for e in events
        if e.type == "tool_call_args_delta"
    )


async def test_rejected_calls_show_as_error_results(flavour: str) -> None:
    script = ScriptedModel([calls(("nope", {})), text("ok")])
    agent = Agent(tools=[get_weather], client=client_for(script))
    events = await collect(agent, flavour, "x")
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert results[0].is_error and "Unknown tool" in results[0].content


async def test_error_object_inside_stream_keeps_messages(flavour: str) -> None:
    body = (
        b'data: {"choices":[{"delta":{"content":"par"}}]}\n\n'
        b'data: {"error":{"message":"Rate limit exceeded.","type":"rate_limit_error",'
        b'"code":"rate_limit_exceeded"}}\n\n'
    )
    broken = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    script = ScriptedModel([calls(("get_weather", {"city": "x"})), broken])
    agent = Agent(tools=[get_weather], client=client_for(script))
    with pytest.raises(APIStatusError) as info:
        await collect(agent, flavour, "x")
    assert len(info.value.messages) == 3
    assert_valid_history(info.value.messages)


async def test_stream_cut_mid_tool_call(flavour: str) -> None:
    # Role chunk, the call's first fragment, one argument piece, then the connection drops.
    script = ScriptedModel([{"fault": "cut=3"}, calls(("get_weather", {"city": "somewhere"}))])
    agent = Agent(tools=[get_weather], client=client_for(script))
    with pytest.raises(APIError) as info:
        await collect(agent, flavour, "x")
    # The half-received call never made it into the history.
    assert info.value.messages == [{"role": "user", "content": "x"}]


async def test_stream_ending_mid_tool_call(flavour: str) -> None:
    # The body stops cleanly in the middle of an argument chunk (no finish, no [DONE]).
    streamed = ScriptedModel([calls(("get_weather", {"city": "somewhere"}))]).reply(
        "POST", "/v1/chat/completions", {}, b'{"stream": true}'
    )
    whole = b"".join(streamed.chunks or [])
    cut = whole[: whole.index(b"some") + 2]
    sse = {"content-type": "text/event-stream"}
    script = ScriptedModel([httpx.Response(200, headers=sse, content=cut)])
    agent = Agent(tools=[get_weather], client=client_for(script))
    with pytest.raises(APIError) as info:
        await collect(agent, flavour, "x")
    assert info.value.messages == [{"role": "user", "content": "x"}]


async def test_breaking_out_closes_the_response() -> None:
    closed: list[bool] = []

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'
            yield b'data: {"choices":[{"delta":{"content":"b"}}]}\n\n'
            await asyncio.sleep(10)

        async def aclose(self) -> None:
            closed.append(True)

    sse = {"content-type": "text/event-stream"}
    script = ScriptedModel([httpx.Response(200, headers=sse, stream=Body())])
    agent = Agent(client=async_client_for(script))
    gen = agent.stream("x")
    async for event in gen:
        assert isinstance(event, TextDelta)
        break
    await gen.aclose()  # type: ignore[attr-defined]
    assert closed == [True]


async def test_leaving_at_run_finished_frees_the_session_at_once() -> None:
    # The natural loop: stop at the last event, no `async with`. The run used to stay
    # open until the idle timeout (300 s), holding the session's lease.
    session = MemoryStore().session("u")
    agent = Agent(client=async_client_for(ScriptedModel(["one", "two"])))
    async for event in agent.stream("q1", session=session):
        if isinstance(event, RunFinished):
            break
    second = await agent.run("q2", session=session)  # was SessionBusyError
    assert second.output == "two"
    assert [m["content"] for m in session.messages()] == ["q1", "one", "q2", "two"]


def test_leaving_a_held_sync_stream_at_run_finished_frees_the_session() -> None:
    session = MemoryStore().session("u")
    agent = Agent(client=client_for(ScriptedModel(["one", "two"])))
    events = agent.stream_sync("q1", session=session)  # kept in a variable
    for event in events:
        if isinstance(event, RunFinished):
            break
    assert agent.run_sync("q2", session=session).output == "two"
    assert list(events) == []  # over: nothing more, no error


async def test_the_final_answer_is_stored_before_its_turn_finished(flavour: str) -> None:
    # A consumer that stops at the answer's turn_finished (its text complete) used to
    # leave the session without the answer: the next run's model never saw it.
    session = MemoryStore().session("u")
    script = ScriptedModel([calls(("get_weather", {"city": "a"})), text("sunny, enjoy")])
    agent = Agent(tools=[get_weather], client=client_for(script))

    def stop_at_the_answer(events: Any) -> None:
        for event in events:
            if isinstance(event, TurnFinished) and event.finish_reason == "stop":
                break

    if flavour == "sync":
        await asyncio.to_thread(lambda: stop_at_the_answer(agent.stream_sync("q", session=session)))
    else:
        agent = Agent(tools=[get_weather], client=async_client_for(script))
        async with agent.stream("q", session=session) as events:
            async for event in events:
                if isinstance(event, TurnFinished) and event.finish_reason == "stop":
                    break
    stored = session.messages()
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[-1]["content"] == "sunny, enjoy"


async def test_aclose_from_another_task_stops_the_run_at_its_next_event() -> None:
    # A Stop button: one task streams the answer out, another closes the stream. This
    # used to raise "aclose(): asynchronous generator is already running" and the run
    # went on to its end.
    session = MemoryStore().session("u")
    slow = ScriptedModel(
        [{"fault": "slow=0.05"}, "one two three four five six seven eight", "again"]
    )
    agent = Agent(client=async_client_for(slow))
    events = agent.stream("q", session=session)
    seen: list[str] = []
    first = asyncio.Event()

    async def reader() -> None:
        async for event in events:
            seen.append(event.type)
            first.set()

    with agentkit.capture_run() as run:
        task = asyncio.create_task(reader())
    await first.wait()
    await asyncio.wait_for(events.aclose(), 5)
    await asyncio.wait_for(task, 5)  # its loop simply ended
    assert "run_finished" not in seen and seen.count("text_delta") < 8
    assert run.error is None and run.result is None  # left early, not failed
    assert run.messages == [{"role": "user", "content": "q"}]
    assert (await agent.run("again", session=session)).output  # the lease is free


def test_close_from_another_thread_stops_a_sync_stream_at_its_next_event() -> None:
    slow = ScriptedModel([{"fault": "slow=0.05"}, "one two three four five six seven eight"])
    agent = Agent(client=client_for(slow))
    events = agent.stream_sync("q")
    seen: list[str] = []
    failures: list[BaseException] = []
    first = threading.Event()

    def reader() -> None:
        try:
            for event in events:
                seen.append(event.type)
                first.set()
        except BaseException as exc:  # "generator already executing" once
            failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    assert first.wait(5)
    events.close()  # from this thread, while the reader waits for the next chunk
    thread.join(5)
    assert not thread.is_alive() and failures == []
    assert "run_finished" not in seen and seen.count("text_delta") < 8
