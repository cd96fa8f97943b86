"""The fault matrix: whole agent runs through real HTTP against the emulator on loopback.

Every fault ends in one of two documented outcomes: the run succeeds (after retries), or it
fails with the right typed error. Either way the messages handed back (``RunResult.messages``
or ``error.messages``) are a history the server accepts and a next run continues.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest

from agentkit.agent import Agent, capture_run
from agentkit.client import AsyncClient, Client
from agentkit.errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    EmptyResponseError,
    InternalServerError,
    MaxTurnsExceeded,
    RateLimitError,
    ResponseTruncatedError,
    RunTimeoutError,
    ToolExecutionError,
    ToolRetriesExceeded,
)
from agentkit.events import TextDelta
from agentkit.tool import tool
from tests._reliability_support import (
    KEY,
    MODES,
    NOT_STREAMED,
    PROMPT,
    STREAMED,
    Mode,
    Weather,
    active_connections,
    assert_valid_history,
    error_messages,
    fault_headers,
    rig,
    shared_server,
)

USER = [{"role": "user", "content": PROMPT}]


@pytest.fixture(scope="session", autouse=True)
def server() -> Any:
    return shared_server()


def _succeeds(mode: Mode, spec: str, **options: Any) -> tuple[Any, Weather, list[float]]:
    weather = Weather()
    r = rig(mode, spec, tools=[weather.tool()], **options)
    try:
        result = r.run()
    finally:
        r.close()
    assert weather.calls == ["Paris"]
    assert result.messages[0] == USER[0]
    assert [m["role"] for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert "Paris" in result.output
    assert_valid_history(result.messages)
    return result, weather, r.sleeps


def _fails(mode: Mode, spec: str | None, error: type[BaseException], **options: Any) -> Any:
    weather = Weather()
    r = rig(mode, spec, tools=[weather.tool()], **options)
    try:
        with pytest.raises(error) as info:
            r.run()
    finally:
        r.close()
    messages = error_messages(info.value)
    assert messages[0] == USER[0]
    assert_valid_history(messages)
    return info.value, weather, r.sleeps


# ---------------------------------------------------------------- HTTP status faults


@pytest.mark.parametrize("mode", MODES)
def test_429_retry_after_seconds_is_honoured(mode: Mode) -> None:
    result, _, sleeps = _succeeds(mode, "429;retry-after=1;count=1")
    assert sleeps == [1.0]
    assert result.usage.requests == 2


@pytest.mark.parametrize("mode", MODES)
def test_429_retry_after_ms_is_honoured(mode: Mode) -> None:
    _, _, sleeps = _succeeds(mode, "429;retry-after-ms=250;count=1")
    assert sleeps == [0.25]


@pytest.mark.parametrize("mode", MODES)
def test_429_past_the_retry_budget_is_a_rate_limit_error(mode: Mode) -> None:
    exc, weather, sleeps = _fails(mode, "429;retry-after=0", RateLimitError, max_retries=2)
    assert exc.status_code == 429 and exc.error_type == "rate_limit_error"
    assert sleeps == [0.0, 0.0]  # two retries, then the typed error
    assert weather.calls == [] and exc.messages == USER


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", ["429", "503"])
def test_a_retry_after_longer_than_the_run_has_left_ends_the_run_in_time(
    mode: Mode, status: str
) -> None:
    # The run's deadline is its requests' deadline: the retry that would sleep past it is
    # not attempted, and the run ends with RunTimeoutError, at once and saying why.
    start = time.monotonic()
    exc, weather, sleeps = _fails(
        mode, f"{status};retry-after=5", RunTimeoutError, run_timeout=2.0, max_retries=2
    )
    assert time.monotonic() - start < 1.5  # well before the deadline: nothing slept
    assert sleeps == [] and weather.calls == [] and exc.messages == USER
    message = str(exc)
    assert message.startswith("The run was stopped by its time limit of 2.0 s: ")
    assert "the server asked to wait 5 s, more than the" in message
    assert f"last failure: HTTP {status}" in message
    client_error = exc.__cause__
    assert isinstance(client_error, APITimeoutError)
    assert isinstance(client_error.__cause__, APIStatusError)
    assert client_error.__cause__.status_code == int(status)


@pytest.mark.parametrize("status", ["500", "502", "503"])
@pytest.mark.parametrize("mode", MODES)
def test_server_errors_are_retried(mode: Mode, status: str) -> None:
    _, _, sleeps = _succeeds(mode, f"{status};count=2", max_retries=2)
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", ["500", "502", "503"])
@pytest.mark.parametrize("mode", MODES)
def test_server_errors_past_the_budget_are_typed(mode: Mode, status: str) -> None:
    exc, _, sleeps = _fails(mode, status, InternalServerError, max_retries=1)
    assert exc.status_code == int(status) and len(sleeps) == 1


@pytest.mark.parametrize("mode", MODES)
def test_non_json_error_page(mode: Mode) -> None:
    _succeeds(mode, "html;count=1")
    exc, _, _ = _fails(mode, "html", InternalServerError, max_retries=1)
    assert exc.status_code == 502 and "non-JSON body" in str(exc) and "<html>" in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_empty_error_body(mode: Mode) -> None:
    _succeeds(mode, "empty=503;count=1")
    exc, _, _ = _fails(mode, "empty", InternalServerError, max_retries=1)
    assert exc.status_code == 500 and "empty body" in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_200_with_a_non_json_body(mode: Mode) -> None:
    exc, _, _ = _fails(mode, "non-json", APIResponseError)
    assert "not JSON" in str(exc) and "upstream said" in str(exc)


# ---------------------------------------------------------------- connection faults


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("mode", MODES)
def test_connection_refused(mode: Mode) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    exc, _, sleeps = _fails(mode, None, APIConnectionError, base_url=url, max_retries=2)
    assert not isinstance(exc, APITimeoutError)
    assert len(sleeps) == 2 and exc.messages == USER


@pytest.mark.parametrize("mode", MODES)
def test_connection_dropped_before_the_answer(mode: Mode) -> None:
    _, _, sleeps = _succeeds(mode, "drop;count=1")
    assert len(sleeps) == 1
    _fails(mode, "drop", APIConnectionError, max_retries=1)


@pytest.mark.parametrize("mode", MODES)
def test_read_timeout(mode: Mode) -> None:
    # The retried request must be answered within `timeout`: 0.8 s leaves room for a loaded
    # CI machine (0.3 s once timed out there), and the slow answer stays well past it.
    started = time.monotonic()
    _succeeds(mode, "latency=3;count=1", timeout=0.8, max_retries=1)
    exc, _, _ = _fails(mode, "latency=3", APITimeoutError, timeout=0.8, max_retries=0)
    assert isinstance(exc, APIConnectionError)
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------- stream faults


@pytest.mark.parametrize("mode", STREAMED)
@pytest.mark.parametrize(
    ("cut", "args_complete"),
    [(2, False), (3, False), (4, True), (5, True)],
)
def test_stream_cut_during_a_tool_call_runs_no_tool(
    mode: Mode, cut: int, args_complete: bool
) -> None:
    # chunks: role, call start (id + name), 2 argument pieces, finish, usage, [DONE]
    exc, weather, _ = _fails(mode, f"cut={cut}", APIConnectionError)
    assert "stream broke" in str(exc)
    # a half-received turn is never run, even when its arguments were already complete
    assert weather.calls == [] and exc.messages == USER


@pytest.mark.parametrize("mode", STREAMED)
def test_stream_cut_after_the_tool_turn(mode: Mode) -> None:
    # The first response (the tool call) is whole; the answer after the tool is cut.
    weather = Weather()
    r = rig(mode, None, tools=[weather.tool()])
    first = r.run()
    r.close()
    # a second conversation turn whose stream is cut after 2 chunks of text
    r2 = rig(mode, "cut=2", tools=[weather.tool()])
    with pytest.raises(APIConnectionError) as info:
        r2.run("Thanks!", history=first.messages)
    r2.close()
    assert info.value.messages == [*first.messages, {"role": "user", "content": "Thanks!"}]
    assert_valid_history(info.value.messages)


@pytest.mark.parametrize("mode", NOT_STREAMED)
def test_a_cut_json_body_is_retried(mode: Mode) -> None:
    _succeeds(mode, "cut=10;count=1")


@pytest.mark.parametrize("mode", STREAMED)
def test_stream_without_done_is_accepted(mode: Mode) -> None:
    _succeeds(mode, "no-done")


@pytest.mark.parametrize("mode", STREAMED)
def test_error_object_inside_the_stream(mode: Mode) -> None:
    exc, weather, _ = _fails(mode, "stream-error=1", InternalServerError)
    assert isinstance(exc, APIStatusError) and exc.status_code is None
    assert exc.error_type == "server_error" and weather.calls == []


# ---------------------------------------------------------------- model misbehaviour


def _tool_turn(mode: Mode, spec: str) -> tuple[Any, Weather]:
    weather = Weather()
    r = rig(mode, spec, tools=[weather.tool()])
    result = r.run()
    r.close()
    assert_valid_history(result.messages)
    return result, weather


@pytest.mark.parametrize("mode", MODES)
def test_invalid_json_arguments_go_back_to_the_model(mode: Mode) -> None:
    result, weather = _tool_turn(mode, "bad-args;count=1")
    assert weather.calls == []  # never called with garbage
    tool_msg = result.messages[2]
    assert tool_msg["role"] == "tool" and "not valid JSON" in tool_msg["content"]
    assert "Fix the arguments" in tool_msg["content"]


@pytest.mark.parametrize("mode", MODES)
def test_wrong_type_arguments_go_back_to_the_model(mode: Mode) -> None:
    result, weather = _tool_turn(mode, "wrong-args;count=1")
    assert weather.calls == []
    assert "Invalid arguments for tool 'get_weather'" in result.messages[2]["content"]
    assert "city" in result.messages[2]["content"]


@pytest.mark.parametrize("mode", MODES)
def test_unknown_tool_goes_back_to_the_model(mode: Mode) -> None:
    result, weather = _tool_turn(mode, "unknown-tool;count=1")
    assert weather.calls == []
    assert result.messages[2]["content"].startswith("Unknown tool 'no_such_tool'")
    assert "'get_weather'" in result.messages[2]["content"]


@pytest.mark.parametrize("mode", MODES)
def test_the_same_tool_call_repeated_is_stopped(mode: Mode) -> None:
    # Documented: after max_repeated_tool_calls (2) identical turns the next one is not run,
    # the model is asked with tool_choice="none" and RunResult.notes says so.
    result, weather = _tool_turn(mode, "repeat")
    assert weather.calls == ["Paris", "Paris"]
    assert any("repeated the same call" in n for n in result.notes)
    assert "Not run: this call is identical" in result.messages[-2]["content"]
    assert result.messages[-1]["role"] == "assistant" and result.usage.requests == 4


@pytest.mark.parametrize("mode", MODES)
def test_bad_arguments_past_the_retry_budget(mode: Mode) -> None:
    # The model repeats the same broken call; with the repeat check off, the tool's retry
    # budget (max_retries=2) ends the run after the third bad call.
    exc, weather, _ = _fails(
        mode, "bad-args, repeat", ToolRetriesExceeded, max_repeated_tool_calls=None
    )
    assert exc.tool_name == "get_weather" and weather.calls == []
    assert [m["role"] for m in exc.messages] == ["user"] + ["assistant", "tool"] * 3


@pytest.mark.parametrize("mode", MODES)
def test_a_model_that_never_stops_calling_hits_max_turns(mode: Mode) -> None:
    exc, weather, _ = _fails(
        mode, "repeat", MaxTurnsExceeded, max_repeated_tool_calls=None, max_turns=4
    )
    assert weather.calls == ["Paris"] * 4
    assert exc.messages[-1]["role"] == "tool"


@pytest.mark.parametrize("mode", MODES)
def test_finish_reason_length_without_content(mode: Mode) -> None:
    exc, _, _ = _fails(mode, "length", ResponseTruncatedError)
    assert "finish_reason='length'" in str(exc)


@pytest.mark.parametrize("mode", MODES)
def test_empty_choices(mode: Mode) -> None:
    exc, _, _ = _fails(mode, "empty-choices", EmptyResponseError)
    assert exc.messages == USER


# ---------------------------------------------------------------- tool misbehaviour


def _one_tool_run(mode: Mode, the_tool: Any, **options: Any) -> Any:
    r = rig(mode, None, tools=[the_tool], **options)
    try:
        return r.run("Please look up Paris")
    finally:
        r.close()


@tool
def explode(city: str) -> str:
    """Look up a city.

    Args:
        city: The city.
    """
    raise RuntimeError(f"database password=hunter2 leaked for {city}")


@pytest.mark.parametrize("mode", MODES)
def test_a_raising_tool_is_reported_without_its_text(mode: Mode) -> None:
    result = _one_tool_run(mode, explode)
    tool_msg = result.messages[2]
    assert tool_msg["role"] == "tool" and "failed" in tool_msg["content"]
    assert "hunter2" not in str(result.messages)
    assert [(f.tool_name, f.error_type) for f in result.tool_failures] == [
        ("explode", "RuntimeError")
    ]
    assert_valid_history(result.messages)


@pytest.mark.parametrize("mode", MODES)
def test_a_raising_tool_with_on_tool_error_raise(mode: Mode) -> None:
    r = rig(mode, None, tools=[explode], on_tool_error="raise")
    with pytest.raises(ToolExecutionError) as info:
        r.run("Please look up Paris")
    r.close()
    assert isinstance(info.value.__cause__, RuntimeError)
    assert [m["role"] for m in info.value.messages] == ["user", "assistant", "tool"]
    assert_valid_history(info.value.messages)


_release = threading.Event()


@tool(timeout=0.2)
def hang_sync(city: str) -> str:
    """Look up a city, slowly.

    Args:
        city: The city.
    """
    _release.wait(5)
    return city


@tool(timeout=0.2)
async def hang_async(city: str) -> str:
    """Look up a city, slowly.

    Args:
        city: The city.
    """
    await asyncio.sleep(5)
    return city


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("hanging", [hang_sync, hang_async], ids=["sync", "async"])
def test_a_tool_hanging_past_its_timeout(mode: Mode, hanging: Any) -> None:
    # A thread cannot be killed: the hung sync tool is abandoned on a daemon thread of its
    # own, which nothing waits for (not even asyncio.run), and released once the run is over.
    _release.clear()
    started = time.monotonic()
    try:
        result = _one_tool_run(mode, hanging)
    finally:
        _release.set()
    assert time.monotonic() - started < 3
    assert "did not finish in time" in result.messages[2]["content"]
    assert result.tool_failures[0].error_type == "TimeoutError"
    assert_valid_history(result.messages)


@tool
def unserializable(city: str) -> object:
    """Look up a city.

    Args:
        city: The city.
    """
    return {city: object()}


@pytest.mark.parametrize("mode", MODES)
def test_an_unserializable_result_is_a_tool_failure(mode: Mode) -> None:
    result = _one_tool_run(mode, unserializable)
    assert "failed" in result.messages[2]["content"]
    assert result.tool_failures[0].tool_name == "unserializable"
    assert_valid_history(result.messages)


@tool
def huge(city: str) -> str:
    """Look up a city.

    Args:
        city: The city.
    """
    return city + "x" * 200_000


@pytest.mark.parametrize("mode", MODES)
def test_a_very_large_result_is_truncated_with_a_note(mode: Mode) -> None:
    result = _one_tool_run(mode, huge, max_tool_result_chars=1000)
    content = result.messages[2]["content"]
    assert len(content) < 1200
    assert "[truncated: the result had 200005 characters; only the first 1000 are shown]" in (
        content
    )
    assert any("truncated" in n for n in result.notes)
    assert_valid_history(result.messages)


# ---------------------------------------------------------------- cancellation


def _others() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def test_cancel_mid_request_leaves_nothing_behind() -> None:
    server = shared_server()
    client = AsyncClient(KEY, server.base_url, default_headers=fault_headers("latency=5"))
    weather = Weather()
    agent = Agent(tools=[weather.tool()], client=client)
    with capture_run() as run:
        task = asyncio.ensure_future(agent.run(PROMPT))
    await asyncio.sleep(0.3)
    assert active_connections(client), "the request should be in flight"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert _others() == set()
    assert active_connections(client) == []
    messages = run.messages
    assert messages == [{"role": "user", "content": PROMPT}]
    await client.aclose()
    await asyncio.to_thread(assert_valid_history, messages)


async def test_cancel_mid_tool_leaves_nothing_behind() -> None:
    server = shared_server()
    client = AsyncClient(KEY, server.base_url)
    started = asyncio.Event()
    ended: list[str] = []

    @tool
    async def slow_lookup(city: str) -> str:
        """Look up a city.

        Args:
            city: The city.
        """
        started.set()
        try:
            await asyncio.sleep(30)
        finally:
            ended.append(city)
        return city

    agent = Agent(tools=[slow_lookup], client=client)
    with capture_run() as run:
        task = asyncio.ensure_future(agent.run("Please look up Paris"))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert ended == ["Paris"]  # the tool's own task was cancelled, not abandoned
    assert _others() == set()
    assert active_connections(client) == []
    messages = run.messages
    assert messages is not None
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert "interrupted" in messages[2]["content"]
    await client.aclose()
    await asyncio.to_thread(assert_valid_history, messages)


async def test_cancel_mid_stream_closes_the_response() -> None:
    server = shared_server()
    client = AsyncClient(KEY, server.base_url, default_headers=fault_headers("slow=0.2"))
    agent = Agent(client=client)
    first_text = asyncio.Event()

    async def consume() -> None:
        async for event in agent.stream("Tell me a long story about the sea and ships"):
            if isinstance(event, TextDelta):
                first_text.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(first_text.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert _others() == set()
    assert active_connections(client) == []
    await client.aclose()


def test_breaking_out_of_a_sync_stream_closes_the_response() -> None:
    server = shared_server()
    with Client(KEY, server.base_url, default_headers=fault_headers("slow=0.1")) as client:
        agent = Agent(client=client)
        events = agent.stream_sync("Tell me a long story about the sea and ships")
        for event in events:
            if isinstance(event, TextDelta):
                break
        assert active_connections(client)
        events.close()  # type: ignore[attr-defined]
        assert active_connections(client) == []
