"""The spans of streamed runs its consumer leaves early (a Stop button), and the usage totals
of runs that end without a result or resume a paused one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

import agentkit
from agentkit import Agent, Client, tool
from agentkit.testing import ScriptedModel, tool_call
from tests._otel_support import Telemetry, agent_for, make_telemetry

CLOSED = "agentkit.stream.closed_early"


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    yield from make_telemetry()


@tool
def lookup(city: str) -> str:
    """Look a city up.

    Args:
        city: The city.
    """
    return f"{city}: sunny"


def _leave(agent: Agent[Any], mode: str, at: str, nth: int = 1) -> agentkit.RunCapture:
    """Stream a run and break out at the ``nth`` event of type ``at``."""
    with agentkit.capture_run() as run:
        if mode == "stream_sync":
            with agent.stream_sync("hi") as events:
                seen = 0
                for event in events:
                    seen += event.type == at
                    if seen == nth:
                        break
        else:

            async def main() -> None:
                async with agent.stream("hi") as events:
                    seen = 0
                    async for event in events:
                        seen += event.type == at
                        if seen == nth:
                            break

            asyncio.run(main())
    return run


def _attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


@pytest.mark.parametrize("mode", ["stream", "stream_sync"])
@pytest.mark.parametrize("at", ["tool_call_started", "tool_call_result", "mid_answer"])
def test_a_stream_left_early_is_not_an_error_and_reports_what_it_used(
    otel: Telemetry, mode: str, at: str
) -> None:
    script = ScriptedModel([tool_call("lookup", {"city": "a"}), "the weather is sunny today"])
    agent = agent_for(script, mode, tools=[lookup], instrument=otel.instrumentation())
    run = _leave(agent, mode, "text_delta" if at == "mid_answer" else at)
    assert run.error is None and run.result is None and run.usage.requests == 1
    spans = otel.spans()
    assert len(spans) == (4 if at == "mid_answer" else 3)  # every span ended
    for span in spans:  # leaving a stream is the user's choice, not a failure
        assert span.status.status_code is StatusCode.UNSET, span.name
        assert "error.type" not in _attrs(span), span.name
    invoke = _attrs(otel.one("invoke_agent"))
    assert invoke[CLOSED] is True
    assert invoke["gen_ai.usage.input_tokens"] == run.usage.prompt_tokens > 0
    assert invoke["gen_ai.usage.output_tokens"] == run.usage.completion_tokens > 0
    assert invoke["agentkit.usage.requests"] == 1
    assert invoke["agentkit.usage.tool_calls"] == 1
    tool_span = _attrs(otel.one("execute_tool lookup"))
    chats = otel.named("chat")
    if at == "tool_call_started":  # the tool never ran: the consumer did not wait for it
        assert tool_span[CLOSED] is True
    else:
        assert CLOSED not in tool_span
    if at == "mid_answer":  # the second answer was not read to its end
        assert [CLOSED in _attrs(c) for c in chats] == [False, True]
        durations = otel.histogram("gen_ai.client.operation.duration")
        assert durations and all("error.type" not in p.attributes for p in durations)
    assert all(CLOSED not in _attrs(c) for c in chats[:1])


@pytest.mark.parametrize("mode", ["stream", "stream_sync"])
def test_a_stream_left_in_its_first_answer_ends_every_span_cleanly(
    otel: Telemetry, mode: str
) -> None:
    agent = agent_for(ScriptedModel(["one two three four"]), mode,
                      instrument=otel.instrumentation())  # fmt: skip
    run = _leave(agent, mode, "text_delta")
    assert run.usage.requests == 0  # the answer's usage never arrived
    chat, invoke = otel.one("chat"), otel.one("invoke_agent")
    assert chat.status.status_code is invoke.status.status_code is StatusCode.UNSET
    assert _attrs(chat)[CLOSED] is _attrs(invoke)[CLOSED] is True
    assert _attrs(invoke)["agentkit.usage.requests"] == 0


def test_a_failed_runs_span_counts_its_sub_agents_tokens(otel: Telemetry) -> None:
    sub = Agent(name="sub", instrument=otel.instrumentation(),
                client=Client(api_key="k", transport=ScriptedModel(["word " * 40])))  # fmt: skip
    script = ScriptedModel(
        [tool_call("ask", {"task": "x"}), {"status": 400, "body": {"error": {"message": "no"}}}]
    )
    agent = agent_for(script, "run_sync", tools=[sub.as_tool(name="ask")],
                      instrument=otel.instrumentation())  # fmt: skip
    with agentkit.capture_run() as run, pytest.raises(agentkit.APIStatusError):
        agent.run_sync("hi")
    sub_tokens = _attrs(otel.one("invoke_agent sub"))["gen_ai.usage.output_tokens"]
    invoke = next(s for s in otel.named("invoke_agent") if s.name == "invoke_agent")
    attrs = _attrs(invoke)
    assert invoke.status.status_code is StatusCode.ERROR  # a real failure stays one
    # The usage totals include the sub-agent's, as for a run that succeeds.
    assert attrs["gen_ai.usage.output_tokens"] == run.usage.completion_tokens > sub_tokens
    assert attrs["gen_ai.usage.input_tokens"] == run.usage.prompt_tokens
    assert attrs["agentkit.usage.requests"] == run.usage.requests == 2
    assert attrs["agentkit.usage.tool_calls"] == 1


@pytest.mark.parametrize("mode", ["run", "run_sync"])
def test_a_resumed_runs_span_counts_only_what_it_consumed(otel: Telemetry, mode: str) -> None:
    @tool(needs_approval=True)
    def refund(order: str) -> str:
        """Refund an order.

        Args:
            order: The order.
        """
        return "refunded"

    script = ScriptedModel([tool_call("refund", {"order": "A"}), "done, refunded"])
    agent = agent_for(script, mode, tools=[refund], instrument=otel.instrumentation(),
                      prices=agentkit.Prices(input_per_mtok=1e6, output_per_mtok=2e6))  # fmt: skip
    if mode == "run_sync":
        paused = agent.run_sync("refund A")
        decisions = {paused.approvals[0].tool_call_id: {"type": "approve"}}
        result = agent.resume_sync(paused.pause, decisions)
    else:

        async def main() -> tuple[Any, Any]:
            paused = await agent.run("refund A")
            decisions = {paused.approvals[0].tool_call_id: {"type": "approve"}}
            return paused, await agent.resume(paused.pause, decisions)

        paused, result = asyncio.run(main())
    first, second = otel.named("invoke_agent")
    chats = [_attrs(c) for c in otel.named("chat")]
    attrs = [_attrs(first), _attrs(second)]
    # Each run span reports its own requests: summed, they are the conversation's usage
    # (the resumed result's usage goes on from the paused run's, so it was counted twice).
    for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"):
        assert [a[key] for a in attrs] == [c[key] for c in chats]
    assert [a["agentkit.usage.requests"] for a in attrs] == [1, 1]
    assert [a["agentkit.usage.tool_calls"] for a in attrs] == [0, 1]
    assert attrs[1]["gen_ai.usage.input_tokens"] < result.usage.prompt_tokens
    assert [a["agentkit.usage.cost"] for a in attrs] == [
        c["gen_ai.usage.input_tokens"] + 2 * c["gen_ai.usage.output_tokens"] for c in chats
    ]
