"""Context propagation and failures of instrumented runs: nesting under a caller's span,
tool spans nesting (also on worker threads), concurrent runs, sub-agents, retries, tool
errors and timeouts, cancellation."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from agentkit import Agent, APIStatusError, RunFinished, tool
from agentkit.testing import ScriptedModel, tool_call
from tests._otel_support import MODES, Telemetry, agent_for, make_telemetry, run_mode


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    yield from make_telemetry()


def _traced_tool(otel: Telemetry, *, timeout: float | None = None, is_async: bool = False) -> Any:
    tracer = otel.tracer_provider.get_tracer("user-code")

    if is_async:

        async def lookup(city: str) -> str:
            """Look a city up.

            Args:
                city: The city.
            """
            with tracer.start_as_current_span("user.lookup"):
                await asyncio.sleep(0)
                return city

        return tool(lookup, timeout=timeout)

    def lookup_sync(city: str) -> str:
        """Look a city up.

        Args:
            city: The city.
        """
        with tracer.start_as_current_span("user.lookup") as span:
            span.set_attribute("thread", threading.current_thread().name)
            return city

    return tool(lookup_sync, name="lookup", timeout=timeout)


def _script(n: int = 1) -> ScriptedModel:
    return ScriptedModel([tool_call("lookup", {"city": f"c{n}"}), f"done {n}"])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("timeout", [None, 5.0])
def test_spans_started_by_tool_code_nest_under_execute_tool(
    otel: Telemetry, mode: str, timeout: float | None
) -> None:
    # With a timeout (and in async runs) a sync tool runs on a worker thread.
    agent = agent_for(
        _script(),
        mode,
        tools=[_traced_tool(otel, timeout=timeout)],
        instrument=otel.instrumentation(),
    )
    run_mode(agent, mode)
    user = otel.one("user.lookup")
    tool_span = otel.one("execute_tool lookup")
    assert user.parent is not None and user.parent.span_id == tool_span.context.span_id
    on_worker = timeout is not None or mode in ("run", "stream")
    assert str(dict(user.attributes or {})["thread"]).startswith("agentkit-tool") is on_worker


@pytest.mark.parametrize("mode", ["run", "run_sync"])
def test_async_tool_spans_nest_under_execute_tool(otel: Telemetry, mode: str) -> None:
    agent = agent_for(
        _script(),
        mode,
        tools=[_traced_tool(otel, is_async=True)],
        instrument=otel.instrumentation(),
    )
    run_mode(agent, mode)
    user, tool_span = otel.one("user.lookup"), otel.one("execute_tool lookup")
    assert user.parent is not None and user.parent.span_id == tool_span.context.span_id


@pytest.mark.parametrize("mode", MODES)
def test_a_run_inside_a_callers_span_nests_under_it(otel: Telemetry, mode: str) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    agent = agent_for(
        _script(), mode, tools=[_traced_tool(otel)], instrument=otel.instrumentation()
    )
    with tracer.start_as_current_span("request") as outer:
        run_mode(agent, mode)
        # The run left nothing attached behind it.
        assert trace.get_current_span() is outer
    run = otel.one("invoke_agent")
    assert run.parent is not None and run.parent.span_id == outer.get_span_context().span_id
    assert {s.context.trace_id for s in otel.spans()} == {outer.get_span_context().trace_id}


def test_stream_consumer_code_does_not_run_inside_the_run_span(otel: Telemetry) -> None:
    agent = agent_for(_script(), "stream_sync", tools=[_traced_tool(otel)],
                      instrument=otel.instrumentation())  # fmt: skip
    seen = []
    with agent.stream_sync("hi") as events:
        for _ in events:
            seen.append(trace.get_current_span().get_span_context().is_valid)
    assert seen and not any(seen)

    async def consume() -> list[bool]:
        a = agent_for(_script(), "stream", tools=[_traced_tool(otel)],
                      instrument=otel.instrumentation())  # fmt: skip
        out = []
        async with a.stream("hi") as events:
            async for _ in events:
                out.append(trace.get_current_span().get_span_context().is_valid)
        return out

    seen = asyncio.run(consume())
    assert seen and not any(seen)


def test_concurrent_runs_do_not_cross(otel: Telemetry) -> None:
    instrumentation = otel.instrumentation()

    async def main() -> None:
        agents = [
            agent_for(
                _script(n),
                "run",
                name=f"a{n}",
                tools=[_traced_tool(otel, is_async=True)],
                instrument=instrumentation,
            )
            for n in range(4)
        ]
        await asyncio.gather(*(a.run("hi") for a in agents))

    asyncio.run(main())
    runs = otel.named("invoke_agent")
    assert len(runs) == 4 and len({r.context.trace_id for r in runs}) == 4
    by_id = {r.context.span_id: r for r in runs}
    for span in otel.spans():
        if span.name.startswith(("chat", "execute_tool")):
            assert span.parent is not None and span.parent.span_id in by_id
    for user in otel.named("user.lookup"):
        tool_span = next(s for s in otel.spans() if s.context.span_id == user.parent.span_id)
        assert tool_span.context.trace_id == user.context.trace_id


def test_concurrent_sync_runs_on_threads_do_not_cross(otel: Telemetry) -> None:
    instrumentation = otel.instrumentation()
    agents = [
        agent_for(
            _script(n),
            "run_sync",
            tools=[_traced_tool(otel, timeout=5)],
            instrument=instrumentation,
        )
        for n in range(4)
    ]
    threads = [threading.Thread(target=a.run_sync, args=("hi",)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = otel.named("invoke_agent")
    assert len({r.context.trace_id for r in runs}) == 4
    for trace_id in {r.context.trace_id for r in runs}:
        assert len([s for s in otel.spans() if s.context.trace_id == trace_id]) == 5


@pytest.mark.parametrize("mode", ["run", "run_sync"])
def test_a_sub_agent_run_nests_under_its_execute_tool_span(otel: Telemetry, mode: str) -> None:
    instrumentation = otel.instrumentation()
    sub = agent_for(ScriptedModel(["sub answer"]), mode, name="researcher",
                    instrument=instrumentation)  # fmt: skip
    main_model = ScriptedModel([tool_call("research", {"task": "look"}), "final"])
    main = agent_for(main_model, mode, name="main", tools=[sub.as_tool(name="research")],
                     instrument=instrumentation)  # fmt: skip
    result = run_mode(main, mode)
    assert result.output == "final"
    sub_run = otel.one("invoke_agent researcher")
    tool_span = otel.one("execute_tool research")
    main_run = otel.one("invoke_agent main")
    assert sub_run.parent is not None and sub_run.parent.span_id == tool_span.context.span_id
    assert tool_span.parent is not None and tool_span.parent.span_id == main_run.context.span_id
    sub_chat = next(s for s in otel.named("chat") if s.parent.span_id == sub_run.context.span_id)
    assert sub_chat.context.trace_id == main_run.context.trace_id
    # Usage totals add up across the sub-agent.
    attrs = dict(main_run.attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    assert attrs["agentkit.usage.requests"] == 3


# ---------------------------------------------------------------------------- failures


@pytest.mark.parametrize("mode", MODES)
def test_retries_stay_inside_one_chat_span(otel: Telemetry, mode: str) -> None:
    busy = {"status": 429, "headers": {"retry-after": "0"}, "body": {"error": {"message": "slow"}}}
    model = ScriptedModel([busy, "ok"])
    agent = agent_for(model, mode, instrument=otel.instrumentation())
    assert run_mode(agent, mode).output == "ok"
    assert len(model.requests) == 2
    chat = otel.one("chat")
    assert chat.status.status_code is not StatusCode.ERROR
    assert dict(chat.attributes or {})["agentkit.request.retries"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_request_marks_the_chat_and_run_spans(otel: Telemetry, mode: str) -> None:
    busy = {"status": 503, "headers": {"retry-after": "0"}, "body": {"error": {"message": "x"}}}
    agent = agent_for(
        ScriptedModel([busy, busy]), mode, retries=1, instrument=otel.instrumentation()
    )
    with pytest.raises(APIStatusError):
        run_mode(agent, mode)
    chat, run = otel.one("chat"), otel.one("invoke_agent")
    for span in (chat, run):
        assert span.status.status_code is StatusCode.ERROR
        assert dict(span.attributes or {})["error.type"] == "agentkit.errors.InternalServerError"
    assert dict(chat.attributes or {})["agentkit.request.retries"] == 1  # it gave up after one
    points = otel.histogram("gen_ai.client.operation.duration")
    assert [dict(p.attributes).get("error.type") for p in points] == [
        "agentkit.errors.InternalServerError"
    ]


@pytest.mark.parametrize("mode", MODES)
def test_tool_errors_and_timeouts_mark_the_tool_span(otel: Telemetry, mode: str) -> None:
    @tool
    def broken(x: int) -> int:
        """Fails.

        Args:
            x: A number.
        """
        raise ValueError("boom")

    @tool(timeout=0.05)
    def slow(x: int) -> int:
        """Hangs.

        Args:
            x: A number.
        """
        time.sleep(1)
        return x

    script = ScriptedModel(
        [
            {"tool_calls": [{"name": "broken", "arguments": {"x": 1}, "id": "c1"},
                            {"name": "slow", "arguments": {"x": 2}, "id": "c2"},
                            {"name": "nope", "arguments": {}, "id": "c3"}]},
            "sorry",
        ]
    )  # fmt: skip
    agent = agent_for(script, mode, tools=[broken, slow], instrument=otel.instrumentation())
    assert run_mode(agent, mode).output == "sorry"
    kinds = {s.name: dict(s.attributes or {}).get("error.type") for s in otel.named("execute_tool")}
    assert kinds == {
        "execute_tool broken": "ValueError",
        "execute_tool slow": "timeout",
        "execute_tool nope": "invalid_call",
    }
    assert all(s.status.status_code is StatusCode.ERROR for s in otel.named("execute_tool"))
    assert otel.one("invoke_agent").status.status_code is not StatusCode.ERROR


def test_cancelling_a_run_ends_every_span(otel: Telemetry) -> None:
    started = asyncio.Event()

    @tool
    async def wait_forever() -> str:
        """Never returns."""
        started.set()
        await asyncio.sleep(60)
        return "late"

    agent = agent_for(ScriptedModel([tool_call("wait_forever")]), "run", tools=[wait_forever],
                      instrument=otel.instrumentation())  # fmt: skip

    async def main() -> None:
        task = asyncio.ensure_future(agent.run("hi"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    run, tool_span = otel.one("invoke_agent"), otel.one("execute_tool")
    assert dict(run.attributes or {})["error.type"] == "asyncio.exceptions.CancelledError"
    assert dict(tool_span.attributes or {})["error.type"] == "cancelled"
    assert len(otel.spans()) == 3  # run, chat, tool: all ended and exported


def test_a_stream_abandoned_early_ends_the_run_span(otel: Telemetry) -> None:
    agent = agent_for(_script(), "stream_sync", tools=[_traced_tool(otel)],
                      instrument=otel.instrumentation())  # fmt: skip
    with agent.stream_sync("hi") as events:
        for event in events:
            if event.type == "tool_call_started":
                break
    run = otel.one("invoke_agent")
    # Left early by its consumer: not an error (tests/test_instrumentation_streams.py).
    assert dict(run.attributes or {})["agentkit.stream.closed_early"] is True
    assert run.status.status_code is StatusCode.UNSET
    assert otel.one("execute_tool lookup")  # ended as well


def test_a_stream_read_to_run_finished_is_a_success(otel: Telemetry) -> None:
    agent = agent_for(_script(), "stream_sync", tools=[_traced_tool(otel)],
                      instrument=otel.instrumentation())  # fmt: skip
    with agent.stream_sync("hi") as events:
        for event in events:
            if isinstance(event, RunFinished):
                break  # stop at the last event: the run succeeded
    run = otel.one("invoke_agent")
    assert run.status.status_code is not StatusCode.ERROR
    assert "error.type" not in dict(run.attributes or {})


def test_agents_are_shared_safely(otel: Telemetry) -> None:
    # One agent, many concurrent runs: each run gets its own observation.
    model = ScriptedModel(lambda body: "ok")
    agent: Agent[Any] = agent_for(model, "run", instrument=otel.instrumentation())

    async def main() -> None:
        await asyncio.gather(*(agent.run("x") for _ in range(5)))

    asyncio.run(main())
    runs = otel.named("invoke_agent")
    chats = otel.named("chat")
    assert len(runs) == 5 and len(chats) == 5
    assert {c.parent.span_id for c in chats} == {r.context.span_id for r in runs}


def test_a_refused_call_is_not_labelled_an_invalid_call(otel: Telemetry) -> None:
    @tool(needs_approval=True)
    def refund(order: str) -> str:
        """Refund an order.

        Args:
            order: The order.
        """
        return "refunded"

    again = tool_call("refund", {"order": "A"})
    script = ScriptedModel([tool_call("refund", {"order": "A"}), again, "not refunded"])
    agent = agent_for(script, "run_sync", tools=[refund], instrument=otel.instrumentation())
    paused = agent.run_sync("refund A")
    reject = {"type": "reject", "reason": "no"}
    result = agent.resume_sync(paused.pause, {paused.approvals[0].tool_call_id: reject})
    assert result.output == "not refunded"
    # Refused by the person, then asked again and refused for that: neither call was an
    # unknown tool or had bad arguments (which `invalid_call` says).
    spans = otel.named("execute_tool refund")
    assert [dict(s.attributes or {})["error.type"] for s in spans] == ["refused", "refused"]
